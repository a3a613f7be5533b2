variable "create" {
  description = "Whether to create the queues (false: the module creates nothing)."
  type        = bool
  default     = true
}

variable "name" {
  description = "Prefix of every queue name."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,60}$", var.name))
    error_message = "name must be 1-60 letters, digits, hyphens or underscores."
  }
}

variable "kms_key_arn" {
  description = "ARN of the KMS key that encrypts the queues (its policy must let s3.amazonaws.com use it for the notifications)."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN."
  }
}

variable "landing_bucket_arn" {
  description = "ARN of the landing bucket allowed to send its notifications to the intake queue."
  type        = string
}

variable "intake_function_timeout" {
  description = "Timeout in seconds of the intake Lambda; the intake queue's visibility timeout is visibility_timeout_multiplier times it."
  type        = number
  default     = 120

  validation {
    condition     = var.intake_function_timeout >= 1 && var.intake_function_timeout <= 900
    error_message = "intake_function_timeout must be 1-900 seconds (a Lambda's range)."
  }
}

variable "visibility_timeout_multiplier" {
  description = "The intake queue's visibility timeout over the intake Lambda's timeout (AWS advises at least 6 with an event source mapping)."
  type        = number
  default     = 6

  validation {
    condition     = var.visibility_timeout_multiplier >= 6
    error_message = "visibility_timeout_multiplier must be at least 6 (AWS's advice for SQS event sources)."
  }
}

variable "max_receive_count" {
  description = "Receives of an intake message before SQS moves it to the dead-letter queue."
  type        = number
  default     = 5

  validation {
    condition     = var.max_receive_count >= 1 && var.max_receive_count <= 1000
    error_message = "max_receive_count must be 1-1000."
  }
}

variable "message_retention_seconds" {
  description = "How long the intake queue keeps a message."
  type        = number
  default     = 345600

  validation {
    condition     = var.message_retention_seconds >= 60 && var.message_retention_seconds <= 1209600
    error_message = "message_retention_seconds must be 60-1209600."
  }
}

variable "dlq_message_retention_seconds" {
  description = "How long the dead-letter queues keep a message (the maximum, 14 days, by default)."
  type        = number
  default     = 1209600

  validation {
    condition     = var.dlq_message_retention_seconds >= 60 && var.dlq_message_retention_seconds <= 1209600
    error_message = "dlq_message_retention_seconds must be 60-1209600."
  }
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
