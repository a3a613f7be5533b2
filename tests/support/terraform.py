"""The repository's Terraform read as data (python-hcl2): modules, their locals, variables and resources.

python-hcl2 keeps HCL's quotes on string literals (``'"abc"'``) and gives expressions as
``'${...}'``; `plain` strips the quotes of literals, recursively, keys included.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import hcl2

ROOT = Path(__file__).resolve().parents[2]
TERRAFORM = ROOT / "terraform"
MODULES = TERRAFORM / "modules"


def plain(value: Any) -> Any:
    """``value`` with the quotes of every string literal (and key) removed."""
    if isinstance(value, str):
        return value[1:-1] if len(value) >= 2 and value[0] == value[-1] == '"' else value
    if isinstance(value, list):
        return [plain(item) for item in value]
    if isinstance(value, dict):
        return {plain(k): plain(v) for k, v in value.items() if k != "__is_block__"}
    return value


@cache
def module(name: str) -> dict[str, list[Any]]:
    """Every top-level block of ``terraform/modules/<name>/*.tf`` (or a path under terraform/), merged."""
    folder = MODULES / name if (MODULES / name).is_dir() else TERRAFORM / name
    merged: dict[str, list[Any]] = {}
    for path in sorted(folder.glob("*.tf")):
        with path.open(encoding="utf-8") as handle:
            for kind, blocks in hcl2.load(handle).items():
                merged.setdefault(kind, []).extend(blocks)
    if not merged:
        raise FileNotFoundError(f"no Terraform in {folder}")
    return merged


def locals_of(name: str) -> dict[str, Any]:
    """The module's locals, merged over its locals blocks, quotes stripped."""
    found: dict[str, Any] = {}
    for block in module(name).get("locals", []):
        found.update(plain(block))
    return found


def variables(name: str) -> dict[str, dict[str, Any]]:
    """The module's variables: name -> body (type, description, default, validation), quotes stripped."""
    return {plain(k): plain(v) for block in module(name).get("variable", []) for k, v in block.items()}


def default(name: str, variable: str) -> Any:
    """The default of one variable of the module."""
    return variables(name)[variable]["default"]


def blocks(name: str, kind: str, type_: str) -> dict[str, dict[str, Any]]:
    """The module's ``kind`` blocks (resource or data) of one type: block name -> body, quotes stripped."""
    found: dict[str, dict[str, Any]] = {}
    for block in module(name).get(kind, []):
        for type_name, named in block.items():
            if plain(type_name) == type_:
                found.update({plain(k): plain(v) for k, v in named.items()})
    return found


def resource(name: str, type_: str, resource_name: str) -> dict[str, Any]:
    """One resource's body."""
    return blocks(name, "resource", type_)[resource_name]


def outputs(name: str) -> dict[str, dict[str, Any]]:
    """The module's outputs: name -> body."""
    return {plain(k): plain(v) for block in module(name).get("output", []) for k, v in block.items()}
