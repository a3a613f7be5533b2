"""Unit tests of the AWS handlers and their services."""
