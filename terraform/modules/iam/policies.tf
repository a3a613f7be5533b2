# The least-privilege policy of every role, one document each, statements written out (checkov
# evaluates literal statements only; tests/support/iam_policies.py renders them). Each resource
# list is one key of local.arns (main.tf). Generated once from a table, then kept by hand.
# Proven by tests/integration/aws/test_least_privilege.py (moto's IAM enforcement on): every action
# the end-to-end run uses is granted, every action granted is used or has its reason there.
# DeleteItem and BatchWriteItem are recover's only: abandoning a stale claim (its manifest item and
# file-list chunks) is the one state-table path that deletes or batch-writes. compensate, put_back
# and recover only list and delete in the lake (outputs, commit record, set-aside files, work
# objects): no s3:GetObject or s3:PutObject there. Nor s3:AbortMultipartUpload: they upload
# nothing, and seal's marker is one PutObject (S3Storage.write_bytes), never a multipart upload.

# intake: registers landed objects (HEAD), closes manifests, starts their executions
data "aws_iam_policy_document" "intake" {
  count = var.create ? 1 : 0

  statement {
    sid       = "StateTable"
    actions   = ["dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:ConditionCheckItem"]
    resources = local.arns.table
  }

  # a HEAD of an object deleted before its event is handled answers 404 (skipped as stale) only with
  # ListBucket; without it 403, which would fail the message until it reached the DLQ
  statement {
    sid       = "ListLanding"
    actions   = ["s3:ListBucket"]
    resources = local.arns.landing_bucket
  }

  statement {
    sid       = "ReadLanding"
    actions   = ["s3:GetObject"]
    resources = local.arns.landing_objects
  }

  statement {
    sid       = "ConsumeIntake"
    actions   = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"]
    resources = local.arns.intake_queue
  }

  statement {
    sid       = "StartExecutions"
    actions   = ["states:StartExecution"]
    resources = local.arns.state_machine
  }

  statement {
    sid       = "UseKey"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = local.arns.kms_key
  }

  statement {
    sid       = "DeadLetters"
    actions   = ["sqs:SendMessage"]
    resources = local.arns.failed_invocations
  }

  statement {
    sid       = "OwnLogGroup"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = local.arns.logs_intake
  }
}

# start: the start step: reads and claims the manifest in the state table
data "aws_iam_policy_document" "start" {
  count = var.create ? 1 : 0

  statement {
    sid       = "StateTable"
    actions   = ["dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:ConditionCheckItem"]
    resources = local.arns.table
  }

  statement {
    sid       = "UseKey"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = local.arns.kms_key
  }

  statement {
    sid       = "DeadLetters"
    actions   = ["sqs:SendMessage"]
    resources = local.arns.failed_invocations
  }

  statement {
    sid       = "OwnLogGroup"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = local.arns.logs_start
  }
}

# convert: the convert step: reads the inputs, writes parts, quarantine and the work object
data "aws_iam_policy_document" "convert" {
  count = var.create ? 1 : 0

  statement {
    sid       = "StateTable"
    actions   = ["dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:ConditionCheckItem"]
    resources = local.arns.table
  }

  statement {
    sid       = "ListLanding"
    actions   = ["s3:ListBucket"]
    resources = local.arns.landing_bucket
  }

  statement {
    sid       = "ReadLanding"
    actions   = ["s3:GetObject"]
    resources = local.arns.landing_objects
  }

  statement {
    sid       = "ListLake"
    actions   = ["s3:ListBucket"]
    resources = local.arns.lake_bucket
  }

  statement {
    sid       = "WriteLake"
    actions   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"]
    resources = local.arns.lake_objects
  }

  statement {
    sid       = "UseKey"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = local.arns.kms_key
  }

  statement {
    sid       = "DeadLetters"
    actions   = ["sqs:SendMessage"]
    resources = local.arns.failed_invocations
  }

  statement {
    sid       = "OwnLogGroup"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = local.arns.logs_convert
  }
}

