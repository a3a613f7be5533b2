output "workgroup_name" {
  description = "Name of the Athena workgroup."
  value       = try(aws_athena_workgroup.this[0].name, null)
}

output "workgroup_arn" {
  description = "ARN of the Athena workgroup."
  value       = try(aws_athena_workgroup.this[0].arn, null)
}
