"""The configuration the AWS deployment (the Terraform module) runs, in one typed place.

The cost model prices exactly this; the Terraform module's variable defaults must say the same (a
contract test can compare `DEPLOYMENT` with them). The batch policy is the code's own
(`config.settings.BatchPolicy`), which the Lambdas read from their environment.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..config.settings import BatchPolicy, StorePolicy

GiB = 1024**3


@dataclass(frozen=True)
class LambdaFunction:
    """One Lambda function as deployed (Arm, python3.11)."""

    name: str
    memory_mb: int


@dataclass(frozen=True)
class Deployment:
    """What the Terraform module deploys, as the defaults of its variables."""

    architecture: str = "arm64"
    runtime: str = "python3.11"
    intake: LambdaFunction = LambdaFunction("intake", 512)
    start: LambdaFunction = LambdaFunction("start", 512)
    convert: LambdaFunction = LambdaFunction("convert", 3008)
    commit: LambdaFunction = LambdaFunction("commit", 512)
    compensate: LambdaFunction = LambdaFunction("compensate", 512)
    put_back: LambdaFunction = LambdaFunction("put_back", 512)
    recover: LambdaFunction = LambdaFunction("recover", 512)
    seal: LambdaFunction = LambdaFunction("seal", 512)
    convert_timeout_s: int = 900  # the state machine's ConvertInLambda waits 960 s
    recover_timeout_s: int = 900  # a landing listing must fit in it
    sqs_batch_size: int = 100
    sqs_batching_window_s: int = 20
    sqs_max_receive_count: int = 5  # then the DLQ
    # manifests above this many input bytes convert in Glue (the state machine's ChooseEngine)
    lambda_convert_max_bytes: int = 2 * GiB
    glue_version: str = "5.0"
    glue_worker_type: str = "G.1X"  # 1 DPU a worker
    glue_workers: int = 2
    glue_flex: bool = False
    recover_every_min: int = 5
    seal_every_min: int = 15
    # the recover pass that also lists the landing prefix (events S3 lost): once a day; the
    # five-minute passes run with {"list_landing": false} (a listing reads every landing object)
    landing_listing_every_min: int = 1440
    # the landing bucket's lifecycle rule expires inputs after this many days: a listing reads every
    # landing object and must fit in the recover Lambda (3 days of 500,000 files: about 600 s); the
    # lake keeps the data, the state keeps the ledger
    landing_expiration_days: int = 3
    dynamodb_billing: str = "on-demand"  # or "provisioned" (autoscaling, target utilisation below)
    dynamodb_target_utilisation: float = 0.7
    state_machine_type: str = "STANDARD"
    s3_bucket_keys: bool = True  # SSE-KMS with S3 Bucket Keys: no KMS request per object
    lake_intelligent_tiering: bool = False  # review Q22: an option
    kms_keys: int = 1  # one customer managed key for the buckets, table, queues, logs and Lambda env
    log_retention_days: int = 30
    alarms: int = 10
    xray_sampling_per_s: float = 1.0  # X-Ray's default rule: the first request a second,
    xray_sampling_rate: float = 0.05  # then 5 % of the rest
    # the Lambdas run in a VPC (review TF-LAMBDA-001): gateway endpoints (free) for S3 and DynamoDB,
    # interface endpoints for what the functions call beyond them
    vpc: bool = True
    interface_endpoints: tuple[str, ...] = ("states", "glue", "xray")
    availability_zones: int = 2
    batch: BatchPolicy = field(default_factory=BatchPolicy)
    store: StorePolicy = field(default_factory=StorePolicy)

    def functions(self) -> list[LambdaFunction]:
        """Every Lambda function deployed."""
        return [
            self.intake,
            self.start,
            self.convert,
            self.commit,
            self.compensate,
            self.put_back,
            self.recover,
            self.seal,
        ]


DEPLOYMENT = Deployment()
