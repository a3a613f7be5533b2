# The buckets: landing (raw NDJSON, notifies the intake queue), lake (Parquet, quarantine, commit
# records; Intelligent-Tiering per review Q22), artifacts (Lambda package, Glue script, Athena results,
# Glue temp) and the access-log bucket the other three log into.

locals {
  buckets = var.create ? {
    landing   = "${var.name}-landing"
    lake      = "${var.name}-lake"
    artifacts = "${var.name}-artifacts"
  } : {}
}

resource "aws_s3_bucket" "access_logs" {
  #checkov:skip=CKV_AWS_18:this is the access-log bucket itself; logging it into itself would loop
  #checkov:skip=CKV_AWS_144:cross-region replication is a disaster-recovery choice left to the operator, not a default
  #checkov:skip=CKV2_AWS_62:nothing consumes events of the access logs
  count = var.create ? 1 : 0

  bucket        = "${var.name}-access-logs"
  force_destroy = var.force_destroy
  tags          = var.tags
}

resource "aws_s3_bucket" "this" {
  #checkov:skip=CKV_AWS_144:cross-region replication is a disaster-recovery choice left to the operator, not a default
  #checkov:skip=CKV2_AWS_62:the landing bucket notifies the intake queue (aws_s3_bucket_notification.landing); the lake and artifacts buckets have no consumer of events
  #checkov:skip=CKV2_AWS_61:each bucket has its lifecycle configuration (aws_s3_bucket_lifecycle_configuration.landing, .lake, .artifacts); checkov does not link them through for_each keys
  for_each = local.buckets

  bucket        = each.value
  force_destroy = var.force_destroy
  tags          = merge(var.tags, { Purpose = each.key })
}

locals {
  all_buckets = merge(
    { for k, b in aws_s3_bucket.this : k => b.id },
    var.create ? { access_logs = aws_s3_bucket.access_logs[0].id } : {},
  )
}

resource "aws_s3_bucket_public_access_block" "this" {
  for_each = local.all_buckets

  bucket                  = each.value
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "this" {
  for_each = local.all_buckets

  bucket = each.value
  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_versioning" "this" {
  for_each = local.all_buckets

  bucket = each.value
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "this" {
  for_each = local.all_buckets

  bucket = each.value
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = var.kms_key_arn
    }
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_logging" "this" {
  for_each = aws_s3_bucket.this

  bucket        = each.value.id
  target_bucket = aws_s3_bucket.access_logs[0].id
  target_prefix = "${each.key}/"
}

data "aws_iam_policy_document" "tls_only" {
  for_each = local.all_buckets

  statement {
    sid     = "DenyInsecureTransport"
    effect  = "Deny"
    actions = ["s3:*"]
    resources = [
      "arn:${data.aws_partition.current.partition}:s3:::${each.value}",
      "arn:${data.aws_partition.current.partition}:s3:::${each.value}/*",
    ]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

data "aws_partition" "current" {}

resource "aws_s3_bucket_policy" "this" {
  for_each = local.all_buckets

  bucket = each.value
  policy = data.aws_iam_policy_document.tls_only[each.key].json

  depends_on = [aws_s3_bucket_public_access_block.this]
}

resource "aws_s3_bucket_lifecycle_configuration" "landing" {
  count = var.create ? 1 : 0

  bucket = aws_s3_bucket.this["landing"].id

  rule {
    id     = "noncurrent-and-uploads"
    status = "Enabled"
    filter {}

    noncurrent_version_expiration {
      noncurrent_days = var.noncurrent_version_expiration_days
    }
    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }
  }

  dynamic "rule" {
    for_each = var.landing_archive_days == null ? [] : [var.landing_archive_days]
    content {
      id     = "archive-originals"
      status = "Enabled"
      filter {
        prefix = var.landing_prefix
      }
      transition {
        days          = rule.value
        storage_class = "GLACIER_IR"
      }
      abort_incomplete_multipart_upload {
        days_after_initiation = 7
      }
    }
  }

  dynamic "rule" {
    for_each = var.landing_expiration_days == null ? [] : [var.landing_expiration_days]
    content {
      id     = "expire-inputs"
      status = "Enabled"
      filter {
        prefix = var.landing_prefix
      }
      expiration {
        days = rule.value
      }
      abort_incomplete_multipart_upload {
        days_after_initiation = 7
      }
    }
  }

  depends_on = [aws_s3_bucket_versioning.this]
}

resource "aws_s3_bucket_lifecycle_configuration" "lake" {
  count = var.create ? 1 : 0

  bucket = aws_s3_bucket.this["lake"].id

  rule {
    id     = "intelligent-tiering"
    status = "Enabled"
    filter {}

    transition {
      days          = var.lake_intelligent_tiering_days
      storage_class = "INTELLIGENT_TIERING"
    }
    noncurrent_version_expiration {
      noncurrent_days = var.noncurrent_version_expiration_days
    }
    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }
  }

  depends_on = [aws_s3_bucket_versioning.this]
}

resource "aws_s3_bucket_lifecycle_configuration" "artifacts" {
  count = var.create ? 1 : 0

  bucket = aws_s3_bucket.this["artifacts"].id

  rule {
    id     = "noncurrent-and-uploads"
    status = "Enabled"
    filter {}

    noncurrent_version_expiration {
      noncurrent_days = var.noncurrent_version_expiration_days
    }
    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }
  }

  rule {
    id     = "temporary"
    status = "Enabled"
    filter {
      prefix = "tmp/"
    }
    expiration {
      days = 7
    }
  }

  depends_on = [aws_s3_bucket_versioning.this]
}

resource "aws_s3_bucket_lifecycle_configuration" "access_logs" {
  count = var.create ? 1 : 0

  bucket = aws_s3_bucket.access_logs[0].id

  rule {
    id     = "expire"
    status = "Enabled"
    filter {}

    expiration {
      days = var.access_log_expiration_days
    }
    noncurrent_version_expiration {
      noncurrent_days = 1
    }
    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }
  }

  depends_on = [aws_s3_bucket_versioning.this]
}

# Created objects only: a removal registers nothing (README "Intake").
resource "aws_s3_bucket_notification" "landing" {
  count = var.create && var.notification_queue_arn != null ? 1 : 0

  bucket = aws_s3_bucket.this["landing"].id

  queue {
    id            = "intake"
    queue_arn     = var.notification_queue_arn
    events        = ["s3:ObjectCreated:*"]
    filter_prefix = var.landing_prefix == "" ? null : var.landing_prefix
  }
}
