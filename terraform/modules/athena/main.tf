# The Athena workgroup the lake is queried through (the tables and their date projection are the
# commit step's): its settings enforced on every query, results encrypted with the KMS key.

resource "aws_athena_workgroup" "this" {
  count = var.create ? 1 : 0

  name          = var.name
  force_destroy = var.force_destroy

  configuration {
    enforce_workgroup_configuration    = true
    publish_cloudwatch_metrics_enabled = true
    bytes_scanned_cutoff_per_query     = var.bytes_scanned_cutoff_per_query

    engine_version {
      selected_engine_version = "Athena engine version 3"
    }

    result_configuration {
      output_location = var.results_location

      encryption_configuration {
        encryption_option = "SSE_KMS"
        kms_key_arn       = var.kms_key_arn
      }
    }
  }

  tags = var.tags
}
