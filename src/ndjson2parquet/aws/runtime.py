"""What a warm Lambda keeps between invocations: SDK clients (built on first use, injectable) and
the services built on them (state store, storage, engine, commit records)."""

from __future__ import annotations

import threading
from functools import cached_property
from typing import TYPE_CHECKING, Any

from ..backoff import Backoff
from ..config.settings import AwsSettings, ScheduledSettings
from ..conversion.engine import Engine
from ..domain.records import Manifest
from ..lake.catalog import Catalog
from ..lake.record_store import StorageCommitRecords
from ..state import open_store
from ..state.base import StateStore
from ..storage import any_storage
from ..storage.routing import RoutingStorage
from ..workflow.steps import StepContext

if TYPE_CHECKING:
    from .recovery import AwsRecovery, Executions
    from .sealing import SealPass


class AwsClients:
    """boto3 clients by service name, each built when first asked for (a cold start pays only for
    the clients its handler uses) and reused by later invocations; pass any of them to inject it.

    Clients are built the standard way (the Lambda role's credentials, AWS_REGION, AWS_ENDPOINT_URL*).
    """

    def __init__(self, **clients: Any) -> None:
        self._clients: dict[str, Any] = dict(clients)
        self._lock = threading.Lock()

    def get(self, service: str) -> Any:
        """The client of ``service`` (``dynamodb``, ``s3``, ``stepfunctions``, ...)."""
        with self._lock:
            if service not in self._clients:
                import boto3  # only when a client is not injected

                self._clients[service] = boto3.client(service)
            return self._clients[service]


class StepRuntime:
    """The services the steps run against, built once from settings and clients."""

    def __init__(
        self, settings: AwsSettings, clients: AwsClients, engine: Engine | None = None, backoff: Backoff | None = None
    ) -> None:
        self.settings, self.clients = settings, clients
        # short in-process retries only: the state machine's Retry does the long waits, without a
        # Lambda billed for sleeping (and within the step's timeout)
        self.backoff = backoff or Backoff(base=0.2, cap=2.0, attempts=2)
        if engine is not None:
            self.__dict__["engine"] = engine  # injected: the cached property is not built

    @cached_property
    def store(self) -> StateStore:
        """The DynamoDB state store."""
        return open_store(self.settings.state, policy=self.settings.store, client=self.clients.get("dynamodb"))

    @cached_property
    def storage(self) -> RoutingStorage:
        """Storage for every URL the steps meet (inputs, parts, quarantine, records, work objects)."""
        return any_storage(s3_client=self.clients.get("s3"))

    @cached_property
    def engine(self) -> Engine:
        """The Arrow engine, reading inputs and writing parts through the storage port."""
        from ..conversion.arrow.arrow_engine import ArrowEngine  # pyarrow: only the handlers that convert

        return ArrowEngine(storage=self.storage)

    @cached_property
    def catalog(self) -> Catalog | None:
        """The Glue Data Catalog the commit keeps in step (None without ``glue_database``)."""
        if not self.settings.glue_database:
            return None
        from .catalog import GlueCatalog

        return GlueCatalog(self.clients.get("glue"), self.settings.glue_database, self.settings.lake)

    def sync_catalog(self, manifest: Manifest) -> bool:
        """Bring the committed manifest's dataset table up to its stored schema; True when it wrote."""
        if self.catalog is None:
            return False
        stored = self.store.get_schema(manifest.dataset)
        if stored is None:
            return False  # nothing typed yet: the next commit with a schema creates the table
        return self.catalog.ensure_table(manifest.dataset, stored[1], stored[0], manifest.date)

    def context(self) -> StepContext:
        """The steps' context."""
        records = StorageCommitRecords(self.settings.lake, self.storage)
        return StepContext(self.store, self.engine, self.storage, records, self.backoff)


class ScheduledRuntime:
    """What the scheduled handlers (recover, seal) run against, built once from settings and clients:
    the state store, S3, Step Functions, and an executor that settles and compensates."""

    def __init__(self, settings: ScheduledSettings, clients: AwsClients, engine: Engine | None = None) -> None:
        self.settings, self.clients = settings, clients
        self.steps = StepRuntime(settings.aws, clients, engine=engine)

    @cached_property
    def executions(self) -> Executions:
        """The state machine's executions (Step Functions client on first use)."""
        from .recovery import Executions

        return Executions(self.clients.get("stepfunctions"), self.settings.intake.state_machine_arn)

    @cached_property
    def recovery(self) -> AwsRecovery:
        """The recovery pass (`aws.recovery`)."""
        from ..workflow.executor import Layout, ManifestExecutor
        from .recovery import AwsRecovery

        aws = self.settings.aws
        executor = ManifestExecutor(
            self.steps.store,
            _LazyEngine(self.steps),
            Layout(aws.lake, aws.quarantine),
            aws.conversion,
            owner="aws-recovery",
            backoff=self.steps.backoff,
            commit_records=StorageCommitRecords(aws.lake, self.steps.storage),
            storage=self.steps.storage,
        )
        return AwsRecovery(self.steps.store, self.executions, self.settings, executor, landing_storage=self._s3())

    @cached_property
    def sealing(self) -> SealPass:
        """The flush-and-seal pass (`aws.sealing`)."""
        from .sealing import SealPass

        return SealPass(self.steps.store, self.executions, self.settings, lake_storage=self._s3())

    def _s3(self) -> Any:
        from ..storage.s3 import S3Storage

        return S3Storage(client=self.clients.get("s3"))


class _LazyEngine(Engine):
    """The Arrow engine, built when a compensation first removes outputs (pyarrow is not imported by a
    recovery pass that compensates nothing)."""

    def __init__(self, runtime: StepRuntime) -> None:
        self._runtime = runtime

    def convert(self, job: Any) -> Any:
        return self._runtime.engine.convert(job)

    def remove_outputs(self, job: Any) -> None:
        self._runtime.engine.remove_outputs(job)
