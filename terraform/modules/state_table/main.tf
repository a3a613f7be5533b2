# The state table as state/dynamodb/table.py creates it: pk/sk, the sparse indexes waiting, live and
# by_date (projection ALL), TTL on expires_at. PITR, a customer-managed key, on-demand or provisioned
# with target-tracking autoscaling (review Q20).

locals {
  # index => [hash key, range key]; mirrors table.py (tests/unit/infrastructure checks it)
  indexes = {
    waiting = ["wpk", "wsk"]
    live    = ["lpk", "lsk"]
    by_date = ["mdk", "msk"]
  }
  string_keys   = ["pk", "sk", "wpk", "wsk", "lpk", "lsk", "mdk", "msk"]
  ttl_attribute = "expires_at"
  provisioned   = var.billing_mode == "PROVISIONED"

  # the table and each index, both dimensions, when provisioned
  scaled = local.provisioned && var.create ? merge(
    { for d in ["read", "write"] : "table-${d}" => { resource = "table/${var.name}", dimension = d } },
    { for pair in setproduct(keys(local.indexes), ["read", "write"]) :
      "${pair[0]}-${pair[1]}" => { resource = "table/${var.name}/index/${pair[0]}", dimension = pair[1] }
    },
  ) : {}
}

resource "aws_dynamodb_table" "this" {
  count = var.create ? 1 : 0

  name                        = var.name
  billing_mode                = var.billing_mode
  read_capacity               = local.provisioned ? var.read_capacity : null
  write_capacity              = local.provisioned ? var.write_capacity : null
  hash_key                    = "pk"
  range_key                   = "sk"
  deletion_protection_enabled = var.deletion_protection

  dynamic "attribute" {
    for_each = local.string_keys
    content {
      name = attribute.value
      type = "S"
    }
  }

  dynamic "global_secondary_index" {
    for_each = local.indexes
    content {
      name            = global_secondary_index.key
      hash_key        = global_secondary_index.value[0]
      range_key       = global_secondary_index.value[1]
      projection_type = "ALL"
      read_capacity   = local.provisioned ? var.read_capacity : null
      write_capacity  = local.provisioned ? var.write_capacity : null
    }
  }

  ttl {
    attribute_name = local.ttl_attribute
    enabled        = true
  }

  point_in_time_recovery {
    enabled = true
  }

  server_side_encryption {
    enabled     = true
    kms_key_arn = var.kms_key_arn
  }

  lifecycle {
    # autoscaling owns the capacity once provisioned
    ignore_changes = [read_capacity, write_capacity]
  }

  tags = var.tags
}

resource "aws_appautoscaling_target" "this" {
  for_each = local.scaled

  service_namespace  = "dynamodb"
  resource_id        = each.value.resource
  scalable_dimension = "dynamodb:${startswith(each.value.resource, "table/${var.name}/index/") ? "index" : "table"}:${title(each.value.dimension)}CapacityUnits"
  min_capacity       = each.value.dimension == "read" ? var.read_capacity : var.write_capacity
  max_capacity       = (each.value.dimension == "read" ? var.read_capacity : var.write_capacity) * var.autoscaling_max_multiplier

  depends_on = [aws_dynamodb_table.this]
}

resource "aws_appautoscaling_policy" "this" {
  for_each = local.scaled

  name               = "${var.name}-${each.key}"
  policy_type        = "TargetTrackingScaling"
  service_namespace  = aws_appautoscaling_target.this[each.key].service_namespace
  resource_id        = aws_appautoscaling_target.this[each.key].resource_id
  scalable_dimension = aws_appautoscaling_target.this[each.key].scalable_dimension

  target_tracking_scaling_policy_configuration {
    target_value = var.autoscaling_target_utilization
    predefined_metric_specification {
      predefined_metric_type = "DynamoDB${title(each.value.dimension)}CapacityUtilization"
    }
  }
}