# commit: the commit step: commit record, outputs, the dataset's Glue table
data "aws_iam_policy_document" "commit" {
  count = var.create ? 1 : 0

  statement {
    sid       = "StateTable"
    actions   = ["dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:ConditionCheckItem"]
    resources = local.arns.table
  }

  statement {
    sid       = "ListLake"
    actions   = ["s3:ListBucket"]
    resources = local.arns.lake_bucket
  }

  statement {
    sid       = "WriteLake"
    actions   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"]
    resources = local.arns.lake_objects
  }

  statement {
    sid       = "KeepTables"
    actions   = ["glue:GetTable", "glue:CreateTable", "glue:UpdateTable"]
    resources = local.arns.glue_catalog
  }

  statement {
    sid       = "UseKey"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = local.arns.kms_key
  }

  statement {
    sid       = "DeadLetters"
    actions   = ["sqs:SendMessage"]
    resources = local.arns.failed_invocations
  }

  statement {
    sid       = "OwnLogGroup"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = local.arns.logs_commit
  }
}

# compensate: the compensate step: removes outputs and set-aside files, files back to PENDING
data "aws_iam_policy_document" "compensate" {
  count = var.create ? 1 : 0

  statement {
    sid       = "StateTable"
    actions   = ["dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:ConditionCheckItem"]
    resources = local.arns.table
  }

  statement {
    sid       = "ListLake"
    actions   = ["s3:ListBucket"]
    resources = local.arns.lake_bucket
  }

  statement {
    sid       = "WriteLake"
    actions   = ["s3:DeleteObject"]
    resources = local.arns.lake_objects
  }

  statement {
    sid       = "UseKey"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = local.arns.kms_key
  }

  statement {
    sid       = "DeadLetters"
    actions   = ["sqs:SendMessage"]
    resources = local.arns.failed_invocations
  }

  statement {
    sid       = "OwnLogGroup"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = local.arns.logs_compensate
  }
}

# put_back: the put_back step: removes outputs and set-aside files, requeues the manifest
data "aws_iam_policy_document" "put_back" {
  count = var.create ? 1 : 0

  statement {
    sid       = "StateTable"
    actions   = ["dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:ConditionCheckItem"]
    resources = local.arns.table
  }

  statement {
    sid       = "ListLake"
    actions   = ["s3:ListBucket"]
    resources = local.arns.lake_bucket
  }

  statement {
    sid       = "WriteLake"
    actions   = ["s3:DeleteObject"]
    resources = local.arns.lake_objects
  }

  statement {
    sid       = "UseKey"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = local.arns.kms_key
  }

  statement {
    sid       = "DeadLetters"
    actions   = ["sqs:SendMessage"]
    resources = local.arns.failed_invocations
  }

  statement {
    sid       = "OwnLogGroup"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = local.arns.logs_put_back
  }
}

# recover: recovery: requeues, re-drives executions, lists the landing zone (the catalog is the commit step's)
data "aws_iam_policy_document" "recover" {
  count = var.create ? 1 : 0

  statement {
    sid       = "StateTable"
    actions   = ["dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem", "dynamodb:ConditionCheckItem"]
    resources = local.arns.table
  }

  statement {
    sid       = "ListLanding"
    actions   = ["s3:ListBucket"]
    resources = local.arns.landing_bucket
  }

  statement {
    sid       = "ReadLanding"
    actions   = ["s3:GetObject"]
    resources = local.arns.landing_objects
  }

  statement {
    sid       = "ListLake"
    actions   = ["s3:ListBucket"]
    resources = local.arns.lake_bucket
  }

  statement {
    sid       = "WriteLake"
    actions   = ["s3:DeleteObject"]
    resources = local.arns.lake_objects
  }


  statement {
    sid       = "StartExecutions"
    actions   = ["states:StartExecution"]
    resources = local.arns.state_machine
  }

  statement {
    sid       = "DescribeExecutions"
    actions   = ["states:DescribeExecution"]
    resources = local.arns.executions
  }

  statement {
    sid       = "UseKey"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = local.arns.kms_key
  }

  statement {
    sid       = "DeadLetters"
    actions   = ["sqs:SendMessage"]
    resources = local.arns.failed_invocations
  }

  statement {
    sid       = "OwnLogGroup"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = local.arns.logs_recover
  }
}

