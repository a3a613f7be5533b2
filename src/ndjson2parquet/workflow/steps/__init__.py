"""The manifest Saga as steps: plain functions, a small JSON document in and out of each.

``start → convert → commit``, or ``fail`` (→ compensate), or ``put_back`` when resources ran out;
``compensate`` alone is what recovery runs for a FAILED manifest. Each step is idempotent (twice,
or again after a crash part way, leaves what one run leaves), so a Lambda handler, a Step Functions
task, a Glue job and the embedded executor (`workflow.executor`) run the same steps. A document's
``next`` names the step to run after it ("end": none). What grows with the manifest travels by
reference: the convert step writes a work object in the lake (`work`), the document names it.

The JSON-level functions here take and return dicts (`StepDocument.to_json`); the typed ones
(`begin.start`, `begin.convert`, `finish.commit`, ...) also hand the embedded executor what it
holds in memory.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from . import begin, finish
from .context import StepContext
from .document import BadStepDocument, Next, Seen, StepDocument
from .work import BadWorkObject, Conversion, WorkObjects, work_folder, work_url

__all__ = [
    "BadStepDocument",
    "BadWorkObject",
    "Conversion",
    "Next",
    "Seen",
    "StepContext",
    "StepDocument",
    "WorkObjects",
    "commit",
    "compensate",
    "convert",
    "fail",
    "put_back",
    "start",
    "work_folder",
    "work_url",
]


def start(ctx: StepContext, doc: Mapping[str, Any]) -> dict[str, Any]:
    """Announce the owner and start the manifest (see `begin.start`)."""
    return begin.start(ctx, StepDocument.from_json(doc)).to_json()


def convert(ctx: StepContext, doc: Mapping[str, Any]) -> dict[str, Any]:
    """Convert the started manifest and write its work object (see `begin.convert`)."""
    return begin.convert(ctx, StepDocument.from_json(doc)).doc.to_json()


def commit(ctx: StepContext, doc: Mapping[str, Any]) -> dict[str, Any]:
    """Commit the converted manifest from its work object (see `finish.commit`)."""
    return finish.commit(ctx, StepDocument.from_json(doc)).doc.to_json()


def fail(ctx: StepContext, doc: Mapping[str, Any]) -> dict[str, Any]:
    """Fail the manifest with the document's error and compensate (see `finish.fail`)."""
    return finish.fail(ctx, StepDocument.from_json(doc)).to_json()


def compensate(ctx: StepContext, doc: Mapping[str, Any]) -> dict[str, Any]:
    """Compensate a FAILED manifest (see `finish.compensate`)."""
    return finish.compensate(ctx, StepDocument.from_json(doc)).to_json()


def put_back(ctx: StepContext, doc: Mapping[str, Any]) -> dict[str, Any]:
    """Requeue a manifest whose run ran out of resources (see `finish.put_back`)."""
    return finish.put_back(ctx, StepDocument.from_json(doc)).to_json()
