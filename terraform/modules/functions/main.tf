# Every Lambda of the deployment from one package: the intake (SQS event source with
# ReportBatchItemFailures), the five steps the state machine invokes, and the scheduled recover and
# seal. VPC, dead-letter queue, active X-Ray tracing, KMS-encrypted environment, reserved
# concurrency and a KMS-encrypted log group each (review TF-LAMBDA-001..005).
#
# local.handlers and local.environment are the package's contract (ndjson2parquet.aws.deployment):
# tests/unit/infrastructure compares them with the code, so keep them literal.

locals {
  handlers = {
    intake     = "ndjson2parquet.aws.handlers.intake.handler"
    start      = "ndjson2parquet.aws.handlers.steps.start_handler"
    convert    = "ndjson2parquet.aws.handlers.steps.convert_handler"
    commit     = "ndjson2parquet.aws.handlers.steps.commit_handler"
    compensate = "ndjson2parquet.aws.handlers.steps.compensate_handler"
    put_back   = "ndjson2parquet.aws.handlers.steps.put_back_handler"
    recover    = "ndjson2parquet.aws.handlers.recover.handler"
    seal       = "ndjson2parquet.aws.handlers.seal.handler"
  }

  log_level      = coalesce(var.log_level, var.environment == "prod" ? "INFO" : "DEBUG")
  quarantine_uri = coalesce(var.quarantine_uri, "${trimsuffix(var.lake_uri, "/")}/_quarantine")

  # what the step handlers read (aws/config.load_settings and the observability names)
  step_environment = {
    LOG_LEVEL                        = local.log_level
    POWERTOOLS_SERVICE_NAME          = var.service_name
    POWERTOOLS_METRICS_NAMESPACE     = var.metrics_namespace
    NDJSON2PARQUET_STATE             = var.state_uri
    NDJSON2PARQUET_LAKE              = var.lake_uri
    NDJSON2PARQUET_QUARANTINE        = local.quarantine_uri
    NDJSON2PARQUET_STATE_MACHINE_ARN = var.state_machine_arn
    NDJSON2PARQUET_GLUE_DATABASE     = var.glue_database_name
    NDJSON2PARQUET_OWNER_TTL_SECONDS = tostring(var.owner_ttl_seconds)
  }

  # what the scheduled handlers read (aws/config.load_scheduled_settings): the steps' and the intake's
  scheduled_environment = {
    LOG_LEVEL                               = local.log_level
    POWERTOOLS_SERVICE_NAME                 = var.service_name
    POWERTOOLS_METRICS_NAMESPACE            = var.metrics_namespace
    NDJSON2PARQUET_STATE                    = var.state_uri
    NDJSON2PARQUET_LAKE                     = var.lake_uri
    NDJSON2PARQUET_QUARANTINE               = local.quarantine_uri
    NDJSON2PARQUET_STATE_MACHINE_ARN        = var.state_machine_arn
    NDJSON2PARQUET_GLUE_DATABASE            = var.glue_database_name
    NDJSON2PARQUET_OWNER_TTL_SECONDS        = tostring(var.owner_ttl_seconds)
    NDJSON2PARQUET_LANDING                  = var.landing_uri
    NDJSON2PARQUET_DATASET                  = var.dataset
    NDJSON2PARQUET_DATASET_PATTERN          = var.dataset_pattern
    NDJSON2PARQUET_MAX_FILES                = tostring(var.max_files)
    NDJSON2PARQUET_TARGET_BYTES             = tostring(var.target_bytes)
    NDJSON2PARQUET_MAX_WAIT_SECONDS         = tostring(var.max_wait_seconds)
    NDJSON2PARQUET_GRACE_SECONDS            = tostring(var.grace_seconds)
    NDJSON2PARQUET_START_DEADLINE_SECONDS   = tostring(var.start_deadline_seconds)
    NDJSON2PARQUET_LISTING_LOOKBACK_SECONDS = tostring(var.listing_lookback_seconds)
  }

  # what the intake handler reads (aws/handlers/intake.settings_from_env and its log level)
  intake_environment = {
    LOG_LEVEL                        = local.log_level
    NDJSON2PARQUET_STATE             = var.state_uri
    NDJSON2PARQUET_LANDING           = var.landing_uri
    NDJSON2PARQUET_STATE_MACHINE_ARN = var.state_machine_arn
    NDJSON2PARQUET_DATASET           = var.dataset
    NDJSON2PARQUET_DATASET_PATTERN   = var.dataset_pattern
    NDJSON2PARQUET_MAX_FILES         = tostring(var.max_files)
    NDJSON2PARQUET_TARGET_BYTES      = tostring(var.target_bytes)
    NDJSON2PARQUET_GRACE_SECONDS     = tostring(var.grace_seconds)
  }

  environment = {
    intake     = local.intake_environment
    start      = local.step_environment
    convert    = local.step_environment
    commit     = local.step_environment
    compensate = local.step_environment
    put_back   = local.step_environment
    recover    = local.scheduled_environment
    seal       = local.scheduled_environment
  }

  functions = var.create ? local.handlers : {}
}

