"""What an executor needs to build its own Storage: a Storage holds clients and cannot travel to an executor.

Executors build the same kind of storage the engine was given: local paths and ``s3://`` URLs, S3 at
the same endpoint, region and (when the engine's client was given them) credentials, else configured
the standard way on the executor (its environment or instance role).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ...storage import any_storage
from ...storage.base import Storage
from ...storage.routing import RoutingStorage

#: how botocore found credentials that never expire (passed to the client, or from the environment)
STATIC_METHODS = ("explicit", "env")


@dataclass(frozen=True, slots=True)
class StorageSpec:
    """How to build the storage on an executor (plain data: pickled into each task)."""

    s3_endpoint: str | None = None
    s3_region: str | None = None
    s3_credentials: tuple[str, str, str | None] | None = None  # access key, secret key, session token

    @classmethod
    def of(cls, storage: Storage | None) -> StorageSpec:
        """The spec of ``storage`` (None: the standard configuration on every executor)."""
        client = _s3_client(storage)
        if client is None:
            return cls()
        frozen = None
        credentials = client._request_signer._credentials  # botocore keeps them here; no public accessor
        # only keys given outright travel: a role's keys expire, and executors resolve their own (the job's role)
        if credentials is not None and getattr(credentials, "method", None) in STATIC_METHODS:
            got = credentials.get_frozen_credentials()
            frozen = (got.access_key, got.secret_key, got.token)
        return cls(client.meta.endpoint_url, client.meta.region_name, frozen)

    def build(self) -> Storage:
        """The storage on this executor."""
        if self.s3_endpoint is None:
            return any_storage()
        import boto3
        from botocore.config import Config

        access, secret, token = self.s3_credentials or (None, None, None)
        client = boto3.session.Session().client(
            "s3",
            endpoint_url=self.s3_endpoint,
            region_name=self.s3_region,
            aws_access_key_id=access,
            aws_secret_access_key=secret,
            aws_session_token=token,
            config=Config(retries={"total_max_attempts": 1, "mode": "standard"}, max_pool_connections=32),
        )
        return any_storage(s3_client=client)


def _s3_client(storage: Storage | None) -> Any:
    """The S3 client a storage was built with, if any (a routing storage's once it built one, else its own)."""
    from ...storage.s3 import S3Storage

    if isinstance(storage, RoutingStorage):
        s3 = storage._s3
        return s3.client if isinstance(s3, S3Storage) else storage._s3_client
    if isinstance(storage, S3Storage):
        return storage.client
    return None
