# The Glue convert job (aws/glue/convert_job.py) with a security configuration (KMS for logs,
# bookmarks and S3; review TF-GLUE-001), a NETWORK connection into the VPC (TF-GLUE-002), every
# argument the script reads (TF-GLUE-003) and Flex as an option (TF-GLUE-006, Q21); and the Glue
# database whose tables the commit step keeps.

data "aws_subnet" "this" {
  count = var.create ? 1 : 0

  id = var.subnet_id
}

locals {
  # the arguments the entry point reads (convert_job.ARGUMENTS, but --step_document, which each run
  # gets from the state machine) and the codec; tests/unit/infrastructure checks them against the code
  job_arguments = {
    "--state"            = var.state_uri
    "--lake"             = var.lake_uri
    "--quarantine"       = coalesce(var.quarantine_uri, "${trimsuffix(var.lake_uri, "/")}/_quarantine")
    "--COMPRESSION_TYPE" = var.compression_type
    "--ENGINE"           = var.engine
  }

  # Glue's own switches
  glue_arguments = merge(
    {
      "--job-language"                     = "python"
      "--TempDir"                          = var.temp_dir
      "--enable-metrics"                   = "true"
      "--enable-observability-metrics"     = "true"
      "--enable-continuous-cloudwatch-log" = "true"
      "--job-bookmark-option"              = "job-bookmark-disable"
    },
    length(var.extra_py_files) > 0 ? { "--extra-py-files" = join(",", var.extra_py_files) } : {},
    var.additional_python_modules != "" ? { "--additional-python-modules" = var.additional_python_modules } : {},
  )
}

resource "aws_glue_catalog_database" "this" {
  count = var.create ? 1 : 0

  name         = var.database_name
  description  = "ndjson2parquet lake: one table per dataset, kept by the commit step"
  location_uri = var.lake_location
  tags         = var.tags
}

resource "aws_glue_security_configuration" "this" {
  count = var.create ? 1 : 0

  name = "${var.name}-convert"

  encryption_configuration {
    cloudwatch_encryption {
      cloudwatch_encryption_mode = "SSE-KMS"
      kms_key_arn                = var.kms_key_arn
    }
    job_bookmarks_encryption {
      job_bookmarks_encryption_mode = "CSE-KMS"
      kms_key_arn                   = var.kms_key_arn
    }
    s3_encryption {
      s3_encryption_mode = "SSE-KMS"
      kms_key_arn        = var.kms_key_arn
    }
  }
}

resource "aws_glue_connection" "vpc" {
  count = var.create ? 1 : 0

  name            = "${var.name}-vpc"
  connection_type = "NETWORK"

  physical_connection_requirements {
    availability_zone      = data.aws_subnet.this[0].availability_zone
    security_group_id_list = var.security_group_ids
    subnet_id              = var.subnet_id
  }

  tags = var.tags
}

resource "aws_glue_job" "this" {
  count = var.create ? 1 : 0

  name                   = var.job_name
  role_arn               = var.role_arn
  glue_version           = var.glue_version
  worker_type            = var.worker_type
  number_of_workers      = var.number_of_workers
  execution_class        = var.use_flex ? "FLEX" : "STANDARD"
  timeout                = var.timeout_minutes
  security_configuration = aws_glue_security_configuration.this[0].name
  connections            = [aws_glue_connection.vpc[0].name]
  default_arguments      = merge(local.glue_arguments, local.job_arguments)

  command {
    name            = "glueetl"
    script_location = var.script_location
    python_version  = "3"
  }

  execution_property {
    max_concurrent_runs = var.max_concurrent_runs
  }

  lifecycle {
    precondition {
      condition     = !var.use_flex || contains(["G.1X", "G.2X"], var.worker_type)
      error_message = "Glue Flex runs G.1X and G.2X workers only."
    }
  }

  tags = var.tags
}
