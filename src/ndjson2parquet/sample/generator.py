"""Realistic NDJSON sample data: event records spread over days, key layouts and compression.

The output exercises what real landing zones throw at the pipeline: the three date layouts the
partitioner reads (`2026-11-25/…`, `2026/11/25/…`, `year=2026/month=11/day=25/…`), plain and gzipped
files, unicode beyond Latin-1, nested objects, empty arrays, nulls and objects that grow new keys.
Output is byte-for-byte deterministic for a seed (gzip headers carry no name and no mtime), and
memory does not grow with the data size: records are produced and written in bounded chunks.
"""

from __future__ import annotations

import datetime as dt
import gzip
import random
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, BinaryIO

import orjson

from ..domain.errors import ConfigError

DEFAULT_START = dt.date(2026, 11, 25)

# Records serialized and written per write() call: bounds memory whatever the file size.
_CHUNK_RECORDS = 2048
_DAY_US = 86_400_000_000
# Level 6 is what `gzip` and most log shippers use by default, so compressed sizes look real.
_GZIP_LEVEL = 6

_TYPES = ("view",) * 8 + ("click",) * 5 + ("purchase",) * 2 + ("signup", "logout")
_SOURCES = ("web", "ios", "android", "api")
_FIRST = (
    "Ana", "José", "Zoë", "François", "Björn", "Łukasz", "Søren", "Chloé", "İlkay", "Ngọc",
    "Priya", "Olu", "Émile", "Дмитрий", "Αλέξης", "محمد", "陽翔", "王芳", "민준", "Ana María",
)  # fmt: skip
_LAST = (
    "Smith", "Müller", "García", "Núñez", "Østergaard", "Kowalczyk", "Nguyễn", "Dubois", "Çelik",
    "Ødegård", "O'Brien", "Сидоров", "Παπαδόπουλος", "山田", "李", "김", "Okafor", "Sánchez",
)  # fmt: skip
_EMOJI = ("🎉", "🚀", "😀", "👩‍💻", "🇵🇹", "❤️")
_TAGS = (
    "new", "returning", "mobile", "desktop", "promo", "beta", "vip", "trial", "eu", "us", "apac",
    "café", "naïve", "日本", "🔥", "a/b", "tag with spaces", "UPPER",
)  # fmt: skip
_REFERRERS = ("https://example.com/", "https://exämple.org/päge?q=ü", "android-app://com.example", "")
_LAYOUTS = ("dash", "slash", "hive")


@dataclass(frozen=True)
class GenerateSummary:
    """What `generate` wrote.

    `bytes` is the size on disk (compressed for `.gz` files); `per_day` maps YYYY-MM-DD to the
    number of records whose `ts` (and key) fall on that day, in date order.
    """

    files: int
    records: int
    bytes: int
    gzip_files: int
    per_day: Mapping[str, int] = field(hash=False)
    output: Path


@dataclass(frozen=True)
class _FilePlan:
    index: int
    day: dt.date
    slot: int  # position of the file among its day's files: its time window within the day
    slots: int  # how many files its day has
    records: int
    gzipped: bool
    relpath: str


def _validate(output: Path, files: int, records: int, days: int, gzip_ratio: float) -> None:
    if files < 1:
        raise ConfigError(f"--files must be at least 1, got {files}")
    if records < 0:
        raise ConfigError(f"--records must not be negative, got {records}")
    if days < 1:
        raise ConfigError(f"--days must be at least 1, got {days}")
    if not 0.0 <= gzip_ratio <= 1.0:  # also rejects NaN
        raise ConfigError(f"--gzip-ratio must be between 0 and 1, got {gzip_ratio}")
    if output.exists() and not output.is_dir():
        raise ConfigError(f"output {output} exists and is not a directory")


def _relpath(layout: str, day: dt.date, index: int, gzipped: bool) -> str:
    suffix = ".ndjson.gz" if gzipped else ".ndjson"
    # The file name carries no date of its own, so the directory alone decides the partition.
    name = f"events-{index:06d}{suffix}"
    if layout == "dash":
        return f"{day.isoformat()}/{name}"
    if layout == "slash":
        return f"{day.year:04d}/{day.month:02d}/{day.day:02d}/{name}"
    return f"year={day.year:04d}/month={day.month:02d}/day={day.day:02d}/{name}"


