variable "create" {
  description = "Whether to create the functions (false: the module creates nothing)."
  type        = bool
  default     = true
}

variable "function_names" {
  description = "Lambda function name by function key: intake, start, convert, commit, compensate, put_back, recover, seal."
  type        = map(string)

  validation {
    condition = alltrue([
      for k in ["intake", "start", "convert", "commit", "compensate", "put_back", "recover", "seal"] : contains(keys(var.function_names), k)
    ]) && length(var.function_names) == 8
    error_message = "function_names must name exactly: intake, start, convert, commit, compensate, put_back, recover, seal."
  }
}

variable "role_arns" {
  description = "Execution role ARN by function key (the iam module's function_role_arns)."
  type        = map(string)
}

variable "package_path" {
  description = "Path of the Lambda deployment zip built by scripts/package_lambda.sh (the package and its dependencies for manylinux2014_aarch64)."
  type        = string

  validation {
    condition     = endswith(var.package_path, ".zip")
    error_message = "package_path must be a .zip file."
  }
}

variable "package_bucket" {
  description = "Bucket the zip is uploaded to (under lambda/): at about 66 MB it is above the 50 MB a direct upload takes (the storage module's artifacts bucket)."
  type        = string
}

variable "runtime" {
  description = "Lambda runtime of every function (the package's own: ndjson2parquet.aws.deployment.RUNTIME)."
  type        = string
  default     = "python3.11"

  validation {
    condition     = can(regex("^python3\\.(1[1-9])$", var.runtime))
    error_message = "runtime must be python3.11 or newer (the package needs 3.11)."
  }
}

variable "architecture" {
  description = "Instruction set of every function (the package is built for it: ndjson2parquet.aws.deployment.ARCHITECTURE)."
  type        = string
  default     = "arm64"

  validation {
    condition     = contains(["arm64", "x86_64"], var.architecture)
    error_message = "architecture must be arm64 or x86_64."
  }
}

variable "functions" {
  description = "Memory (MB), timeout (s), reserved concurrency (-1: none) and /tmp (MB, default 512) of each function (ndjson2parquet.aws.deployment.FUNCTION_SIZES; the cost model prices these). commit, compensate and put_back must stay below the state machine's 300 s TimeoutSeconds, convert below 960 s, start below 120 s. recover lists the landing once a day: 900 s and 1 vCPU (1769 MB), two at once so the five-minute pass is not throttled meanwhile."
  type = map(object({
    memory_size          = number
    timeout              = number
    reserved_concurrency = number
    ephemeral_storage    = optional(number, 512)
  }))
  default = {
    intake     = { memory_size = 512, timeout = 120, reserved_concurrency = 20 }
    start      = { memory_size = 512, timeout = 60, reserved_concurrency = 50 }
    convert    = { memory_size = 3008, timeout = 900, reserved_concurrency = 20, ephemeral_storage = 3072 }
    commit     = { memory_size = 512, timeout = 240, reserved_concurrency = 50 }
    compensate = { memory_size = 512, timeout = 240, reserved_concurrency = 20 }
    put_back   = { memory_size = 512, timeout = 240, reserved_concurrency = 20 }
    recover    = { memory_size = 1769, timeout = 900, reserved_concurrency = 2 }
    seal       = { memory_size = 512, timeout = 300, reserved_concurrency = 1 }
  }

  validation {
    condition = alltrue([
      for k in ["intake", "start", "convert", "commit", "compensate", "put_back", "recover", "seal"] : contains(keys(var.functions), k)
    ])
    error_message = "functions must configure every function key."
  }

  validation {
    condition = alltrue([
      for k, f in var.functions : f.memory_size >= 128 && f.memory_size <= 10240 && f.timeout >= 1 && f.timeout <= 900
    ])
    error_message = "memory_size must be 128-10240 MB and timeout 1-900 s."
  }

  validation {
    condition     = var.functions["convert"].ephemeral_storage >= 2048 && var.functions["convert"].ephemeral_storage <= 10240
    error_message = "convert needs at least 2048 MB of /tmp (parts are staged there until the manifest's schema is known; the state machine sends only manifests above 2 GiB to Glue) and Lambda allows at most 10240."
  }

  validation {
    condition = (
      var.functions["start"].timeout < 120 && var.functions["convert"].timeout < 960 &&
      var.functions["commit"].timeout < 300 && var.functions["compensate"].timeout < 300 && var.functions["put_back"].timeout < 300
    )
    error_message = "Each step's timeout must stay below its state's TimeoutSeconds (start 120, convert 960, commit/compensate/put_back 300), so a stuck step ends as a timeout."
  }
}

