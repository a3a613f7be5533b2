variable "create" {
  description = "Whether to create the Glue job, database, connection and security configuration (false: nothing)."
  type        = bool
  default     = true
}

variable "name" {
  description = "Prefix of the security configuration and connection names."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,60}$", var.name))
    error_message = "name must be 1-60 letters, digits, hyphens or underscores."
  }
}

variable "job_name" {
  description = "Name of the Glue convert job (the state machine's ConvertInGlue runs it)."
  type        = string
}

variable "database_name" {
  description = "Name of the Glue database; its tables are kept by the commit step (not by Terraform)."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9_]{1,255}$", var.database_name))
    error_message = "database_name must be lower-case letters, digits and underscores (Athena's rule)."
  }
}

variable "role_arn" {
  description = "Role of the job (the iam module's glue_job_role_arn)."
  type        = string
}

variable "kms_key_arn" {
  description = "ARN of the KMS key of the security configuration (CloudWatch logs, job bookmarks, S3 data; review TF-GLUE-001)."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN."
  }
}

variable "script_location" {
  description = "S3 URI of the job's script (src/ndjson2parquet/aws/glue/convert_job.py uploaded under the artifacts bucket's glue/ prefix)."
  type        = string

  validation {
    condition     = startswith(var.script_location, "s3://")
    error_message = "script_location must be an s3:// URI."
  }
}

variable "extra_py_files" {
  description = "S3 URIs of the package wheel (and any other Python files) the script imports."
  type        = list(string)
  default     = []
}

variable "additional_python_modules" {
  description = "pip requirements Glue installs before the run (the package's dependencies that Glue 5.0 lacks), comma-separated; empty: none."
  type        = string
  default     = ""
}

variable "temp_dir" {
  description = "S3 URI of the job's temporary directory (under the artifacts bucket's tmp/ prefix)."
  type        = string

  validation {
    condition     = startswith(var.temp_dir, "s3://")
    error_message = "temp_dir must be an s3:// URI."
  }
}

variable "state_uri" {
  description = "The state table as the job reads it (--state, dynamodb://TABLE)."
  type        = string
}

variable "lake_uri" {
  description = "The lake (--lake)."
  type        = string
}

variable "quarantine_uri" {
  description = "The quarantine (--quarantine; null: <lake>/_quarantine)."
  type        = string
  default     = null
}

variable "compression_type" {
  description = "Parquet compression codec (--COMPRESSION_TYPE; review TF-GLUE-003); snappy is the package's default."
  type        = string
  default     = "snappy"

  validation {
    condition     = contains(["snappy", "zstd", "gzip", "lz4", "none"], var.compression_type)
    error_message = "compression_type must be snappy, zstd, gzip, lz4 or none (config.settings.COMPRESSIONS)."
  }
}

variable "engine" {
  description = "The job's conversion engine (--ENGINE): spark (the executors convert the manifest's file groups) or arrow (the driver alone)."
  type        = string
  default     = "spark"

  validation {
    condition     = contains(["spark", "arrow"], var.engine)
    error_message = "engine must be spark or arrow (aws/glue/arguments.py)."
  }
}

variable "glue_version" {
  description = "Glue version (5.0: Spark 3.5, Python 3.11)."
  type        = string
  default     = "5.0"

  validation {
    condition     = contains(["4.0", "5.0"], var.glue_version)
    error_message = "glue_version must be 4.0 or 5.0."
  }
}

variable "worker_type" {
  description = "Worker type (G.1X: 4 vCPU, 16 GB)."
  type        = string
  default     = "G.1X"

  validation {
    condition     = contains(["G.1X", "G.2X", "G.4X", "G.8X"], var.worker_type)
    error_message = "worker_type must be G.1X, G.2X, G.4X or G.8X."
  }
}

variable "number_of_workers" {
  description = "Workers of a run (2: the minimum)."
  type        = number
  default     = 2

  validation {
    condition     = var.number_of_workers >= 2
    error_message = "number_of_workers must be at least 2."
  }
}

variable "use_flex" {
  description = "Run on Glue Flex (spare capacity, about a third cheaper, slower to start; review TF-GLUE-006, Q21)."
  type        = bool
  default     = false
}

variable "timeout_minutes" {
  description = "Minutes a run may take; below the ConvertInGlue state's TimeoutSeconds (14400 s = 240 min) so the run ends first."
  type        = number
  default     = 230

  validation {
    condition     = var.timeout_minutes >= 1 && var.timeout_minutes < 240
    error_message = "timeout_minutes must be 1-239 (the state machine gives the run 240 minutes)."
  }
}

variable "max_concurrent_runs" {
  description = "Most runs at once (one per manifest above 2 GiB)."
  type        = number
  default     = 10

  validation {
    condition     = var.max_concurrent_runs >= 1
    error_message = "max_concurrent_runs must be at least 1."
  }
}

variable "subnet_id" {
  description = "Private subnet of the job's NETWORK connection (review TF-GLUE-002; it needs S3, DynamoDB, KMS and CloudWatch through endpoints or NAT)."
  type        = string

  validation {
    condition     = length(var.subnet_id) > 0
    error_message = "subnet_id must name a subnet: the job runs in a VPC."
  }
}

variable "security_group_ids" {
  description = "Security groups of the connection (one must allow all TCP from itself, as Glue requires)."
  type        = list(string)

  validation {
    condition     = length(var.security_group_ids) >= 1
    error_message = "security_group_ids must name at least one security group."
  }
}

variable "lake_location" {
  description = "Location URI of the database (the lake)."
  type        = string
  default     = null
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