# seal: seal: flushes past-grace dates, starts their executions, writes _SUCCESS
data "aws_iam_policy_document" "seal" {
  count = var.create ? 1 : 0

  statement {
    sid       = "StateTable"
    actions   = ["dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:ConditionCheckItem"]
    resources = local.arns.table
  }

  statement {
    sid       = "ListLake"
    actions   = ["s3:ListBucket"]
    resources = local.arns.lake_bucket
  }

  statement {
    sid       = "WriteLake"
    actions   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]
    resources = local.arns.lake_objects
  }

  statement {
    sid       = "StartExecutions"
    actions   = ["states:StartExecution"]
    resources = local.arns.state_machine
  }

  statement {
    sid       = "UseKey"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = local.arns.kms_key
  }

  statement {
    sid       = "DeadLetters"
    actions   = ["sqs:SendMessage"]
    resources = local.arns.failed_invocations
  }

  statement {
    sid       = "OwnLogGroup"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = local.arns.logs_seal
  }
}

# state_machine: the workflow: invokes the step functions, runs the Glue job, notifies failures
data "aws_iam_policy_document" "state_machine" {
  count = var.create ? 1 : 0

  statement {
    sid       = "InvokeSteps"
    actions   = ["lambda:InvokeFunction"]
    resources = local.arns.step_functions
  }

  statement {
    sid       = "RunGlueJob"
    actions   = ["glue:StartJobRun", "glue:GetJobRun", "glue:GetJobRuns", "glue:BatchStopJobRun"]
    resources = local.arns.glue_job
  }

  statement {
    sid       = "NotifyFailures"
    actions   = ["sns:Publish"]
    resources = local.arns.failure_topic
  }

  statement {
    sid       = "UseKey"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = local.arns.kms_key
  }
}

# glue_job: the Glue convert job: the convert step with more memory
data "aws_iam_policy_document" "glue_job" {
  count = var.create ? 1 : 0

  statement {
    sid       = "StateTable"
    actions   = ["dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:ConditionCheckItem"]
    resources = local.arns.table
  }

  statement {
    sid       = "ListLanding"
    actions   = ["s3:ListBucket"]
    resources = local.arns.landing_bucket
  }

  statement {
    sid       = "ReadLanding"
    actions   = ["s3:GetObject"]
    resources = local.arns.landing_objects
  }

  statement {
    sid       = "ListLake"
    actions   = ["s3:ListBucket"]
    resources = local.arns.lake_bucket
  }

  statement {
    sid       = "WriteLake"
    actions   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"]
    resources = local.arns.lake_objects
  }

  statement {
    sid       = "ReadScript"
    actions   = ["s3:GetObject"]
    resources = local.arns.glue_script_objects
  }

  statement {
    sid       = "GlueTemp"
    actions   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]
    resources = local.arns.glue_temp_objects
  }

  statement {
    sid       = "ReadConnection"
    actions   = ["glue:GetConnection"]
    resources = local.arns.glue_connection
  }

  statement {
    sid       = "GlueLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents", "logs:AssociateKmsKey"]
    resources = local.arns.glue_logs
  }

  statement {
    sid       = "UseKey"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = local.arns.kms_key
  }
}

# schedules: EventBridge Scheduler: invokes recover and seal
data "aws_iam_policy_document" "schedules" {
  count = var.create ? 1 : 0

  statement {
    sid       = "InvokeScheduled"
    actions   = ["lambda:InvokeFunction"]
    resources = local.arns.scheduled_functions
  }

  statement {
    sid       = "DeadLetters"
    actions   = ["sqs:SendMessage"]
    resources = local.arns.failed_invocations
  }

  statement {
    sid       = "UseKey"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = local.arns.kms_key
  }
}
