# The manifest workflow: the repository's ASL file through templatefile (its placeholders are
# aws/state_machine.PLACEHOLDERS; tests/unit/infrastructure checks the two agree), the SNS topic its
# NotifyFailure state publishes to (review Q15), an EventBridge rule sending executions that timed
# out or were aborted (they never reach NotifyFailure) to the same topic (review Q8), and its log group.

data "aws_partition" "current" {}
data "aws_region" "current" {}
data "aws_caller_identity" "current" {}

locals {
  definition_path = coalesce(var.definition_path, "${path.module}/../../../src/ndjson2parquet/aws/state_machine.asl.json")

  # the ASL's placeholders (aws/state_machine.PLACEHOLDERS)
  template_values = {
    start_function_arn      = var.step_function_arns["start"]
    convert_function_arn    = var.step_function_arns["convert"]
    commit_function_arn     = var.step_function_arns["commit"]
    compensate_function_arn = var.step_function_arns["compensate"]
    put_back_function_arn   = var.step_function_arns["put_back"]
    glue_job_name           = var.glue_job_name
    failure_topic_arn       = try(aws_sns_topic.failures[0].arn, "")
  }
}

resource "aws_sns_topic" "failures" {
  count = var.create ? 1 : 0

  name              = "${var.name}-failures"
  kms_master_key_id = var.kms_key_arn
  tags              = var.tags
}

resource "aws_sns_topic_subscription" "failures" {
  for_each = var.create ? { for s in var.failure_subscriptions : "${s.protocol}:${s.endpoint}" => s } : {}

  topic_arn = aws_sns_topic.failures[0].arn
  protocol  = each.value.protocol
  endpoint  = each.value.endpoint
}

data "aws_iam_policy_document" "failures_topic" {
  count = var.create ? 1 : 0

  statement {
    sid       = "EndedExecutions"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.failures[0].arn]

    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com"]
    }

    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = [aws_cloudwatch_event_rule.ended[0].arn]
    }
  }
}

resource "aws_sns_topic_policy" "failures" {
  count = var.create ? 1 : 0

  arn    = aws_sns_topic.failures[0].arn
  policy = data.aws_iam_policy_document.failures_topic[0].json
}

resource "aws_cloudwatch_log_group" "this" {
  #checkov:skip=CKV_AWS_338:retention is a cost decision (30 days by default, the cost model's figure); log_retention_days raises it
  count = var.create ? 1 : 0

  name              = "/aws/vendedlogs/states/${var.name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
  tags              = var.tags
}

resource "aws_sfn_state_machine" "this" {
  count = var.create ? 1 : 0

  name       = var.name
  role_arn   = var.role_arn
  type       = "STANDARD"
  definition = templatefile(local.definition_path, local.template_values)

  logging_configuration {
    log_destination        = "${aws_cloudwatch_log_group.this[0].arn}:*"
    include_execution_data = true
    level                  = var.log_level
  }

  tracing_configuration {
    enabled = true
  }

  encryption_configuration {
    type                              = "CUSTOMER_MANAGED_KMS_KEY"
    kms_key_id                        = var.kms_key_arn
    kms_data_key_reuse_period_seconds = 300
  }

  tags = var.tags
}

# A FAILED execution has published through NotifyFailure already; these two never reach it.
resource "aws_cloudwatch_event_rule" "ended" {
  count = var.create ? 1 : 0

  name        = "${var.name}-ended-abnormally"
  description = "Executions of ${var.name} that timed out or were aborted."
  event_pattern = jsonencode({
    source        = ["aws.states"]
    "detail-type" = ["Step Functions Execution Status Change"]
    detail = {
      status          = ["TIMED_OUT", "ABORTED"]
      stateMachineArn = ["arn:${data.aws_partition.current.partition}:states:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:stateMachine:${var.name}"]
    }
  })
  tags = var.tags
}

resource "aws_cloudwatch_event_target" "ended" {
  count = var.create ? 1 : 0

  rule      = aws_cloudwatch_event_rule.ended[0].name
  target_id = "failure-topic"
  arn       = aws_sns_topic.failures[0].arn
}