def _plan(files: int, records: int, days: int, gzip_ratio: float, start: dt.date) -> Iterator[_FilePlan]:
    """Files in contiguous blocks per day; layouts rotate by file; gzip spread evenly by ratio."""
    base, extra = divmod(records, files)
    for index in range(files):
        day_index = index * days // files
        # First and one-past-last file index of this day, to place the file's time window.
        first = -(-day_index * files // days)
        last = -(-(day_index + 1) * files // days)
        # Exactly floor(files * ratio) gzipped files, evenly interleaved rather than clumped.
        gzipped = int((index + 1) * gzip_ratio) > int(index * gzip_ratio)
        day = start + dt.timedelta(days=day_index)
        yield _FilePlan(
            index=index,
            day=day,
            slot=index - first,
            slots=max(1, last - first),
            # The remainder is spread like the gzip files, so no day is favoured.
            records=base + ((index + 1) * extra // files - index * extra // files),
            gzipped=gzipped,
            relpath=_relpath(_LAYOUTS[index % len(_LAYOUTS)], day, index, gzipped),
        )


class _RecordMaker:
    """Builds event records from one seeded random stream (pools are precomputed: speed matters)."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        names = [f"{f} {la}" for f in _FIRST for la in _LAST]
        # A few names carry an emoji: 4-byte UTF-8 and multi-codepoint sequences in real data.
        self._names = tuple(n + " " + _EMOJI[i % len(_EMOJI)] if i % 7 == 0 else n for i, n in enumerate(names))

    def records(self, plan: _FilePlan) -> Iterator[dict[str, Any]]:
        """The file's records, with `ts` non-decreasing inside the file's slice of its day."""
        rng = self._rng
        rand = rng.random
        randrange = rng.randrange
        getrandbits = rng.getrandbits
        names = self._names
        day_iso = plan.day.isoformat()
        width = _DAY_US // plan.slots
        window_start = plan.slot * width
        n = max(1, plan.records)
        step = max(1, width // n)
        for j in range(plan.records):
            us = window_start + (j * width) // n + randrange(step)
            secs, frac = divmod(us, 1_000_000)
            hours, rest = divmod(secs, 3600)
            minutes, seconds = divmod(rest, 60)
            h = f"{getrandbits(128):032x}"
            kind = _TYPES[randrange(len(_TYPES))]
            r = rand()
            if r < 0.25:
                tags: list[str] = []
            else:
                tags = [_TAGS[randrange(len(_TAGS))] for _ in range(1 + (r > 0.7) + (r > 0.93))]
            if kind == "purchase":
                amount: float | None = round(rand() * 500.0 + 0.99, 2)
            elif r < 0.05:
                amount = None
            else:
                amount = round(rand() * 10.0, 2)
            m = rand()
            meta: dict[str, Any] | None
            if m < 0.15:
                meta = None
            else:
                source = _SOURCES[randrange(4)]
                meta = {"source": source}
                if source in ("ios", "android"):
                    meta["version"] = randrange(1, 8)  # app version: only apps have one
                if m > 0.94:
                    # Some objects carry extra keys: what whole-manifest schema inference must not miss.
                    meta["ip"] = f"10.{randrange(256)}.{randrange(256)}.{randrange(256)}"
                    meta["experiment"] = {"id": f"exp-{randrange(40)}", "arm": "AB"[randrange(2)]}
                    meta["referrer"] = _REFERRERS[randrange(len(_REFERRERS))]
            yield {
                "event_id": f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{h[16:20]}-{h[20:32]}",
                "ts": f"{day_iso}T{hours:02d}:{minutes:02d}:{seconds:02d}.{frac:06d}Z",
                "type": kind,
                "user": {
                    "id": randrange(1, 2_000_000),
                    "name": None if m > 0.98 else names[randrange(len(names))],
                },
                "tags": tags,
                "amount": amount,
                "count": randrange(0, 100) if r > 0.01 else None,
                "flag": rand() < 0.5,
                "meta": meta,
            }


def _write_file(out: BinaryIO, records: Iterator[dict[str, Any]]) -> None:
    dumps = orjson.dumps
    opt = orjson.OPT_APPEND_NEWLINE
    chunk: list[bytes] = []
    for record in records:
        chunk.append(dumps(record, option=opt))
        if len(chunk) >= _CHUNK_RECORDS:
            out.write(b"".join(chunk))
            chunk.clear()
    if chunk:
        out.write(b"".join(chunk))


def generate(
    output: Path,
    *,
    files: int = 200,
    records: int = 50_000,
    days: int = 3,
    seed: int = 0,
    gzip_ratio: float = 0.0,
    start: dt.date | None = None,
) -> GenerateSummary:
    """Write `records` event records into `files` NDJSON files under `output`, spread over `days` days.

    Files are assigned to days in contiguous blocks (day d starts at `start` + d, default
    2026-11-25) and rotate over the three key layouts; every record's `ts` falls on its file's day.
    A `gzip_ratio` fraction of the files (evenly spread) is written as `.ndjson.gz`. Records are
    split as evenly as possible; with fewer records than files some files are empty. Existing files
    with the same names are overwritten; nothing else in `output` is touched.

    Raises ConfigError for files < 1, records < 0, days < 1, gzip_ratio outside [0, 1], an
    `output` that exists and is not a directory, or directories that cannot be created.
    """
    output = Path(output)
    _validate(output, files, records, days, gzip_ratio)
    start = start or DEFAULT_START
    maker = _RecordMaker(random.Random(seed))
    per_day: dict[str, int] = {}
    total_bytes = 0
    gzip_files = 0
    made_dirs: set[Path] = set()
    for plan in _plan(files, records, days, gzip_ratio, start):
        path = output / plan.relpath
        if path.parent not in made_dirs:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:  # a parent that is a file, no permission: the user's path is wrong
                raise ConfigError(f"cannot create {path.parent}: {exc.strerror or exc}") from exc
            made_dirs.add(path.parent)
        with open(path, "wb", buffering=1 << 20) as raw:
            if plan.gzipped:
                # filename="" and mtime=0 keep the gzip header, and so the bytes, deterministic.
                with gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=_GZIP_LEVEL, mtime=0) as gz:
                    _write_file(gz, maker.records(plan))  # type: ignore[arg-type]
                gzip_files += 1
            else:
                _write_file(raw, maker.records(plan))
            total_bytes += raw.tell()
        day_key = plan.day.isoformat()
        per_day[day_key] = per_day.get(day_key, 0) + plan.records
    return GenerateSummary(
        files=files,
        records=records,
        bytes=total_bytes,
        gzip_files=gzip_files,
        per_day=MappingProxyType(dict(sorted(per_day.items()))),
        output=output,
    )
