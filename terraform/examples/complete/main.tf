# The whole deployment, every module once. Names are fixed here first, so the roles can name the
# functions, state machine and job they grant before those exist (no dependency cycle).

provider "aws" {
  region = var.region

  default_tags {
    tags = {
      Project     = "ndjson2parquet"
      Environment = var.environment
    }
  }
}

data "aws_partition" "current" {}
data "aws_region" "current" {}
data "aws_caller_identity" "current" {}

locals {
  prefix = "${var.name}-${var.environment}"
  function_names = {
    for k in ["intake", "start", "convert", "commit", "compensate", "put_back", "recover", "seal"] :
    k => "${local.prefix}-${replace(k, "_", "-")}"
  }
  state_machine_name = "${local.prefix}-workflow"
  state_machine_arn  = "arn:${data.aws_partition.current.partition}:states:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:stateMachine:${local.state_machine_name}"
  glue_job_name      = "${local.prefix}-convert"
  glue_database_name = replace("${local.prefix}_lake", "-", "_")
  tags               = { Environment = var.environment }
}

# --- the key of everything at rest ----------------------------------------------------------------

data "aws_iam_policy_document" "key" {
  #checkov:skip=CKV_AWS_109:a key policy's Resource "*" is the key itself; the account root statement is AWS's default key policy, which hands control to IAM
  #checkov:skip=CKV_AWS_111:a key policy's Resource "*" is the key itself (AWS's default key policy)
  #checkov:skip=CKV_AWS_356:a key policy's Resource "*" is the key itself (AWS's default key policy)
  statement {
    sid       = "AccountRoot"
    actions   = ["kms:*"]
    resources = ["*"]
    principals {
      type        = "AWS"
      identifiers = ["arn:${data.aws_partition.current.partition}:iam::${data.aws_caller_identity.current.account_id}:root"]
    }
  }

  statement {
    sid       = "CloudWatchLogs"
    actions   = ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"]
    resources = ["*"]
    principals {
      type        = "Service"
      identifiers = ["logs.${data.aws_region.current.name}.amazonaws.com"]
    }
    condition {
      test     = "ArnLike"
      variable = "kms:EncryptionContext:aws:logs:arn"
      values   = ["arn:${data.aws_partition.current.partition}:logs:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:log-group:*"]
    }
  }

  statement {
    sid       = "ServicesPublishingToEncryptedQueuesAndTopics"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = ["*"]
    principals {
      type        = "Service"
      identifiers = ["s3.amazonaws.com", "events.amazonaws.com", "cloudwatch.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [data.aws_caller_identity.current.account_id]
    }
  }
}

resource "aws_kms_key" "this" {
  description             = "${local.prefix}: buckets, table, queues, topics, logs, Lambda environments, Glue, Athena results"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  policy                  = data.aws_iam_policy_document.key.json
  tags                    = local.tags
}

resource "aws_kms_alias" "this" {
  name          = "alias/${local.prefix}"
  target_key_id = aws_kms_key.this.key_id
}

# --- data -----------------------------------------------------------------------------------------

module "storage" {
  source = "../../modules/storage"

  name                    = local.prefix
  kms_key_arn             = aws_kms_key.this.arn
  notification_queue_arn  = module.queues.intake_queue_arn_for_notifications
  landing_expiration_days = var.landing_expiration_days
  tags                    = local.tags
}

module "queues" {
  source = "../../modules/queues"

  name                    = local.prefix
  kms_key_arn             = aws_kms_key.this.arn
  landing_bucket_arn      = module.storage.landing_bucket_arn
  intake_function_timeout = module.functions.intake_timeout
  tags                    = local.tags
}

module "state_table" {
  source = "../../modules/state_table"

  name         = "${local.prefix}-state"
  kms_key_arn  = aws_kms_key.this.arn
  billing_mode = var.dynamodb_billing_mode
  tags         = local.tags
}

# --- network: the private subnets reach AWS through endpoints, not a NAT gateway --------------------

module "endpoints" {
  source = "../../modules/endpoints"

  create                    = var.create_vpc_endpoints
  name                      = local.prefix
  vpc_id                    = var.vpc_id
  subnet_ids                = var.subnet_ids
  route_table_ids           = var.route_table_ids
  client_security_group_ids = var.security_group_ids
  tags                      = local.tags
}

# --- compute --------------------------------------------------------------------------------------

module "iam" {
  source = "../../modules/iam"

  name                         = local.prefix
  function_names               = local.function_names
  state_machine_name           = local.state_machine_name
  glue_job_name                = local.glue_job_name
  glue_database_name           = local.glue_database_name
  glue_connection_name         = "${local.prefix}-vpc"
  table_arn                    = module.state_table.table_arn
  landing_bucket_arn           = module.storage.landing_bucket_arn
  landing_prefix               = module.storage.landing_prefix
  lake_bucket_arn              = module.storage.lake_bucket_arn
  artifacts_bucket_arn         = module.storage.artifacts_bucket_arn
  kms_key_arn                  = aws_kms_key.this.arn
  intake_queue_arn             = module.queues.intake_queue_arn
  failed_invocations_queue_arn = module.queues.failed_invocations_queue_arn
  failure_topic_arn            = module.workflow.failure_topic_arn
  permissions_boundary_arn     = var.permissions_boundary_arn
  tags                         = local.tags
}

module "functions" {
  source = "../../modules/functions"

  function_names                  = local.function_names
  role_arns                       = module.iam.function_role_arns
  package_path                    = var.package_path
  package_bucket                  = module.storage.artifacts_bucket_id
  kms_key_arn                     = aws_kms_key.this.arn
  subnet_ids                      = var.subnet_ids
  security_group_ids              = var.security_group_ids
  dead_letter_target_arn          = module.queues.failed_invocations_queue_arn
  intake_queue_arn                = module.queues.intake_queue_arn
  intake_queue_visibility_timeout = module.queues.intake_queue_visibility_timeout
  environment                     = var.environment
  state_uri                       = module.state_table.state_uri
  landing_uri                     = module.storage.landing_uri
  lake_uri                        = module.storage.lake_uri
  state_machine_arn               = local.state_machine_arn
  glue_database_name              = module.glue.database_name
  tags                            = local.tags
}

module "workflow" {
  source = "../../modules/workflow"

  name                  = local.state_machine_name
  step_function_arns    = module.functions.function_arns
  glue_job_name         = module.glue.job_name
  role_arn              = module.iam.state_machine_role_arn
  kms_key_arn           = aws_kms_key.this.arn
  failure_subscriptions = var.alarm_subscriptions
  tags                  = local.tags
}

resource "aws_s3_object" "glue_launcher" {
  bucket                 = module.storage.artifacts_bucket_id
  key                    = "glue/convert_job.py"
  content                = "from ndjson2parquet.aws.glue.convert_job import main\n\nmain()\n"
  server_side_encryption = "aws:kms"
  kms_key_id             = aws_kms_key.this.arn
}

resource "aws_s3_object" "glue_wheel" {
  bucket                 = module.storage.artifacts_bucket_id
  key                    = "glue/${basename(var.wheel_path)}"
  source                 = var.wheel_path
  source_hash            = filemd5(var.wheel_path)
  server_side_encryption = "aws:kms"
  kms_key_id             = aws_kms_key.this.arn
}

module "glue" {
  source = "../../modules/glue"

  name                      = local.prefix
  job_name                  = local.glue_job_name
  database_name             = local.glue_database_name
  role_arn                  = module.iam.glue_job_role_arn
  kms_key_arn               = aws_kms_key.this.arn
  script_location           = "s3://${module.storage.artifacts_bucket_id}/${aws_s3_object.glue_launcher.key}"
  additional_python_modules = "s3://${module.storage.artifacts_bucket_id}/${aws_s3_object.glue_wheel.key}"
  temp_dir                  = "s3://${module.storage.artifacts_bucket_id}/tmp/glue/"
  state_uri                 = module.state_table.state_uri
  lake_uri                  = module.storage.lake_uri
  lake_location             = module.storage.lake_uri
  use_flex                  = var.use_glue_flex
  subnet_id                 = var.subnet_ids[0]
  security_group_ids        = var.security_group_ids
  tags                      = local.tags
}

module "schedules" {
  source = "../../modules/schedules"

  name                     = local.prefix
  recover_function_arn     = module.functions.function_arns["recover"]
  seal_function_arn        = module.functions.function_arns["seal"]
  role_arn                 = module.iam.scheduler_role_arn
  kms_key_arn              = aws_kms_key.this.arn
  dead_letter_arn          = module.queues.failed_invocations_queue_arn
  landing_listing_schedule = var.landing_listing_schedule
  tags                     = local.tags
}

# --- reading and watching -------------------------------------------------------------------------

module "athena" {
  source = "../../modules/athena"

  name             = local.prefix
  results_location = "s3://${module.storage.artifacts_bucket_id}/athena/"
  kms_key_arn      = aws_kms_key.this.arn
  tags             = local.tags
}

module "alarms" {
  source = "../../modules/alarms"

  name              = local.prefix
  environment       = var.environment
  kms_key_arn       = aws_kms_key.this.arn
  subscriptions     = var.alarm_subscriptions
  function_names    = module.functions.function_names
  intake_queue_name = module.queues.intake_queue_name
  dead_letter_queue_names = {
    intake-dlq         = module.queues.intake_dlq_name
    failed-invocations = module.queues.failed_invocations_queue_name
  }
  state_machine_arn = module.workflow.state_machine_arn
  glue_job_name     = module.glue.job_name
  tags              = local.tags
}
