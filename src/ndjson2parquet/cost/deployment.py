"""The configuration the AWS deployment (the Terraform module) runs, as the cost model prices it.

Every value the Terraform sets comes from `aws.deployment` (function sizes, schedules, queue, table,
Glue, logs, landing lifecycle, VPC endpoints), which tests/unit/infrastructure compares with the
HCL's variable defaults: the cost model prices what is deployed. The batch policy is the code's own
(`config.settings.BatchPolicy`), which the Lambdas read from their environment. What is here alone
are the model's own readings of them (X-Ray's sampling rule, the KMS keys, the alarms counted).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..aws import deployment as deployed
from ..config.settings import BatchPolicy, StorePolicy

GiB = 1024**3


@dataclass(frozen=True)
class LambdaFunction:
    """One Lambda function as deployed (`aws.deployment.FUNCTION_SIZES`)."""

    name: str
    memory_mb: int
    timeout_s: int = 900


def _function(name: str) -> LambdaFunction:
    size = deployed.FUNCTION_SIZES[name]
    return LambdaFunction(name, size.memory_mb, size.timeout_s)


_SIZED = {name: _function(name) for name in deployed.FUNCTION_SIZES}


def _alarms() -> int:
    """The alarms module's alarms: errors and throttles per function, the intake queue's age, each of
    the two dead-letter queues, three execution outcomes, failed Glue runs."""
    return 2 * len(deployed.FUNCTIONS) + 1 + 2 + 3 + 1


_ALARMS = _alarms()


@dataclass(frozen=True)
class Deployment:
    """What the Terraform module deploys, as the defaults of its variables (`aws.deployment`)."""

    architecture: str = deployed.ARCHITECTURE
    runtime: str = deployed.RUNTIME
    intake: LambdaFunction = _SIZED["intake"]
    start: LambdaFunction = _SIZED["start"]
    convert: LambdaFunction = _SIZED["convert"]
    commit: LambdaFunction = _SIZED["commit"]
    compensate: LambdaFunction = _SIZED["compensate"]
    put_back: LambdaFunction = _SIZED["put_back"]
    recover: LambdaFunction = _SIZED["recover"]
    seal: LambdaFunction = _SIZED["seal"]
    sqs_batch_size: int = deployed.SQS_BATCH_SIZE
    sqs_batching_window_s: int = deployed.SQS_BATCHING_WINDOW_S
    sqs_max_receive_count: int = deployed.SQS_MAX_RECEIVE_COUNT  # then the DLQ
    # manifests above this many input bytes convert in Glue (the state machine's ChooseEngine)
    lambda_convert_max_bytes: int = 2 * GiB
    glue_version: str = deployed.GLUE_VERSION
    glue_worker_type: str = deployed.GLUE_WORKER_TYPE  # G.1X: 1 DPU a worker
    glue_workers: int = deployed.GLUE_WORKERS
    glue_flex: bool = deployed.GLUE_FLEX
    recover_every_min: int = deployed.SCHEDULES["recover"].every_min  # without the listing
    seal_every_min: int = deployed.SCHEDULES["seal"].every_min
    # the recover pass that also lists the landing prefix (events S3 lost)
    landing_listing_every_min: int = deployed.SCHEDULES["landing_listing"].every_min
    # a listing looks up in DynamoDB only the objects modified this recently (0: every object)
    listing_lookback_s: int = deployed.LISTING_LOOKBACK_S
    # the landing bucket's lifecycle: None keeps inputs (the only copy of a REJECTED file); the
    # originals move to Glacier Instant Retrieval after `landing_archive_days`
    landing_expiration_days: int | None = deployed.LANDING_EXPIRATION_DAYS
    landing_archive_days: int | None = deployed.LANDING_ARCHIVE_DAYS
    dynamodb_billing: str = "on-demand" if deployed.DYNAMODB_BILLING_MODE == "PAY_PER_REQUEST" else "provisioned"
    dynamodb_target_utilisation: float = 0.7
    state_machine_type: str = "STANDARD"
    s3_bucket_keys: bool = True  # SSE-KMS with S3 Bucket Keys: no KMS request per object
    lake_intelligent_tiering: bool = False  # review Q22: an option
    kms_keys: int = 1  # one customer managed key for the buckets, table, queues, logs and Lambda env
    log_retention_days: int = deployed.LOG_RETENTION_DAYS
    alarms: int = _ALARMS
    xray_sampling_per_s: float = 1.0  # X-Ray's default rule: the first request a second,
    xray_sampling_rate: float = 0.05  # then 5 % of the rest
    # the Lambdas run in a VPC (review TF-LAMBDA-001): gateway endpoints (free) for S3 and DynamoDB,
    # interface endpoints (priced per zone-hour) for what the functions and the Glue job call beyond
    vpc: bool = True
    interface_endpoints: tuple[str, ...] = deployed.INTERFACE_ENDPOINTS
    availability_zones: int = 2
    batch: BatchPolicy = field(default_factory=BatchPolicy)
    store: StorePolicy = field(default_factory=StorePolicy)

    @property
    def convert_timeout_s(self) -> int:
        return self.convert.timeout_s

    @property
    def recover_timeout_s(self) -> int:
        return self.recover.timeout_s

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
