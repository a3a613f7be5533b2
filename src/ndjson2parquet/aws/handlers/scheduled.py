"""What the scheduled handlers (recover, seal) share: a runtime and Powertools built at the first
invocation (not at import), injectable, and the handler wrapper (context keys in the logs, never
the event; metrics flushed as EMF; a trace)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from aws_lambda_powertools.metrics import MetricUnit

from ...config import env
from ...domain.errors import ConfigError
from ..config import load_scheduled_settings
from ..errors import StepTerminalError
from ..observability import Observability, observability
from ..runtime import AwsClients, ScheduledRuntime

T = TypeVar("T")
Pass = Callable[[Mapping[str, Any], ScheduledRuntime, Observability], T]


class Scheduled:
    """One scheduled handler's warm state."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.runtime: ScheduledRuntime | None = None
        self.obs: Observability | None = None

    def use(self, runtime: ScheduledRuntime | None, obs: Observability | None = None) -> None:
        """Inject a runtime and observability (None: built from the environment at the next call)."""
        self.runtime, self.obs = runtime, obs

    def invoke(self, run: Pass[T], event: Mapping[str, Any], context: Any) -> T:
        """Run ``run`` as the Lambda: Powertools around it, the runtime built on first use. A
        settings error is terminal (StepTerminalError): the schedule's retries cannot fix it."""
        obs = self._observability()

        def body(event: dict[str, Any], context: Any) -> T:
            obs.metrics.add_dimension(name="pass", value=self.name)
            obs.metrics.add_metric(name="ScheduledInvocations", unit=MetricUnit.Count, value=1)
            try:
                if self.runtime is None:
                    self.runtime = ScheduledRuntime(load_scheduled_settings(), AwsClients())
                return run(event, self.runtime, obs)
            except ConfigError as exc:
                raise StepTerminalError(f"{self.name}: {exc}") from exc

        return obs.handler(body)(dict(event), context)

    def _observability(self) -> Observability:
        if self.obs is None:
            service = env.read(env.SERVICE_NAME, "ndjson2parquet") or "ndjson2parquet"
            namespace = env.read(env.METRICS_NAMESPACE, "ndjson2parquet") or "ndjson2parquet"
            level = (env.read(env.LOG_LEVEL, "INFO") or "INFO").upper()
            self.obs = observability(service, namespace, level)
        return self.obs
