variable "create" {
  description = "Whether to create the alarms, their topic and the Glue run-state rule (false: nothing)."
  type        = bool
  default     = true
}

variable "name" {
  description = "Prefix of every alarm name and of the alarm topic."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,60}$", var.name))
    error_message = "name must be 1-60 letters, digits, hyphens or underscores."
  }
}

variable "environment" {
  description = "Environment name; alarms exist in every environment (review TF-GLUE-004), only their default thresholds differ (stricter in prod)."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,15}$", var.environment))
    error_message = "environment must be 2-16 lower-case letters, digits or hyphens."
  }
}

variable "kms_key_arn" {
  description = "ARN of the KMS key of the alarm topic (its policy must let cloudwatch.amazonaws.com and events.amazonaws.com use it)."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN."
  }
}

variable "alarm_action_arns" {
  description = "More ARNs every alarm notifies, beside the module's own topic (review TF-LAMBDA-006), e.g. an on-call topic."
  type        = list(string)
  default     = []
}

variable "subscriptions" {
  description = "Subscriptions of the alarm topic: protocol and endpoint."
  type = list(object({
    protocol = string
    endpoint = string
  }))
  default = []
}

variable "function_names" {
  description = "Lambda function names by function key (errors and throttles are watched for each)."
  type        = map(string)
}

variable "intake_queue_name" {
  description = "Name of the intake queue (age of its oldest message is watched)."
  type        = string
}

variable "dead_letter_queue_names" {
  description = "Names of the dead-letter queues; any message in one raises its alarm."
  type        = map(string)
}

variable "state_machine_arn" {
  description = "ARN of the state machine (failed and timed-out executions are watched)."
  type        = string
}

variable "glue_job_name" {
  description = "Name of the Glue job (failed, timed-out and errored runs are watched; review TF-GLUE-005)."
  type        = string
}

variable "lambda_error_threshold" {
  description = "Errors of one function in 5 minutes above which its alarm fires (null: 0 in prod, 5 elsewhere)."
  type        = number
  default     = null
}

variable "failed_execution_threshold" {
  description = "Failed executions in 5 minutes above which the alarm fires (null: 0 in prod, 5 elsewhere)."
  type        = number
  default     = null
}

variable "intake_age_threshold_seconds" {
  description = "Age of the oldest intake message above which the alarm fires."
  type        = number
  default     = 900

  validation {
    condition     = var.intake_age_threshold_seconds >= 60
    error_message = "intake_age_threshold_seconds must be at least 60."
  }
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
