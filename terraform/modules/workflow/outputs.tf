output "state_machine_arn" {
  description = "ARN of the state machine."
  value       = try(aws_sfn_state_machine.this[0].arn, null)
}

output "state_machine_name" {
  description = "Name of the state machine."
  value       = try(aws_sfn_state_machine.this[0].name, null)
}

output "failure_topic_arn" {
  description = "ARN of the SNS topic of failed manifests and abnormally ended executions."
  value       = try(aws_sns_topic.failures[0].arn, null)
}

output "log_group_name" {
  description = "Log group of the state machine's execution history."
  value       = try(aws_cloudwatch_log_group.this[0].name, null)
}
