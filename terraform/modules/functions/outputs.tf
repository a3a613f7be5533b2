output "function_arns" {
  description = "ARN of each function, by function key."
  value       = { for k, f in aws_lambda_function.this : k => f.arn }
}

output "function_names" {
  description = "Name of each function, by function key."
  value       = { for k, f in aws_lambda_function.this : k => f.function_name }
}

output "log_group_names" {
  description = "Log group of each function, by function key."
  value       = { for k, g in aws_cloudwatch_log_group.this : k => g.name }
}

output "event_source_mapping_uuid" {
  description = "UUID of the intake's SQS event source mapping."
  value       = try(aws_lambda_event_source_mapping.intake[0].uuid, null)
}

output "intake_timeout" {
  description = "Timeout of the intake function in seconds (the queues module derives the intake queue's visibility timeout from it)."
  value       = var.functions["intake"].timeout
}
