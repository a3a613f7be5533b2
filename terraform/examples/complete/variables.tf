variable "region" {
  description = "AWS region of the deployment."
  type        = string
  default     = "eu-west-1"
}

variable "name" {
  description = "Prefix of every resource name (lower case: it names buckets)."
  type        = string
  default     = "ndjson2parquet"

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9-]{1,30}$", var.name))
    error_message = "name must be 2-31 lower-case letters, digits and hyphens."
  }
}

variable "environment" {
  description = "Environment name (dev, staging, prod, ...)."
  type        = string
  default     = "dev"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,15}$", var.environment))
    error_message = "environment must be 2-16 lower-case letters, digits or hyphens."
  }
}

variable "subnet_ids" {
  description = "Private subnets of the Lambdas (the first one also hosts the Glue connection)."
  type        = list(string)

  validation {
    condition     = length(var.subnet_ids) >= 1
    error_message = "subnet_ids must name at least one subnet."
  }
}

variable "security_group_ids" {
  description = "Security groups of the Lambdas and of the Glue connection."
  type        = list(string)

  validation {
    condition     = length(var.security_group_ids) >= 1
    error_message = "security_group_ids must name at least one security group."
  }
}

variable "vpc_id" {
  description = "VPC of the subnets (the endpoints module's gateway and interface endpoints go there)."
  type        = string
}

variable "route_table_ids" {
  description = "Route tables of the private subnets (the S3 and DynamoDB gateway endpoints are added to them)."
  type        = list(string)
}

variable "create_vpc_endpoints" {
  description = "Create the VPC endpoints (false: the subnets reach AWS through a NAT gateway of their own)."
  type        = bool
  default     = true
}

variable "landing_expiration_days" {
  description = "Days after which landed inputs expire (null: kept). At 500,000 files a day the daily listing fits the recover function's 900 s for about 4 days of inputs (README \"Cost\"): set it, or set landing_listing_schedule to null."
  type        = number
  default     = null
}

variable "landing_listing_schedule" {
  description = "Schedule of the recover pass that lists the landing prefix (null: none)."
  type        = string
  default     = "rate(1 day)"
}

variable "package_path" {
  description = "The Lambda zip built by scripts/package_lambda.sh."
  type        = string
  default     = "../../../build/lambda.zip"
}

variable "wheel_path" {
  description = "The package's wheel (python -m pip wheel --no-deps . -w build/) that the Glue job installs."
  type        = string
  default     = "../../../build/ndjson2parquet-0.1.0-py3-none-any.whl"
}

variable "permissions_boundary_arn" {
  description = "Permissions boundary of every role (null: none)."
  type        = string
  default     = null
}

variable "alarm_subscriptions" {
  description = "Subscriptions of the alarm topic (and of the failure topic)."
  type = list(object({
    protocol = string
    endpoint = string
  }))
  default = []
}

variable "dynamodb_billing_mode" {
  description = "PAY_PER_REQUEST or PROVISIONED (with autoscaling)."
  type        = string
  default     = "PAY_PER_REQUEST"
}

variable "use_glue_flex" {
  description = "Run the Glue job on Flex capacity."
  type        = bool
  default     = false
}