variable "kms_key_arn" {
  description = "ARN of the KMS key that encrypts the environment variables and the log groups (review TF-LAMBDA-005)."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN."
  }
}

variable "subnet_ids" {
  description = "Private subnets the functions run in (review TF-LAMBDA-001; they need routes or VPC endpoints to S3, DynamoDB, SQS, Step Functions, KMS, X-Ray and CloudWatch Logs)."
  type        = list(string)

  validation {
    condition     = length(var.subnet_ids) >= 1
    error_message = "subnet_ids must name at least one subnet: the functions run in a VPC."
  }
}

variable "security_group_ids" {
  description = "Security groups of the functions' network interfaces."
  type        = list(string)

  validation {
    condition     = length(var.security_group_ids) >= 1
    error_message = "security_group_ids must name at least one security group."
  }
}

variable "dead_letter_target_arn" {
  description = "SQS queue ARN of failed asynchronous invocations (review TF-LAMBDA-002; the schedules invoke recover and seal asynchronously)."
  type        = string
}

variable "intake_queue_arn" {
  description = "ARN of the intake queue the intake function consumes."
  type        = string
}

variable "intake_queue_visibility_timeout" {
  description = "Visibility timeout of the intake queue in seconds (checked: at least 6 times the intake timeout)."
  type        = number
}

variable "batch_size" {
  description = "Messages per intake invocation."
  type        = number
  default     = 100

  validation {
    condition     = var.batch_size >= 1 && var.batch_size <= 10000
    error_message = "batch_size must be 1-10000."
  }
}

variable "maximum_batching_window_in_seconds" {
  description = "How long the event source gathers a batch (needed for batches above 10)."
  type        = number
  default     = 20

  validation {
    condition     = var.maximum_batching_window_in_seconds >= 0 && var.maximum_batching_window_in_seconds <= 300
    error_message = "maximum_batching_window_in_seconds must be 0-300."
  }
}

variable "intake_maximum_concurrency" {
  description = "Most concurrent intake invocations the event source drives; at most the intake's reserved concurrency, so batches wait in the queue instead of being throttled (null: no limit)."
  type        = number
  default     = 20

  validation {
    condition     = var.intake_maximum_concurrency == null || try(var.intake_maximum_concurrency >= 2, false)
    error_message = "intake_maximum_concurrency must be null or at least 2."
  }
}

variable "environment" {
  description = "Environment name (dev, staging, prod, ...); sets the default log level."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,15}$", var.environment))
    error_message = "environment must be 2-16 lower-case letters, digits or hyphens."
  }
}

variable "log_level" {
  description = "LOG_LEVEL of every function (review TF-LAMBDA-004; null: INFO in prod, DEBUG elsewhere)."
  type        = string
  default     = null

  validation {
    condition     = var.log_level == null || contains(["DEBUG", "INFO", "WARNING", "ERROR"], coalesce(var.log_level, "INFO"))
    error_message = "log_level must be null, DEBUG, INFO, WARNING or ERROR."
  }
}

variable "log_retention_days" {
  description = "Days the functions' log groups keep their logs."
  type        = number
  default     = 30

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a retention CloudWatch Logs accepts."
  }
}

