"""The state-store port: `StateStore` (shared logic, store.py) over each backend's primitives
(primitives.py), with the typed change records they exchange (changes.py).

Services import the port from here; the code lives in the modules named.
"""

from __future__ import annotations

from .changes import KEEP, FileChange, ManifestChange, RegisterResult
from .codec import decode_seal, encode_seal
from .primitives import StorePrimitives
from .store import StateStore

__all__ = [
    "KEEP",
    "FileChange",
    "ManifestChange",
    "RegisterResult",
    "StateStore",
    "StorePrimitives",
    "decode_seal",
    "encode_seal",
]
