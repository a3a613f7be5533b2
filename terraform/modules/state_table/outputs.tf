output "table_name" {
  description = "Name of the state table."
  value       = try(aws_dynamodb_table.this[0].name, null)
}

output "table_arn" {
  description = "ARN of the state table."
  value       = try(aws_dynamodb_table.this[0].arn, null)
}

output "state_uri" {
  description = "The state as the handlers read it (dynamodb://TABLE)."
  value       = try("dynamodb://${aws_dynamodb_table.this[0].name}", null)
}

output "billing_mode" {
  description = "The table's billing mode."
  value       = var.billing_mode
}
