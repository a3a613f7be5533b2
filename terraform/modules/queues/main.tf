# The intake queue (S3 notifications of the landing bucket), its dead-letter queue (redrive after
# max_receive_count receives), and the queue of failed asynchronous invocations (the Lambdas'
# dead_letter_config and the schedules' dead-letter target).

resource "aws_sqs_queue" "intake_dlq" {
  count = var.create ? 1 : 0

  name                      = "${var.name}-intake-dlq"
  message_retention_seconds = var.dlq_message_retention_seconds
  kms_master_key_id         = var.kms_key_arn
  tags                      = var.tags
}

resource "aws_sqs_queue" "intake" {
  count = var.create ? 1 : 0

  name                       = "${var.name}-intake"
  visibility_timeout_seconds = var.visibility_timeout_multiplier * var.intake_function_timeout
  message_retention_seconds  = var.message_retention_seconds
  kms_master_key_id          = var.kms_key_arn
  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.intake_dlq[0].arn
    maxReceiveCount     = var.max_receive_count
  })
  tags = var.tags
}

resource "aws_sqs_queue_redrive_allow_policy" "intake_dlq" {
  count = var.create ? 1 : 0

  queue_url = aws_sqs_queue.intake_dlq[0].id
  redrive_allow_policy = jsonencode({
    redrivePermission = "byQueue"
    sourceQueueArns   = [aws_sqs_queue.intake[0].arn]
  })
}

resource "aws_sqs_queue" "failed_invocations" {
  count = var.create ? 1 : 0

  name                      = "${var.name}-failed-invocations"
  message_retention_seconds = var.dlq_message_retention_seconds
  kms_master_key_id         = var.kms_key_arn
  tags                      = var.tags
}

data "aws_iam_policy_document" "intake" {
  count = var.create ? 1 : 0

  statement {
    sid       = "LandingBucketNotifications"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.intake[0].arn]

    principals {
      type        = "Service"
      identifiers = ["s3.amazonaws.com"]
    }

    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = [var.landing_bucket_arn]
    }
  }
}

resource "aws_sqs_queue_policy" "intake" {
  count = var.create ? 1 : 0

  queue_url = aws_sqs_queue.intake[0].id
  policy    = data.aws_iam_policy_document.intake[0].json
}
