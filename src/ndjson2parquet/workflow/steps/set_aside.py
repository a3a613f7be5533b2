"""A file rejected for its content is set aside: its bytes copied, as stored, into the quarantine.

So the lake and the quarantine hold every byte that came in, and the landing zone may expire inputs
once they are converted (README "Cost"). The convert step does it after the engine returned its
ledgers, for each REJECTED ledger whose reason the file's content caused (corrupt or truncated
compression, UTF-16/32, any other `InputError` of its bytes):

``<quarantine_root>/<dataset>/date=<date>/_rejected/<manifest_id>/<name>``: the file's bytes, and
``<same>.rejected.json`` beside it: ``{"format", "source", "version", "size", "digest", "reason",
"manifest_id", "at"}``. ``<name>`` is the file's name, prefixed with its file id when two files of the
manifest share a name. Names are deterministic: a repeated step writes the same objects again.

The ledger's reason then ends with ``(set aside: <url>)``: the state store, the commit record, the run
report and `status` all say where the copy is, and `verify` checks it is there. Not copied: a file that
was gone (nothing to copy), changed since registration (its newer version is converted), not a regular
file (never opened: a pipe must not be read) or not readable (its reason says it was not set aside).
A copy that fails raises, so the step fails (transiently when the storage's error is) and is retried.
Compensation and a put-back remove the manifest's folder (`remove`).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import replace

import orjson

from ...domain import clock
from ...domain.clock import iso
from ...domain.errors import ObjectGone
from ...domain.records import CHANGED_SINCE_REGISTRATION, GONE, FileRecord, Ledger
from ...storage.base import Storage

FORMAT = "ndjson2parquet.rejected/1"
FOLDER = "_rejected"
SIDECAR = ".rejected.json"
#: reasons that are not the content's: nothing to copy, or a file that must not be read
_NOT_CONTENT = (GONE, CHANGED_SINCE_REGISTRATION)
_UNREADABLE = ("not a regular file", "input not readable")
NOT_SET_ASIDE = "not set aside: it cannot be read"
_SET_ASIDE = re.compile(r"\(set aside: (?P<url>[^()]+)\)$")


def folder(quarantine_root: str, dataset: str, date: str, manifest_id: str) -> str:
    """The folder of a manifest's set-aside files."""
    return Storage.join(quarantine_root, dataset, f"date={date}", FOLDER, manifest_id)


def set_aside_url(reason: str | None) -> str | None:
    """Where a rejection's reason says the file's bytes were set aside (None: not set aside)."""
    found = _SET_ASIDE.search(reason or "")
    return found.group("url") if found else None


def is_content_rejection(reason: str) -> bool:
    """True when the file's own bytes caused the rejection (so they are worth keeping)."""
    return not reason.startswith(_NOT_CONTENT) and not reason.startswith(_UNREADABLE)


def set_aside(
    storage: Storage,
    quarantine_root: str,
    dataset: str,
    date: str,
    manifest_id: str,
    records: Iterable[FileRecord],
    ledgers: dict[str, Ledger],
) -> dict[str, Ledger]:
    """Copy each file rejected for its content into the manifest's ``_rejected`` folder, with its
    sidecar; return the ledgers, their reasons naming the copies (the others' unchanged)."""
    records = list(records)
    names = Counter(_name(r.uri) for r in records)
    out = dict(ledgers)
    where = folder(quarantine_root, dataset, date, manifest_id)
    for record in records:
        ledger = ledgers.get(record.file_id)
        reason = ledger.rejection if ledger is not None else None
        if ledger is None or not reason or set_aside_url(reason):
            continue
        if reason.startswith(_UNREADABLE):
            out[record.file_id] = replace(ledger, rejection=f"{reason} ({NOT_SET_ASIDE})")
        elif reason.startswith(GONE):
            earlier = set_aside_url(record.error)  # a REJECTED file put back by `retry --rejected`
            if earlier:
                note = f"its earlier copy is set aside at {earlier}: put it back to convert it"
                out[record.file_id] = replace(ledger, rejection=f"{reason}; {note}")
        elif is_content_rejection(reason):
            name = _name(record.uri)
            target = Storage.join(where, name if names[name] == 1 else f"{record.file_id}-{name}")
            try:
                storage.copy(record.uri, target)
            except ObjectGone:  # deleted since it was read: nothing left to keep
                out[record.file_id] = replace(ledger, rejection=f"{reason} ({NOT_SET_ASIDE}: gone since)")
                continue
            sidecar = {
                "format": FORMAT,
                "source": record.uri,
                "version": record.version,
                "size": record.size,
                "digest": ledger.digest,
                "reason": reason,
                "manifest_id": manifest_id,
                "at": iso(clock.now()),
            }
            storage.write_bytes(target + SIDECAR, orjson.dumps(sidecar, option=orjson.OPT_INDENT_2))
            out[record.file_id] = replace(ledger, rejection=f"{reason} (set aside: {target})")
    return out


def remove(storage: Storage, quarantine_root: str, dataset: str, date: str, manifest_id: str) -> None:
    """Delete a manifest's set-aside files and sidecars (compensation, put-back); absent is fine."""
    storage.delete([o.url for o in storage.list(folder(quarantine_root, dataset, date, manifest_id))])


def _name(uri: str) -> str:
    """A safe object name from a URI: its last segment, without characters a folder cannot hold."""
    name = uri.rstrip("/").rsplit("/", 1)[-1]
    return re.sub(r"[^A-Za-z0-9._=+-]", "_", name).lstrip(".") or "file"
