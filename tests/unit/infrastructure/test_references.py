"""What ``terraform validate`` would catch first, without the provider it needs: every reference
names something declared (variables, locals, resources, data sources, module outputs), every module
call passes only its module's variables and all the required ones."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.support import terraform

FOLDERS = [*sorted(p.name for p in terraform.MODULES.iterdir()), "examples/complete"]
DATA_REF = re.compile(r"\bdata\.(aws_[a-z0-9_]+)\.([a-z0-9_]+)")
RESOURCE_REF = re.compile(r"(?<![.\w])(aws_[a-z0-9_]+)\.([a-z0-9_]+)")
MODULE_REF = re.compile(r"\bmodule\.([a-z0-9_]+)\.([a-z0-9_]+)")


def code(folder: str) -> str:
    """The folder's .tf text without comments."""
    path = terraform.MODULES / folder if (terraform.MODULES / folder).is_dir() else terraform.TERRAFORM / folder
    text = "\n".join(p.read_text(encoding="utf-8") for p in sorted(Path(path).glob("*.tf")))
    return "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))


def declared(folder: str, kind: str) -> set[tuple[str, str]]:
    found = set()
    for block in terraform.module(folder).get(kind, []):
        for type_, named in terraform.plain(block).items():
            found.update((type_, name) for name in named)
    return found


@pytest.mark.parametrize("folder", FOLDERS)
def test_every_variable_and_local_referenced_is_declared(folder: str) -> None:
    text = code(folder)
    assert set(re.findall(r"\bvar\.([a-z0-9_]+)", text)) <= set(terraform.variables(folder))
    assert set(re.findall(r"\blocal\.([a-z0-9_]+)", text)) <= set(terraform.locals_of(folder))


@pytest.mark.parametrize("folder", FOLDERS)
def test_every_resource_and_data_source_referenced_is_declared(folder: str) -> None:
    text = code(folder)
    assert set(DATA_REF.findall(text)) <= declared(folder, "data")
    assert set(RESOURCE_REF.findall(DATA_REF.sub("", text))) <= declared(folder, "resource")


def test_every_module_call_passes_declared_variables_and_every_required_one() -> None:
    calls = {
        name: body
        for block in terraform.module("examples/complete")["module"]
        for name, body in terraform.plain(block).items()
    }
    for name, body in calls.items():
        target = body["source"].removeprefix("../../modules/")
        variables = terraform.variables(target)
        passed = set(body) - {"source"}
        assert passed <= set(variables), (name, passed - set(variables))
        required = {v for v, spec in variables.items() if "default" not in spec}
        assert required <= passed, (name, required - passed)


def test_every_module_output_referenced_exists() -> None:
    calls = {
        name: body
        for block in terraform.module("examples/complete")["module"]
        for name, body in terraform.plain(block).items()
    }
    for module_name, output in MODULE_REF.findall(code("examples/complete")):
        target = calls[module_name]["source"].removeprefix("../../modules/")
        assert output in terraform.outputs(target), f"module.{module_name}.{output}"
