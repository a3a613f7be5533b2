# Role ARNs are given out only once their policies are attached: a Lambda with a VPC, a DLQ or an
# event source, and a state machine with logging, are refused by AWS when their role cannot act yet.

output "function_role_arns" {
  description = "Role ARN of each Lambda function, by function key."
  value       = { for k in local.lambda_set : k => aws_iam_role.this[k].arn }
  depends_on = [
    aws_iam_role_policy.this,
    aws_iam_role_policy.tracing,
    aws_iam_role_policy_attachment.lambda_vpc,
  ]
}

output "state_machine_role_arn" {
  description = "Role ARN of the state machine."
  value       = try(aws_iam_role.this["state_machine"].arn, null)
  depends_on  = [aws_iam_role_policy.this, aws_iam_role_policy.tracing, aws_iam_role_policy.state_machine_log_delivery]
}

output "glue_job_role_arn" {
  description = "Role ARN of the Glue job."
  value       = try(aws_iam_role.this["glue_job"].arn, null)
  depends_on  = [aws_iam_role_policy.this, aws_iam_role_policy_attachment.glue_service]
}

output "scheduler_role_arn" {
  description = "Role ARN the EventBridge schedules invoke the recover and seal functions with."
  value       = try(aws_iam_role.this["schedules"].arn, null)
  depends_on  = [aws_iam_role_policy.this]
}

output "role_names" {
  description = "Name of every role, by role key."
  value       = { for k, r in aws_iam_role.this : k => r.name }
}

output "policy_json" {
  description = "The least-privilege policy document of every role, by role key (as attached)."
  value       = local.policies
}
