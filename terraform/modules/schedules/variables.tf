variable "create" {
  description = "Whether to create the schedules (false: nothing)."
  type        = bool
  default     = true
}

variable "name" {
  description = "Prefix of the schedule group and schedule names."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_.-]{1,50}$", var.name))
    error_message = "name must be 1-50 letters, digits, '.', '_' or '-'."
  }
}

variable "recover_function_arn" {
  description = "ARN of the recover function."
  type        = string
}

variable "seal_function_arn" {
  description = "ARN of the seal function."
  type        = string
}

variable "role_arn" {
  description = "Role the scheduler invokes with (the iam module's scheduler_role_arn)."
  type        = string
}

variable "kms_key_arn" {
  description = "ARN of the KMS key that encrypts the schedules' payloads."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN."
  }
}

variable "dead_letter_arn" {
  description = "SQS queue ARN of invocations the scheduler could not deliver."
  type        = string
}

variable "recover_schedule" {
  description = "Schedule expression of the recover pass without the landing listing."
  type        = string
  default     = "rate(5 minutes)"

  validation {
    condition     = can(regex("^(rate|cron)\\(.+\\)$", var.recover_schedule))
    error_message = "recover_schedule must be a rate(...) or cron(...) expression."
  }
}

variable "landing_listing_schedule" {
  description = "Schedule expression of the recover pass that lists the landing prefix (events S3 lost); null: no listing (S3's events and the intake's DLQ alone). Its listing must end within the recover function's timeout: see the README's Cost section for the days of inputs that fit."
  type        = string
  default     = "rate(1 day)"

  validation {
    condition     = var.landing_listing_schedule == null || can(regex("^(rate|cron)\\(.+\\)$", coalesce(var.landing_listing_schedule, "x")))
    error_message = "landing_listing_schedule must be null or a rate(...) or cron(...) expression."
  }
}

variable "seal_schedule" {
  description = "Schedule expression of the seal pass."
  type        = string
  default     = "rate(15 minutes)"

  validation {
    condition     = can(regex("^(rate|cron)\\(.+\\)$", var.seal_schedule))
    error_message = "seal_schedule must be a rate(...) or cron(...) expression."
  }
}

variable "maximum_retry_attempts" {
  description = "Retries of a failed delivery before it goes to the dead-letter queue (the next pass runs anyway)."
  type        = number
  default     = 2

  validation {
    condition     = var.maximum_retry_attempts >= 0 && var.maximum_retry_attempts <= 185
    error_message = "maximum_retry_attempts must be 0-185."
  }
}

variable "maximum_event_age_in_seconds" {
  description = "Age after which an undelivered invocation is given up (to the dead-letter queue): one pass period by default."
  type        = number
  default     = 300

  validation {
    condition     = var.maximum_event_age_in_seconds >= 60 && var.maximum_event_age_in_seconds <= 86400
    error_message = "maximum_event_age_in_seconds must be 60-86400."
  }
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
