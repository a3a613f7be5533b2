"""Write the inputs and outputs tables of every Terraform module's README (terraform-docs' markers).

terraform-docs is not installed here, so this reads variables.tf and outputs.tf with python-hcl2 and
replaces what lies between ``<!-- BEGIN_TF_DOCS -->`` and ``<!-- END_TF_DOCS -->`` in each
``terraform/modules/<name>/README.md`` and ``terraform/examples/complete/README.md``.
``--check`` changes nothing and exits 1 when a README is out of date (tests/unit/infrastructure).
Run: ``.venv/bin/python scripts/terraform_docs.py [--check]``.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import hcl2

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = [*sorted((ROOT / "terraform" / "modules").iterdir()), ROOT / "terraform" / "examples" / "complete"]
BEGIN, END = "<!-- BEGIN_TF_DOCS -->", "<!-- END_TF_DOCS -->"


def _plain(value: Any) -> Any:
    if isinstance(value, str):
        return value[1:-1] if len(value) >= 2 and value[0] == value[-1] == '"' else value
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {_plain(k): _plain(v) for k, v in value.items() if k != "__is_block__"}
    return value


def _blocks(folder: Path, kind: str) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for path in sorted(folder.glob("*.tf")):
        with path.open(encoding="utf-8") as handle:
            for block in hcl2.load(handle).get(kind, []):
                found.update(_plain(block))
    return found


def _cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _type(expression: Any) -> str:
    text = str(expression)
    return text[2:-1] if text.startswith("${") and text.endswith("}") else text


def _default(body: dict[str, Any]) -> str:
    if "default" not in body:
        return "n/a (required)"
    value = body["default"]
    if value is None:
        return "`null`"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, str):
        return f'`"{value}"`'
    if isinstance(value, dict | list) and len(str(value)) > 60:
        return "see variables.tf"
    return f"`{value}`"


def tables(folder: Path) -> str:
    """The generated part of one module's README."""
    lines = ["## Inputs", "", "| Name | Description | Type | Default |", "|---|---|---|---|"]
    for name, body in _blocks(folder, "variable").items():
        row = [f"`{name}`", _cell(body.get("description", "")), f"`{_cell(_type(body.get('type', 'any')))}`"]
        lines.append("| " + " | ".join([*row, _cell(_default(body))]) + " |")
    lines += ["", "## Outputs", "", "| Name | Description |", "|---|---|"]
    for name, body in _blocks(folder, "output").items():
        lines.append(f"| `{name}` | {_cell(body.get('description', ''))} |")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    """Rewrite (or with --check, compare) every README; 1 when one was out of date."""
    check = "--check" in argv
    stale = []
    for folder in FOLDERS:
        readme = folder / "README.md"
        text = readme.read_text(encoding="utf-8") if readme.exists() else f"# {folder.name}\n\n{BEGIN}\n{END}\n"
        if BEGIN not in text or END not in text:
            text = f"{text.rstrip()}\n\n{BEGIN}\n{END}\n"
        head, rest = text.split(BEGIN, 1)
        tail = rest.split(END, 1)[1]
        wanted = f"{head}{BEGIN}\n{tables(folder)}\n{END}{tail}"
        if wanted != text:
            stale.append(readme.relative_to(ROOT))
            if not check:
                readme.write_text(wanted, encoding="utf-8")
    for path in stale:
        print(f"{'out of date' if check else 'written'}: {path}")
    return 1 if check and stale else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
