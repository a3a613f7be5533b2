"""Where bytes live: local folders and S3 prefixes behind one small port (`base.Storage`)."""

from __future__ import annotations

from typing import Any

from .base import Storage, StoredObject, is_s3
from .routing import RoutingStorage

__all__ = ["Storage", "StoredObject", "any_storage", "is_s3", "open_storage"]


def open_storage(url: str, *, s3_client: Any = None) -> Storage:
    """The backend for ``url``: S3Storage for ``s3://`` URLs (over ``s3_client`` when given, else a
    client configured the standard way: AWS_ENDPOINT_URL[_S3], AWS_* credentials, region), LocalStorage
    for anything else."""
    if is_s3(url):
        from .s3 import S3Storage  # boto3 is only imported when S3 is used

        return S3Storage(client=s3_client)
    from .local import LocalStorage

    return LocalStorage()


def any_storage(*, s3_client: Any = None) -> RoutingStorage:
    """One Storage for URLs of every kind: each call goes to the backend of its URL (local paths to
    LocalStorage, ``s3://`` to an S3Storage built on first use)."""
    return RoutingStorage(s3_client=s3_client)
