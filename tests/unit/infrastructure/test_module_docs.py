"""Every module's README holds the inputs and outputs its .tf files declare (scripts/terraform_docs.py)."""

from __future__ import annotations

import subprocess
import sys

from tests.support import terraform

SCRIPT = terraform.ROOT / "scripts" / "terraform_docs.py"


def test_every_modules_readme_tables_are_up_to_date() -> None:
    done = subprocess.run([sys.executable, str(SCRIPT), "--check"], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


def test_every_module_has_the_conventional_files_and_a_create_toggle() -> None:
    for folder in sorted(terraform.MODULES.iterdir()):
        assert {"main.tf", "variables.tf", "outputs.tf", "versions.tf", "README.md"} <= {
            p.name for p in folder.iterdir()
        }
        variables = terraform.variables(folder.name)
        assert variables["create"]["default"] is True, folder.name
        for name, body in variables.items():
            assert body.get("description") and body.get("type"), f"{folder.name}.{name}"


def test_the_complete_example_uses_every_module() -> None:
    used = {
        body["source"].removeprefix("../../modules/")
        for block in terraform.module("examples/complete")["module"]
        for body in terraform.plain(block).values()
    }
    assert used == {p.name for p in terraform.MODULES.iterdir()}
