"""The seal Lambda, run on a schedule (EventBridge Scheduler): one `aws.sealing.SealPass`, the
end-of-day flush and the seal of every date past its grace period (``_SUCCESS`` in the S3 lake).

The event is ignored. Returns the pass's counts; logs one line of them and the dates sealed (never
the event), and puts each count as an EMF metric. Settings come from the environment
(`aws.config.load_scheduled_settings`); `use` injects a runtime (tests).

Handler: ``ndjson2parquet.aws.handlers.seal.handler``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from ..observability import Observability
from ..runtime import ScheduledRuntime
from .scheduled import Scheduled

_scheduled = Scheduled("seal")


def use(runtime: ScheduledRuntime | None, obs: Observability | None = None) -> None:
    """Inject the runtime (and observability) the handler uses; None: built from the environment."""
    _scheduled.use(runtime, obs)


def run(event: Mapping[str, Any], runtime: ScheduledRuntime, obs: Observability) -> dict[str, int]:
    """One flush-and-seal pass; its counts (also logged and put as metrics)."""
    report = runtime.sealing.run()
    counts = report.counts()
    for name, value in counts.items():
        obs.metrics.add_metric(name=f"Seal_{name}", unit=MetricUnit.Count, value=value)
    obs.logger.info("seal pass done", extra={**counts, "dates": [s.label() for s in report.sealed]})
    for error in report.errors:
        obs.logger.warning("flush failed", extra={"error": error})
    return counts


def handler(event: dict[str, Any], context: Any) -> dict[str, int]:
    """Lambda entry point."""
    return _scheduled.invoke(run, event, context)
