variable "create" {
  description = "Whether to create the state machine, its failure topic and log group (false: nothing)."
  type        = bool
  default     = true
}

variable "name" {
  description = "Name of the state machine (the failure topic and log group are named after it)."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,70}$", var.name))
    error_message = "name must be 1-70 letters, digits, hyphens or underscores."
  }
}

variable "definition_path" {
  description = "Path of the ASL file with its $${...} placeholders (null: the package's src/ndjson2parquet/aws/state_machine.asl.json in this repository)."
  type        = string
  default     = null
}

variable "step_function_arns" {
  description = "ARN of each step function by key: start, convert, commit, compensate, put_back (the functions module's function_arns)."
  type        = map(string)

  validation {
    condition     = alltrue([for k in ["start", "convert", "commit", "compensate", "put_back"] : contains(keys(var.step_function_arns), k)])
    error_message = "step_function_arns must hold start, convert, commit, compensate and put_back."
  }
}

variable "glue_job_name" {
  description = "Name of the Glue job the ConvertInGlue state runs."
  type        = string
}

variable "role_arn" {
  description = "Role of the state machine (the iam module's state_machine_role_arn)."
  type        = string
}

variable "kms_key_arn" {
  description = "ARN of the KMS key of the execution data, the failure topic and the log group."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN."
  }
}

variable "log_retention_days" {
  description = "Days the state machine's log group keeps its logs."
  type        = number
  default     = 30

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a retention CloudWatch Logs accepts."
  }
}

variable "log_level" {
  description = "Execution history logged: ALL, ERROR or FATAL."
  type        = string
  default     = "ALL"

  validation {
    condition     = contains(["ALL", "ERROR", "FATAL"], var.log_level)
    error_message = "log_level must be ALL, ERROR or FATAL."
  }
}

variable "failure_subscriptions" {
  description = "Subscriptions of the failure topic: protocol and endpoint (e.g. email addresses of the operators)."
  type = list(object({
    protocol = string
    endpoint = string
  }))
  default = []
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
