# Alarms in every environment (review TF-GLUE-004), each with alarm and OK actions (TF-LAMBDA-006):
# errors and throttles of every function, the intake queue's oldest message, every dead-letter
# queue's depth, failed and timed-out executions, and Glue job runs that failed, timed out or
# errored (TF-GLUE-005: an EventBridge rule on Glue's job state changes, counted by an alarm).

locals {
  prod              = var.environment == "prod"
  actions           = var.create ? concat([aws_sns_topic.alarms[0].arn], var.alarm_action_arns) : []
  lambda_errors     = coalesce(var.lambda_error_threshold, local.prod ? 0 : 5)
  failed_executions = coalesce(var.failed_execution_threshold, local.prod ? 0 : 5)
  functions         = var.create ? var.function_names : {}
  dlqs              = var.create ? var.dead_letter_queue_names : {}
}

resource "aws_sns_topic" "alarms" {
  count = var.create ? 1 : 0

  name              = "${var.name}-alarms"
  kms_master_key_id = var.kms_key_arn
  tags              = var.tags
}

resource "aws_sns_topic_subscription" "alarms" {
  for_each = var.create ? { for s in var.subscriptions : "${s.protocol}:${s.endpoint}" => s } : {}

  topic_arn = aws_sns_topic.alarms[0].arn
  protocol  = each.value.protocol
  endpoint  = each.value.endpoint
}

data "aws_caller_identity" "current" {}

data "aws_iam_policy_document" "alarms_topic" {
  count = var.create ? 1 : 0

  statement {
    sid       = "Alarms"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.alarms[0].arn]
    principals {
      type        = "Service"
      identifiers = ["cloudwatch.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [data.aws_caller_identity.current.account_id]
    }
  }

  statement {
    sid       = "GlueRunStates"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.alarms[0].arn]
    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com"]
    }
    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = [aws_cloudwatch_event_rule.glue_run_failed[0].arn]
    }
  }
}

resource "aws_sns_topic_policy" "alarms" {
  count = var.create ? 1 : 0

  arn    = aws_sns_topic.alarms[0].arn
  policy = data.aws_iam_policy_document.alarms_topic[0].json
}

resource "aws_cloudwatch_metric_alarm" "lambda_errors" {
  for_each = local.functions

  alarm_name          = "${var.name}-${each.key}-errors"
  alarm_description   = "The ${each.key} function failed more than ${local.lambda_errors} times in 5 minutes."
  namespace           = "AWS/Lambda"
  metric_name         = "Errors"
  dimensions          = { FunctionName = each.value }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = local.lambda_errors
  treat_missing_data  = "notBreaching"
  actions_enabled     = true
  alarm_actions       = local.actions
  ok_actions          = local.actions
  tags                = var.tags
}

resource "aws_cloudwatch_metric_alarm" "lambda_throttles" {
  for_each = local.functions

  alarm_name          = "${var.name}-${each.key}-throttles"
  alarm_description   = "The ${each.key} function was throttled (reserved concurrency reached) for 15 minutes."
  namespace           = "AWS/Lambda"
  metric_name         = "Throttles"
  dimensions          = { FunctionName = each.value }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 3
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  treat_missing_data  = "notBreaching"
  actions_enabled     = true
  alarm_actions       = local.actions
  ok_actions          = local.actions
  tags                = var.tags
}

resource "aws_cloudwatch_metric_alarm" "intake_age" {
  count = var.create ? 1 : 0

  alarm_name          = "${var.name}-intake-oldest-message"
  alarm_description   = "An S3 notification waited more than ${var.intake_age_threshold_seconds} s in the intake queue."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateAgeOfOldestMessage"
  dimensions          = { QueueName = var.intake_queue_name }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.intake_age_threshold_seconds
  treat_missing_data  = "notBreaching"
  actions_enabled     = true
  alarm_actions       = local.actions
  ok_actions          = local.actions
  tags                = var.tags
}

resource "aws_cloudwatch_metric_alarm" "dlq_depth" {
  for_each = local.dlqs

  alarm_name          = "${var.name}-${each.key}-depth"
  alarm_description   = "Messages wait in the dead-letter queue ${each.value}: look at them and redrive."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  dimensions          = { QueueName = each.value }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  treat_missing_data  = "notBreaching"
  actions_enabled     = true
  alarm_actions       = local.actions
  ok_actions          = local.actions
  tags                = var.tags
}

resource "aws_cloudwatch_metric_alarm" "executions" {
  for_each = var.create ? {
    failed    = { metric = "ExecutionsFailed", threshold = local.failed_executions }
    timed-out = { metric = "ExecutionsTimedOut", threshold = 0 }
    aborted   = { metric = "ExecutionsAborted", threshold = 0 }
  } : {}

  alarm_name          = "${var.name}-executions-${each.key}"
  alarm_description   = "Manifest workflow executions ${each.key} above ${each.value.threshold} in 5 minutes."
  namespace           = "AWS/States"
  metric_name         = each.value.metric
  dimensions          = { StateMachineArn = var.state_machine_arn }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = each.value.threshold
  treat_missing_data  = "notBreaching"
  actions_enabled     = true
  alarm_actions       = local.actions
  ok_actions          = local.actions
  tags                = var.tags
}

resource "aws_cloudwatch_event_rule" "glue_run_failed" {
  count = var.create ? 1 : 0

  name        = "${var.name}-glue-run-failed"
  description = "Runs of the Glue job ${var.glue_job_name} that failed, timed out or errored."
  event_pattern = jsonencode({
    source        = ["aws.glue"]
    "detail-type" = ["Glue Job State Change"]
    detail = {
      jobName = [var.glue_job_name]
      state   = ["FAILED", "TIMEOUT", "ERROR"]
    }
  })
  tags = var.tags
}

resource "aws_cloudwatch_event_target" "glue_run_failed" {
  count = var.create ? 1 : 0

  rule      = aws_cloudwatch_event_rule.glue_run_failed[0].name
  target_id = "alarm-topic"
  arn       = aws_sns_topic.alarms[0].arn
}

resource "aws_cloudwatch_metric_alarm" "glue_run_failed" {
  count = var.create ? 1 : 0

  alarm_name          = "${var.name}-glue-run-failed"
  alarm_description   = "A run of the Glue job ${var.glue_job_name} failed, timed out or errored (Glue Job State Change events matched)."
  namespace           = "AWS/Events"
  metric_name         = "TriggeredRules"
  dimensions          = { RuleName = aws_cloudwatch_event_rule.glue_run_failed[0].name }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  treat_missing_data  = "notBreaching"
  actions_enabled     = true
  alarm_actions       = local.actions
  ok_actions          = local.actions
  tags                = var.tags
}
