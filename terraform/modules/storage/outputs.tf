output "landing_bucket_id" {
  description = "Name of the landing bucket."
  value       = try(aws_s3_bucket.this["landing"].id, null)
}

output "landing_bucket_arn" {
  description = "ARN of the landing bucket."
  value       = try(aws_s3_bucket.this["landing"].arn, null)
}

output "landing_uri" {
  description = "The landing zone as the handlers read it (s3://bucket/prefix)."
  value       = try("s3://${aws_s3_bucket.this["landing"].id}/${trimsuffix(var.landing_prefix, "/")}", null)
}

output "landing_prefix" {
  description = "Key prefix of the landing zone."
  value       = var.landing_prefix
}

output "lake_bucket_id" {
  description = "Name of the lake bucket."
  value       = try(aws_s3_bucket.this["lake"].id, null)
}

output "lake_bucket_arn" {
  description = "ARN of the lake bucket."
  value       = try(aws_s3_bucket.this["lake"].arn, null)
}

output "lake_uri" {
  description = "The lake as the handlers read it (s3://bucket)."
  value       = try("s3://${aws_s3_bucket.this["lake"].id}", null)
}

output "artifacts_bucket_id" {
  description = "Name of the artifacts bucket (Lambda package, Glue script, Athena results, Glue temp)."
  value       = try(aws_s3_bucket.this["artifacts"].id, null)
}

output "artifacts_bucket_arn" {
  description = "ARN of the artifacts bucket."
  value       = try(aws_s3_bucket.this["artifacts"].arn, null)
}

output "access_logs_bucket_id" {
  description = "Name of the S3 server access-log bucket."
  value       = try(aws_s3_bucket.access_logs[0].id, null)
}
