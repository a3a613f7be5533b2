"""Typed settings with their defaults and validation. Nothing here reads the environment."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from ..domain.errors import ConfigError
from ..domain.partitioning import Partitioner

COMPRESSIONS = ("snappy", "zstd", "gzip", "lz4", "none")
MiB = 1024 * 1024


def _positive(name: str, value: float) -> None:
    if value <= 0:
        raise ConfigError(f"{name} must be positive, got {value}")


@dataclass(frozen=True)
class BatchPolicy:
    """When a manifest closes, per (dataset, date)."""

    max_files: int = 10_000  # small files: fewer, larger manifests and Parquet parts
    target_bytes: int = 256 * MiB
    max_wait_s: float = 300.0  # the oldest pending file waited this long: flush what there is
    grace_period_s: float = 6 * 3600.0  # after the end of a day (UTC), late data may still come

    def __post_init__(self) -> None:
        _positive("max_files", self.max_files)
        _positive("target_bytes", self.target_bytes)
        if self.max_wait_s < 0 or self.grace_period_s < 0:
            raise ConfigError("max_wait and grace_period must not be negative")


@dataclass(frozen=True)
class StorePolicy:
    """Limits shared by every state store."""

    page_size: int = 1000  # the largest page any listing returns
    lease_s: float = 900.0  # a RUNNING manifest not renewed for this long is recoverable
    # an embedded pipeline's owner record lives this long unless renewed (every third of it): a killed
    # run's manifests are requeued by recovery this long after it died
    owner_ttl_s: float = 30.0
    max_attempts: int = 3  # manifest failures a file survives before it is FAILED
    # runs of one manifest (starts; a put-back spends none of its files' attempts): past this, running
    # out of resources again fails the manifest, so a manifest that can never fit is not put back forever
    max_runs: int = 5
    retention_days: int = 30  # finished records expire (TTL) after this
    pending_shards: int = 8  # DynamoDB: shards of the sparse pending key

    def __post_init__(self) -> None:
        for name in (
            "page_size",
            "lease_s",
            "owner_ttl_s",
            "max_attempts",
            "max_runs",
            "retention_days",
            "pending_shards",
        ):
            _positive(name, getattr(self, name))


@dataclass(frozen=True)
class ConversionOptions:
    """How a manifest becomes Parquet."""

    compression: str = "snappy"
    row_group_rows: int = 128 * 1024
    target_file_bytes: int = 256 * MiB  # an output part closes past this many input bytes
    max_line_bytes: int = 16 * MiB
    lineage: bool = False  # add _source_file and _source_line columns
    strict: bool = False  # quarantine values that do not fit their column instead of rescuing them
    schema_file: str | None = None  # explicit schema (JSON, see conversion/schema.py): these fields' types are fixed
    # int64 columns meeting doubles become float64: parts then disagree on the type (README: what it costs readers)
    allow_widening: bool = False
    # Columns a dataset may have (conversion/schema.py): fields past these stay in _rescued_data as JSON.
    max_columns: int = 1000  # top-level columns
    max_leaf_columns: int = 10_000  # Parquet (leaf) columns, nested struct fields and list items included

    def __post_init__(self) -> None:
        if self.compression not in COMPRESSIONS:
            raise ConfigError(f"compression must be one of {', '.join(COMPRESSIONS)}, got {self.compression!r}")
        _positive("row_group_rows", self.row_group_rows)
        _positive("target_file_bytes", self.target_file_bytes)
        _positive("max_line_bytes", self.max_line_bytes)
        _positive("max_columns", self.max_columns)
        _positive("max_leaf_columns", self.max_leaf_columns)


class OnChanged(StrEnum):
    """What becomes of a file whose converted bytes changed (rewritten, truncated)."""

    REPORT = "report"  # reported and registered CHANGED: not converted
    NEW_VERSION = "new-version"  # reported and converted whole as a new version: its rows are added


@dataclass(frozen=True)
class RunOptions:
    """Everything one pipeline run needs, gathered from arguments (which beat the environment)."""

    batch: BatchPolicy = field(default_factory=BatchPolicy)
    store: StorePolicy = field(default_factory=StorePolicy)
    conversion: ConversionOptions = field(default_factory=ConversionOptions)
    partitioner: Partitioner = field(default_factory=Partitioner)
    workers: int = 2
    settle_s: float = 5.0  # a local file is registered once unmodified for this long (still being written?)
    settle_wait_s: float = 60.0  # `run` waits at most this long for files still settling, listing again
    on_changed: OnChanged = OnChanged.REPORT

    def __post_init__(self) -> None:
        _positive("workers", self.workers)
        if self.settle_s < 0 or self.settle_wait_s < 0:
            raise ConfigError("settle_s and settle_wait_s must not be negative")
        object.__setattr__(self, "on_changed", OnChanged(self.on_changed))


@dataclass(frozen=True)
class AwsSettings:
    """What every AWS handler shares (built by `aws.config`: arguments beat the env): the state store
    (``dynamodb://TABLE``), the lake and quarantine (``s3://`` prefixes; the steps need the lake, the
    intake does not), the workflow, observability, and the store and conversion policies.

    The intake adds its landing zone, dating and batching (`IntakeSettings`), the scheduled handlers
    their start deadline (`ScheduledSettings`): each field is held once.
    """

    state: str  # dynamodb://TABLE
    lake: str = ""  # s3://bucket/prefix of the Parquet lake
    quarantine: str = ""  # default: <lake>/_quarantine
    state_machine_arn: str | None = None  # the manifest workflow (the intake and recovery start it; not the steps)
    # the Glue database the commit step keeps one table per dataset in (None: no catalog kept)
    glue_database: str | None = None
    # An execution's owner record lives this long unless renewed: it must outlast the longest step
    # (the convert Lambda's 900 s timeout, its Task's TimeoutSeconds 960) plus the longest Retry wait
    # (MaxDelaySeconds 60) between two steps, or recovery would requeue a manifest still being worked on.
    owner_ttl_s: float = 1200.0
    service: str = "ndjson2parquet"  # Powertools service name (logs, metrics dimension, traces)
    metrics_namespace: str = "ndjson2parquet"
    log_level: str = "INFO"
    store: StorePolicy = field(default_factory=StorePolicy)
    conversion: ConversionOptions = field(default_factory=ConversionOptions)

    def __post_init__(self) -> None:
        if not self.state.startswith("dynamodb://") or self.state == "dynamodb://":
            raise ConfigError(f"the AWS state store must be dynamodb://TABLE, got {self.state!r}")
        for name in ("lake", "quarantine"):
            value = getattr(self, name)
            if value and not value.startswith("s3://"):
                raise ConfigError(f"{name} must be an s3:// prefix, got {value!r}")
        if self.lake and not self.quarantine:
            object.__setattr__(self, "quarantine", self.lake.rstrip("/") + "/_quarantine")
        _positive("owner_ttl_s", self.owner_ttl_s)

    def require_lake(self) -> AwsSettings:
        """These settings, once they name a lake (the steps and the scheduled handlers write one)."""
        if not self.lake:
            raise ConfigError("no lake given (an s3:// prefix)")
        return self


@dataclass(frozen=True)
class IntakeSettings:
    """The intake Lambda's: the shared `AwsSettings` (state store, workflow to start), its landing
    zone, and how files are dated and batched."""

    aws: AwsSettings
    landing: str  # s3://bucket/prefix
    partitioner: Partitioner = field(default_factory=Partitioner)
    batch: BatchPolicy = field(default_factory=BatchPolicy)
    on_changed: OnChanged = OnChanged.REPORT
    # HEAD each object an event names and register what S3 holds now (events come out of order)
    confirm_events: bool = True

    def __post_init__(self) -> None:
        if not self.landing.startswith("s3://") or len(self.landing) <= 5 or self.landing[5] == "/":
            raise ConfigError(f"the landing zone must be an s3:// url, got {self.landing!r}")
        if not self.aws.state_machine_arn:
            raise ConfigError("no state machine ARN given")
        object.__setattr__(self, "on_changed", OnChanged(self.on_changed))

    @property
    def state(self) -> str:
        """The state store (``dynamodb://TABLE``)."""
        return self.aws.state

    @property
    def state_machine_arn(self) -> str:
        """The manifest workflow each closed manifest starts."""
        return self.aws.state_machine_arn or ""

    @property
    def bucket_and_prefix(self) -> tuple[str, str]:
        """The landing bucket and prefix (no slash at either end of the prefix)."""
        bucket, _, prefix = self.landing[5:].partition("/")
        return bucket, prefix.strip("/")


@dataclass(frozen=True)
class ScheduledSettings:
    """The scheduled handlers' (recover, seal): the intake's settings (state, lake, workflow, landing
    zone, dating, batching) and how long a closed manifest may wait for its start."""

    intake: IntakeSettings
    # a CREATED manifest not started this long after it closed (or was requeued) is started by
    # recovery; shorter than this, the intake's own start may still be under way
    start_deadline_s: float = 900.0
    # the landing listing checks against the store only objects modified this long before the pass
    # (older ones were checked by an earlier listing: each costs no read); 0: every object (a first
    # run, an operator's full pass). Deployed: a few listing intervals (aws/deployment.py).
    listing_lookback_s: float = 0.0

    def __post_init__(self) -> None:
        if self.start_deadline_s < 0:
            raise ConfigError("start_deadline must not be negative")
        if self.listing_lookback_s < 0:
            raise ConfigError("listing lookback must not be negative (0: check every listed object)")
        self.intake.aws.require_lake()  # recovery compensates outputs, sealing writes markers

    @property
    def aws(self) -> AwsSettings:
        """The shared settings (state, lake, quarantine, conversion, ...)."""
        return self.intake.aws
