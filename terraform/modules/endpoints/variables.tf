variable "create" {
  description = "Whether to create the endpoints (false: the module creates nothing; the subnets reach AWS through a NAT gateway of their own)."
  type        = bool
  default     = true
}

variable "name" {
  description = "Prefix of the endpoints' names and of their security group."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9-]{1,40}$", var.name))
    error_message = "name must be 2-41 characters of lower-case letters, digits and hyphens."
  }
}

variable "vpc_id" {
  description = "VPC of the functions' subnets."
  type        = string
}

variable "subnet_ids" {
  description = "Private subnets the interface endpoints get a network interface in (one per zone; each zone is billed)."
  type        = list(string)

  validation {
    condition     = length(var.subnet_ids) >= 1
    error_message = "subnet_ids must name at least one subnet."
  }
}

variable "route_table_ids" {
  description = "Route tables of the private subnets, for the gateway endpoints."
  type        = list(string)
}

variable "client_security_group_ids" {
  description = "Security groups of the functions and the Glue connection: each may reach the interface endpoints on 443."
  type        = list(string)
}

variable "gateway_services" {
  description = "Services reached through gateway endpoints (free): ndjson2parquet.aws.deployment.GATEWAY_ENDPOINTS."
  type        = list(string)
  default     = ["s3", "dynamodb"]
}

variable "interface_services" {
  description = "Services reached through interface endpoints (billed per zone-hour): ndjson2parquet.aws.deployment.INTERFACE_ENDPOINTS."
  type        = list(string)
  default     = ["states", "glue", "logs"]
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
