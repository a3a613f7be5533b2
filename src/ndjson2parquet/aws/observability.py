"""Powertools Logger, Metrics and Tracer for the handlers (review Q17, Q18; LAMBDA-SEC-002, LAMBDA-CQ-002).

One JSON log line per record with the Lambda context keys (request id, function), at ``LOG_LEVEL``
(INFO by default, never DEBUG in production), the package's own loggers routed through it; events
are never dumped (``log_event=False`` explicitly: it beats ``POWERTOOLS_LOGGER_LOG_EVENT``); metrics
in CloudWatch Embedded Metric Format on stdout; X-Ray traces (off outside Lambda, by Powertools).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers

PACKAGE_LOGGER = "ndjson2parquet"

Handler = Callable[[dict[str, Any], Any], Any]


@dataclass
class Observability:
    """The three Powertools utilities one handler module shares."""

    logger: Logger
    metrics: Metrics
    tracer: Tracer

    def handler(self, fn: Handler) -> Handler:
        """Wrap a Lambda handler: context keys in the logs (never the event), metrics flushed as EMF
        when it returns or raises, a trace segment (without the response: it names buckets)."""
        wrapped = self.tracer.capture_lambda_handler(capture_response=False)(fn)
        wrapped = self.metrics.log_metrics(wrapped)
        wrapped = self.logger.inject_lambda_context(log_event=False, clear_state=True)(wrapped)
        return functools.wraps(fn)(wrapped)


def observability(service: str, namespace: str, level: str) -> Observability:
    """Logger, Metrics and Tracer for ``service``; the package's loggers write through the Logger."""
    logger = Logger(service=service, level=level)
    if service != PACKAGE_LOGGER:
        logging.getLogger(PACKAGE_LOGGER)  # registered, so its config is copied (children propagate to it)
        copy_config_to_registered_loggers(source_logger=logger, log_level=level, include={PACKAGE_LOGGER})
    return Observability(logger, Metrics(namespace=namespace, service=service), Tracer(service=service))
