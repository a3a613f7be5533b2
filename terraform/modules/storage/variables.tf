variable "create" {
  description = "Whether to create the buckets (false: the module creates nothing)."
  type        = bool
  default     = true
}

variable "name" {
  description = "Prefix of every bucket name (lower case, digits and hyphens)."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9-]{1,40}$", var.name))
    error_message = "name must be 2-41 characters of lower-case letters, digits and hyphens."
  }
}

variable "kms_key_arn" {
  description = "ARN of the KMS key that encrypts every bucket (SSE-KMS with bucket keys)."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN."
  }
}

variable "landing_prefix" {
  description = "Key prefix of the landing zone that the intake watches (no leading slash; empty: the whole bucket)."
  type        = string
  default     = "incoming/"

  validation {
    condition     = !startswith(var.landing_prefix, "/")
    error_message = "landing_prefix must not start with a slash."
  }
}

variable "notification_queue_arn" {
  description = "ARN of the SQS queue the landing bucket notifies of created objects (null: no notification)."
  type        = string
  default     = null
}

variable "lake_intelligent_tiering_days" {
  description = "Days after which lake objects move to S3 Intelligent-Tiering (review Q22; 0: at once)."
  type        = number
  default     = 0

  validation {
    condition     = var.lake_intelligent_tiering_days >= 0
    error_message = "lake_intelligent_tiering_days must be 0 or more."
  }
}

variable "landing_archive_days" {
  description = "Days after which landed originals move to Glacier Instant Retrieval for compliance archives (review Q22; null: never). Instant Retrieval keeps them readable by recovery's listing and a re-conversion."
  type        = number
  default     = 90

  validation {
    condition     = var.landing_archive_days == null || try(var.landing_archive_days >= 1, false)
    error_message = "landing_archive_days must be null or at least 1."
  }
}

variable "landing_expiration_days" {
  description = "Days after which landed inputs expire (null: kept, the default). Inputs are the only copy of a REJECTED file and the source of `retry`; and the daily landing listing LISTs every input kept, so at high volume it must end within the recover function's timeout (README \"Cost\": about 4 days at 500,000 files a day). An expired input becomes a noncurrent version, removed after noncurrent_version_expiration_days."
  type        = number
  default     = null

  validation {
    condition     = var.landing_expiration_days == null || try(var.landing_expiration_days >= 1, false)
    error_message = "landing_expiration_days must be null or at least 1."
  }
}

variable "noncurrent_version_expiration_days" {
  description = "Days a replaced or deleted object version is kept in the versioned buckets."
  type        = number
  default     = 30

  validation {
    condition     = var.noncurrent_version_expiration_days >= 1
    error_message = "noncurrent_version_expiration_days must be at least 1."
  }
}

variable "access_log_expiration_days" {
  description = "Days the S3 server access logs are kept."
  type        = number
  default     = 90

  validation {
    condition     = var.access_log_expiration_days >= 1
    error_message = "access_log_expiration_days must be at least 1."
  }
}

variable "force_destroy" {
  description = "Whether terraform destroy may delete non-empty buckets (for test environments only)."
  type        = bool
  default     = false
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
