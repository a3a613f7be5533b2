output "job_name" {
  description = "Name of the Glue job."
  value       = try(aws_glue_job.this[0].name, null)
}

output "job_arn" {
  description = "ARN of the Glue job."
  value       = try(aws_glue_job.this[0].arn, null)
}

output "database_name" {
  description = "Name of the Glue database."
  value       = try(aws_glue_catalog_database.this[0].name, null)
}

output "connection_name" {
  description = "Name of the job's NETWORK connection."
  value       = try(aws_glue_connection.vpc[0].name, null)
}

output "security_configuration_name" {
  description = "Name of the job's security configuration."
  value       = try(aws_glue_security_configuration.this[0].name, null)
}

output "execution_class" {
  description = "STANDARD or FLEX."
  value       = var.use_flex ? "FLEX" : "STANDARD"
}
