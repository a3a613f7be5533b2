"""The recover Lambda, run on a schedule (EventBridge Scheduler): one `aws.recovery.AwsRecovery` pass.

The event is ignored except ``{"list_landing": false}``, which skips the listing of the landing
prefix (a schedule may list less often than it recovers), and ``{"full_listing": true}``, which
looks up every listed object in the store whatever ``NDJSON2PARQUET_LISTING_LOOKBACK_SECONDS`` says
(an operator's full pass). Returns the pass's counts; logs one line
of them (never the event) and puts each as an EMF metric (review Q18, Q19). Settings come from the
environment (`aws.config.load_scheduled_settings`), clients are built at the first invocation;
`use` injects a runtime (tests).

Handler: ``ndjson2parquet.aws.handlers.recover.handler``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from ..observability import Observability
from ..runtime import ScheduledRuntime
from .scheduled import Scheduled

_scheduled = Scheduled("recover")


def use(runtime: ScheduledRuntime | None, obs: Observability | None = None) -> None:
    """Inject the runtime (and observability) the handler uses; None: built from the environment."""
    _scheduled.use(runtime, obs)


def run(event: Mapping[str, Any], runtime: ScheduledRuntime, obs: Observability) -> dict[str, int]:
    """One recovery pass; its counts (also logged and put as metrics)."""
    given = event if isinstance(event, Mapping) else {}
    report = runtime.recovery.run(
        list_landing=given.get("list_landing") is not False, full_listing=given.get("full_listing") is True
    )
    counts = report.counts()
    for name, value in counts.items():
        obs.metrics.add_metric(name=f"Recovery_{name}", unit=MetricUnit.Count, value=value)
    obs.logger.info("recovery pass done", extra=counts)
    for error in report.errors:
        obs.logger.warning("recovery part failed", extra={"error": error})
    return counts


def handler(event: dict[str, Any], context: Any) -> dict[str, int]:
    """Lambda entry point."""
    return _scheduled.invoke(run, event, context)
