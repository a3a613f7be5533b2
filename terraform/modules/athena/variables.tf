variable "create" {
  description = "Whether to create the workgroup (false: nothing)."
  type        = bool
  default     = true
}

variable "name" {
  description = "Name of the Athena workgroup."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9._-]{1,128}$", var.name))
    error_message = "name must be 1-128 letters, digits, '.', '_' or '-'."
  }
}

variable "results_location" {
  description = "S3 URI of the query results (under the artifacts bucket)."
  type        = string

  validation {
    condition     = startswith(var.results_location, "s3://")
    error_message = "results_location must be an s3:// URI."
  }
}

variable "kms_key_arn" {
  description = "ARN of the KMS key the results are encrypted with (SSE_KMS)."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN."
  }
}

variable "bytes_scanned_cutoff_per_query" {
  description = "Most bytes one query may scan (null: no limit)."
  type        = number
  default     = 107374182400

  validation {
    condition     = var.bytes_scanned_cutoff_per_query == null || try(var.bytes_scanned_cutoff_per_query >= 10485760, false)
    error_message = "bytes_scanned_cutoff_per_query must be null or at least 10 MB."
  }
}

variable "force_destroy" {
  description = "Whether terraform destroy may delete the workgroup with its saved queries."
  type        = bool
  default     = false
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