resource "aws_s3_object" "package" {
  count = var.create ? 1 : 0

  bucket                 = var.package_bucket
  key                    = "lambda/ndjson2parquet-${filemd5(var.package_path)}.zip"
  source                 = var.package_path
  source_hash            = filemd5(var.package_path)
  server_side_encryption = "aws:kms"
  kms_key_id             = var.kms_key_arn
  tags                   = var.tags
}

resource "aws_cloudwatch_log_group" "this" {
  #checkov:skip=CKV_AWS_338:retention is a cost decision (30 days by default, the cost model's figure); log_retention_days raises it
  for_each = local.functions

  name              = "/aws/lambda/${var.function_names[each.key]}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
  tags              = var.tags
}

resource "aws_lambda_function" "this" {
  #checkov:skip=CKV_AWS_272:code signing needs a signing profile and signed artifacts the project does not build yet; the package's integrity is the artifacts bucket's (versioned, KMS, TLS only)
  for_each = local.functions

  function_name    = var.function_names[each.key]
  role             = var.role_arns[each.key]
  handler          = each.value
  runtime          = var.runtime
  architectures    = [var.architecture]
  s3_bucket        = aws_s3_object.package[0].bucket
  s3_key           = aws_s3_object.package[0].key
  source_code_hash = filebase64sha256(var.package_path)
  memory_size      = var.functions[each.key].memory_size
  timeout          = var.functions[each.key].timeout
  kms_key_arn      = var.kms_key_arn

  ephemeral_storage {
    size = var.functions[each.key].ephemeral_storage
  }

  reserved_concurrent_executions = var.functions[each.key].reserved_concurrency

  environment {
    variables = local.environment[each.key]
  }

  vpc_config {
    subnet_ids         = var.subnet_ids
    security_group_ids = var.security_group_ids
  }

  dead_letter_config {
    target_arn = var.dead_letter_target_arn
  }

  tracing_config {
    mode = "Active"
  }

  tags = var.tags

  depends_on = [aws_cloudwatch_log_group.this]
}

resource "aws_lambda_event_source_mapping" "intake" {
  count = var.create ? 1 : 0

  event_source_arn                   = var.intake_queue_arn
  function_name                      = aws_lambda_function.this["intake"].arn
  batch_size                         = var.batch_size
  maximum_batching_window_in_seconds = var.maximum_batching_window_in_seconds
  function_response_types            = ["ReportBatchItemFailures"]

  dynamic "scaling_config" {
    for_each = var.intake_maximum_concurrency == null ? [] : [var.intake_maximum_concurrency]
    content {
      maximum_concurrency = scaling_config.value
    }
  }

  lifecycle {
    precondition {
      condition     = var.intake_queue_visibility_timeout >= 6 * var.functions["intake"].timeout
      error_message = "The intake queue's visibility timeout must be at least 6 times the intake function's timeout."
    }
    precondition {
      condition = (
        var.intake_maximum_concurrency == null || var.functions["intake"].reserved_concurrency < 0 ||
        coalesce(var.intake_maximum_concurrency, 0) <= var.functions["intake"].reserved_concurrency
      )
      error_message = "intake_maximum_concurrency must not exceed the intake's reserved concurrency: the excess would be throttled."
    }
  }
}
