"""The steps' documents: one small JSON object in and out of every step.

A document names the manifest, its owner, the run (how many times the manifest was started when
this owner started it), where the lake and the quarantine are, the conversion options, what the
last step saw (`state`) and what comes next (`next`). Whatever grows with the manifest (its files'
ledgers, its outputs, per-file quarantine counts) is never in it: the convert step writes it as a
work object in the lake (see `work`) and the document carries that object's URL. So a document
stays a few hundred bytes for a manifest of any size (Step Functions allows 256 KB).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from ...config.settings import ConversionOptions
from ...domain.errors import TerminalError

FORMAT = "ndjson2parquet.step/1"
ERROR_CHARS = 2000  # as much of an error as the state store keeps
_OPTION_FIELDS = {f.name for f in dataclasses.fields(ConversionOptions)}


class BadStepDocument(TerminalError):
    """A document a step cannot read (another format, a field missing or of the wrong type)."""


class Next(StrEnum):
    """What a workflow runs after a step."""

    START = "start"
    CONVERT = "convert"
    COMMIT = "commit"
    FAIL = "fail"  # the attempt failed: fail and compensate
    COMPENSATE = "compensate"
    PUT_BACK = "put_back"  # resources ran out: requeue without spending an attempt
    END = "end"


class Seen(StrEnum):
    """The manifest as the last step left or found it."""

    NEW = "NEW"  # not started by this owner yet
    RUNNING = "RUNNING"
    CONVERTED = "CONVERTED"  # RUNNING, its parts written and its work object with them
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    COMPENSATED = "COMPENSATED"
    REQUEUED = "REQUEUED"  # put back: CREATED again, no attempt spent
    SKIPPED = "SKIPPED"  # someone else holds it (or took it over): this workflow leaves it alone


@dataclass(frozen=True, slots=True)
class StepDocument:
    """What travels between the steps of one manifest's workflow (see the module docstring)."""

    manifest_id: str
    owner: str  # `lease.Owner` as stored in lease_owner
    lake: str  # the output root (a folder or an s3:// prefix)
    quarantine: str
    owner_ttl_s: float = 30.0  # how long the owner's record lives unless a step's heartbeat renews it
    run: int = 0  # the manifest's run this owner started (0: not started yet)
    state: Seen = Seen.NEW
    next: Next = Next.START
    work: str | None = None  # URL of the conversion's work object
    stats: dict[str, object] = field(default_factory=dict)  # the manifest's totals (rows, bytes, quarantine path)
    error: str | None = None
    options: dict[str, object] = field(default_factory=dict)  # ConversionOptions fields that differ from defaults
    format: str = FORMAT

    @classmethod
    def begin(
        cls,
        manifest_id: str,
        owner: str,
        lake: str,
        quarantine: str,
        options: ConversionOptions | None = None,
        owner_ttl_s: float = 30.0,
    ) -> StepDocument:
        """The document a workflow starts a manifest with."""
        return cls(manifest_id, owner, lake, quarantine, owner_ttl_s=owner_ttl_s, options=options_dict(options))

    def then(self, state: Seen, next_: Next, **changes: Any) -> StepDocument:
        """This document after a step: what it saw, what comes next, and any other field changed."""
        error = changes.pop("error", self.error)
        return dataclasses.replace(
            self, state=state, next=next_, error=None if error is None else error[:ERROR_CHARS], **changes
        )

    @property
    def conversion_options(self) -> ConversionOptions:
        """The conversion options the document carries."""
        return ConversionOptions(**{k: v for k, v in self.options.items() if k in _OPTION_FIELDS})

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (what a Lambda returns, a Step Functions state passes on)."""
        return {
            "format": self.format,
            "manifest_id": self.manifest_id,
            "owner": self.owner,
            "owner_ttl_s": self.owner_ttl_s,
            "run": self.run,
            "lake": self.lake,
            "quarantine": self.quarantine,
            "state": self.state.value,
            "next": self.next.value,
            "work": self.work,
            "stats": dict(self.stats),
            "error": self.error,
            "options": dict(self.options),
        }

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> StepDocument:
        """Read a document; BadStepDocument when it is not one of ours."""
        if not isinstance(doc, Mapping) or doc.get("format") != FORMAT:
            found = doc.get("format") if isinstance(doc, Mapping) else type(doc).__name__
            raise BadStepDocument(f"not a {FORMAT} document (format {found!r})")
        try:
            return cls(
                manifest_id=str(doc["manifest_id"]),
                owner=str(doc["owner"]),
                lake=str(doc["lake"]),
                quarantine=str(doc["quarantine"]),
                owner_ttl_s=float(doc.get("owner_ttl_s", 30.0)),
                run=int(doc.get("run", 0)),
                state=Seen(doc.get("state", Seen.NEW.value)),
                next=Next(doc.get("next", Next.START.value)),
                work=doc.get("work"),
                stats=dict(doc.get("stats") or {}),
                error=doc.get("error"),
                options=dict(doc.get("options") or {}),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise BadStepDocument(f"unreadable step document ({type(exc).__name__}: {exc})") from exc


def options_dict(options: ConversionOptions | None) -> dict[str, object]:
    """The options that differ from the defaults (a document stays short)."""
    if options is None:
        return {}
    default = ConversionOptions()
    return {
        f.name: getattr(options, f.name)
        for f in dataclasses.fields(options)
        if getattr(options, f.name) != getattr(default, f.name)
    }