variable "state_uri" {
  description = "The state table as the handlers read it (dynamodb://TABLE)."
  type        = string

  validation {
    condition     = startswith(var.state_uri, "dynamodb://")
    error_message = "state_uri must be dynamodb://TABLE."
  }
}

variable "landing_uri" {
  description = "The landing zone (s3://bucket/prefix)."
  type        = string
}

variable "lake_uri" {
  description = "The lake (s3://bucket[/prefix])."
  type        = string
}

variable "quarantine_uri" {
  description = "Where quarantined lines go (null: <lake>/_quarantine)."
  type        = string
  default     = null
}

variable "state_machine_arn" {
  description = "ARN of the manifest workflow the intake, recover and seal functions start."
  type        = string
}

variable "glue_database_name" {
  description = "Glue database whose tables the commit step keeps (review: Glue Data Catalog)."
  type        = string
}

variable "dataset" {
  description = "Dataset of landed keys that dataset_pattern does not name."
  type        = string
  default     = "default"
}

variable "dataset_pattern" {
  description = "Regular expression with a `dataset` group read from each landed key (empty: every key is `dataset`)."
  type        = string
  default     = ""
}

variable "max_files" {
  description = "Most files in one manifest (BatchPolicy.max_files)."
  type        = number
  default     = 10000

  validation {
    condition     = var.max_files >= 1
    error_message = "max_files must be at least 1."
  }
}

variable "target_bytes" {
  description = "Input bytes at which a manifest is full (BatchPolicy.target_bytes)."
  type        = number
  default     = 268435456

  validation {
    condition     = var.target_bytes >= 1
    error_message = "target_bytes must be at least 1."
  }
}

variable "max_wait_seconds" {
  description = "Seconds the oldest pending file may wait before the recover pass flushes its manifest (BatchPolicy.max_wait_s)."
  type        = number
  default     = 300

  validation {
    condition     = var.max_wait_seconds >= 0
    error_message = "max_wait_seconds must be 0 or more."
  }
}

variable "grace_seconds" {
  description = "Seconds after the end of a day (UTC) late data may still come (BatchPolicy.grace_period_s)."
  type        = number
  default     = 21600

  validation {
    condition     = var.grace_seconds >= 0
    error_message = "grace_seconds must be 0 or more."
  }
}

variable "owner_ttl_seconds" {
  description = "Seconds an execution's owner record lives without renewal; must exceed the longest step (960 s) plus the longest Retry wait (60 s)."
  type        = number
  default     = 1200

  validation {
    condition     = var.owner_ttl_seconds > 1020
    error_message = "owner_ttl_seconds must exceed 1020 (the convert state's 960 s plus a 60 s Retry wait)."
  }
}

variable "start_deadline_seconds" {
  description = "Seconds after which recover starts a CREATED manifest whose execution never started."
  type        = number
  default     = 900

  validation {
    condition     = var.start_deadline_seconds >= 0
    error_message = "start_deadline_seconds must be 0 or more."
  }
}

variable "listing_lookback_seconds" {
  description = "NDJSON2PARQUET_LISTING_LOOKBACK_SECONDS: the landing listing looks up in the state table only objects modified this long before it (older ones were looked up by an earlier listing); three daily listings by default. 0: every object (a first run; an operator's full pass can also invoke recover with {\"list_landing\": true, \"full_listing\": true})."
  type        = number
  default     = 259200

  validation {
    condition     = var.listing_lookback_seconds >= 0
    error_message = "listing_lookback_seconds must be 0 or more."
  }
}

variable "metrics_namespace" {
  description = "CloudWatch namespace of the EMF metrics of the step and scheduled functions."
  type        = string
  default     = "ndjson2parquet"
}

variable "service_name" {
  description = "Service name in the step and scheduled functions' logs and metrics."
  type        = string
  default     = "ndjson2parquet"
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
