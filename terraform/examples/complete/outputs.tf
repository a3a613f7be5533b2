output "landing_uri" {
  description = "Where producers put NDJSON files."
  value       = module.storage.landing_uri
}

output "lake_uri" {
  description = "Where the Parquet lake is."
  value       = module.storage.lake_uri
}

output "state_machine_arn" {
  description = "ARN of the manifest workflow."
  value       = module.workflow.state_machine_arn
}

output "function_arns" {
  description = "ARN of every function."
  value       = module.functions.function_arns
}

output "glue_job_name" {
  description = "Name of the Glue convert job."
  value       = module.glue.job_name
}

output "glue_database_name" {
  description = "Glue database of the lake's tables."
  value       = module.glue.database_name
}

output "athena_workgroup" {
  description = "Athena workgroup to query the lake with."
  value       = module.athena.workgroup_name
}

output "alarm_topic_arn" {
  description = "Topic every alarm notifies."
  value       = module.alarms.alarm_topic_arn
}

output "kms_key_arn" {
  description = "The deployment's KMS key."
  value       = aws_kms_key.this.arn
}
