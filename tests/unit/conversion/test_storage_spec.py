"""What executors are told about the storage: the S3 endpoint and region, keys only when given outright."""

from __future__ import annotations

import pickle

import boto3

from ndjson2parquet.conversion.spark.storage_spec import StorageSpec
from ndjson2parquet.storage import any_storage
from ndjson2parquet.storage.s3 import S3Storage


def client(**keys: str) -> object:
    return boto3.session.Session().client("s3", endpoint_url="http://127.0.0.1:1", region_name="eu-west-1", **keys)


def test_an_s3_client_given_keys_travels_as_endpoint_region_and_keys() -> None:
    spec = StorageSpec.of(any_storage(s3_client=client(aws_access_key_id="AK", aws_secret_access_key="SK")))
    assert spec == StorageSpec("http://127.0.0.1:1", "eu-west-1", ("AK", "SK", None))
    assert pickle.loads(pickle.dumps(spec)) == spec
    rebuilt = spec.build().backend("s3://b/k")
    assert isinstance(rebuilt, S3Storage) and rebuilt.client.meta.endpoint_url == "http://127.0.0.1:1"


def test_keys_that_may_expire_do_not_travel() -> None:
    session = boto3.session.Session(aws_access_key_id="AK", aws_secret_access_key="SK")
    role_like = session.client("s3", endpoint_url="http://127.0.0.1:1", region_name="eu-west-1")
    role_like._request_signer._credentials.method = "iam-role"
    assert StorageSpec.of(S3Storage(client=role_like)).s3_credentials is None


def test_no_client_means_the_standard_configuration_on_each_executor() -> None:
    assert StorageSpec.of(None) == StorageSpec()
    assert StorageSpec.of(any_storage()) == StorageSpec()
