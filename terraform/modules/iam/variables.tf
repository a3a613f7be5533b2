variable "create" {
  description = "Whether to create the roles (false: the module creates nothing)."
  type        = bool
  default     = true
}

variable "name" {
  description = "Prefix of every role name."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9+=,.@_-]{1,40}$", var.name))
    error_message = "name must be 1-40 characters valid in an IAM role name."
  }
}

variable "function_names" {
  description = "Lambda function names by function key (intake, start, convert, commit, compensate, put_back, recover, seal); each gets its own role."
  type        = map(string)

  validation {
    condition = alltrue([
      for k in ["intake", "start", "convert", "commit", "compensate", "put_back", "recover", "seal"] : contains(keys(var.function_names), k)
    ])
    error_message = "function_names must name every function: intake, start, convert, commit, compensate, put_back, recover, seal."
  }
}

variable "state_machine_name" {
  description = "Name of the manifest workflow's state machine (the ARNs are built from it: no dependency cycle)."
  type        = string
}

variable "glue_job_name" {
  description = "Name of the Glue convert job."
  type        = string
}

variable "glue_database_name" {
  description = "Name of the Glue database whose tables the commit step keeps."
  type        = string
}

variable "glue_connection_name" {
  description = "Name of the Glue job's NETWORK connection (its role may read it)."
  type        = string
}

variable "table_arn" {
  description = "ARN of the DynamoDB state table."
  type        = string
}

variable "landing_bucket_arn" {
  description = "ARN of the landing bucket."
  type        = string
}

variable "landing_prefix" {
  description = "Key prefix of the landing zone (reads are limited to it)."
  type        = string
}

variable "lake_bucket_arn" {
  description = "ARN of the lake bucket (Parquet, quarantine, commit records, work objects)."
  type        = string
}

variable "artifacts_bucket_arn" {
  description = "ARN of the artifacts bucket (the Glue script and package under glue/, Glue temp under tmp/)."
  type        = string
}

variable "kms_key_arn" {
  description = "ARN of the KMS key of the buckets, table, queues, topic and logs."
  type        = string
}

variable "intake_queue_arn" {
  description = "ARN of the intake queue the intake Lambda consumes."
  type        = string
}

variable "failed_invocations_queue_arn" {
  description = "ARN of the queue of failed asynchronous invocations (Lambda and schedule dead letters)."
  type        = string
}

variable "failure_topic_arn" {
  description = "ARN of the SNS topic the state machine notifies of failed manifests."
  type        = string
}

variable "permissions_boundary_arn" {
  description = "ARN of a permissions boundary policy set on every role (review TF-IAM-005; null: none)."
  type        = string
  default     = null

  validation {
    condition     = var.permissions_boundary_arn == null || can(regex("^arn:aws[a-z-]*:iam::", var.permissions_boundary_arn))
    error_message = "permissions_boundary_arn must be null or an IAM policy ARN."
  }
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
