"""Enough Python recursion for values and types nested as deeply as a line may be (``lines.MAX_DEPTH``).

A line nested up to 1,024 levels is valid input and must convert; deeper ones are quarantined
(``lines``). What walks such a value or its type recursively (Python's ``json`` parser on the exact
path, the type merge, ``conform``, the ``_rescued_data`` overlays and their JSON) takes a few Python
frames per level, more than the interpreter's default limit of 1,000 frames allows. So the engine
sets the limit it needs itself, where the work runs, whatever its caller set: raised, never lowered
(the limit is the whole interpreter's, and other threads may be deep in their own work). Since
Python 3.11 a Python call does not use the C stack, so a higher limit costs no native stack.
"""

from __future__ import annotations

import sys

from .lines import MAX_DEPTH

FRAMES_PER_LEVEL = 8  # the deepest of our walks takes 4 frames per level (``schema.merge_types``); twice that
HEADROOM = 2_000  # frames for whatever runs around the walk (the caller, the engine, pyarrow's Python)


def ensure_recursion_budget() -> int:
    """Raise the interpreter's recursion limit so that a walk of ``MAX_DEPTH`` levels fits; the limit now."""
    needed = _frames_in_use() + MAX_DEPTH * FRAMES_PER_LEVEL + HEADROOM
    if sys.getrecursionlimit() < needed:
        sys.setrecursionlimit(needed)
    return sys.getrecursionlimit()


def _frames_in_use() -> int:
    frame, count = sys._getframe(), 0
    while frame is not None:
        frame, count = frame.f_back, count + 1
    return count
