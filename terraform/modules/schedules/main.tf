# EventBridge Scheduler runs the recover pass every 5 minutes without the landing listing
# ({"list_landing": false}), the recover pass that lists the landing once a day
# ({"list_landing": true}: every object the landing keeps is LISTed, those of the lookback looked up
# in the state table), and the seal pass every 15 minutes; each with retries, a dead-letter queue and
# a KMS-encrypted payload. Two passes at once are safe (README "Scheduled recovery and seal"), so an
# overlapping schedule does no harm. local.schedules is the package's contract
# (ndjson2parquet.aws.deployment.SCHEDULES): tests/unit/infrastructure compares them.

locals {
  schedules = var.create ? merge(
    {
      recover = { expression = var.recover_schedule, arn = var.recover_function_arn, input = { list_landing = false } }
      seal    = { expression = var.seal_schedule, arn = var.seal_function_arn, input = {} }
    },
    var.landing_listing_schedule == null ? {} : {
      landing_listing = { expression = var.landing_listing_schedule, arn = var.recover_function_arn, input = { list_landing = true } }
    },
  ) : {}
}

resource "aws_scheduler_schedule_group" "this" {
  count = var.create ? 1 : 0

  name = var.name
  tags = var.tags
}

resource "aws_scheduler_schedule" "this" {
  for_each = local.schedules

  name                = "${var.name}-${each.key}"
  group_name          = aws_scheduler_schedule_group.this[0].name
  schedule_expression = each.value.expression
  kms_key_arn         = var.kms_key_arn

  flexible_time_window {
    mode = "OFF"
  }

  target {
    arn      = each.value.arn
    role_arn = var.role_arn
    input    = jsonencode(each.value.input)

    retry_policy {
      maximum_retry_attempts       = var.maximum_retry_attempts
      maximum_event_age_in_seconds = var.maximum_event_age_in_seconds
    }

    dead_letter_config {
      arn = var.dead_letter_arn
    }
  }
}
