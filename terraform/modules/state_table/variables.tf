variable "create" {
  description = "Whether to create the table (false: the module creates nothing)."
  type        = bool
  default     = true
}

variable "name" {
  description = "Name of the state table."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_.-]{3,255}$", var.name))
    error_message = "name must be 3-255 letters, digits, '_', '-' or '.'."
  }
}

variable "kms_key_arn" {
  description = "ARN of the KMS key that encrypts the table."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN."
  }
}

variable "billing_mode" {
  description = "PAY_PER_REQUEST (on demand, the default: review Q20 for up to ~100K files a day) or PROVISIONED with autoscaling."
  type        = string
  default     = "PAY_PER_REQUEST"

  validation {
    condition     = contains(["PAY_PER_REQUEST", "PROVISIONED"], var.billing_mode)
    error_message = "billing_mode must be PAY_PER_REQUEST or PROVISIONED."
  }
}

variable "read_capacity" {
  description = "PROVISIONED only: the autoscaling minimum (baseline) of read units, for the table and each index."
  type        = number
  default     = 5

  validation {
    condition     = var.read_capacity >= 1
    error_message = "read_capacity must be at least 1."
  }
}

variable "write_capacity" {
  description = "PROVISIONED only: the autoscaling minimum (baseline) of write units, for the table and each index."
  type        = number
  default     = 5

  validation {
    condition     = var.write_capacity >= 1
    error_message = "write_capacity must be at least 1."
  }
}

variable "autoscaling_max_multiplier" {
  description = "PROVISIONED only: the autoscaling maximum as a multiple of the minimum (review Q20: 4x for bursts)."
  type        = number
  default     = 4

  validation {
    condition     = var.autoscaling_max_multiplier >= 1
    error_message = "autoscaling_max_multiplier must be at least 1."
  }
}

variable "autoscaling_target_utilization" {
  description = "PROVISIONED only: the target utilisation in percent the autoscaling keeps."
  type        = number
  default     = 70

  validation {
    condition     = var.autoscaling_target_utilization >= 20 && var.autoscaling_target_utilization <= 90
    error_message = "autoscaling_target_utilization must be 20-90."
  }
}

variable "deletion_protection" {
  description = "Whether the table refuses to be deleted."
  type        = bool
  default     = true
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
