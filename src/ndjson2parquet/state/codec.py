"""Text forms every backend stores alike."""

from __future__ import annotations

import json

from ..domain.records import SealRecord


def encode_seal(record: SealRecord | None) -> str | None:
    """A seal record as the JSON text a backend stores."""
    if record is None:
        return None
    return json.dumps({"files": record.files, "manifest_ids": list(record.manifest_ids)})


def decode_seal(text: str | None) -> SealRecord | None:
    """The seal record stored as ``text`` (None when there is none)."""
    if not text:
        return None
    data = json.loads(text)
    return SealRecord(files=dict(data.get("files", {})), manifest_ids=tuple(data.get("manifest_ids", ())))
