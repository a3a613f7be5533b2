"""Where bytes live: local folders and S3 prefixes behind one small port (`base.Storage`)."""
