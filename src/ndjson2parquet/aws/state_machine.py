"""The manifest workflow's state machine: `state_machine.asl.json` and how its placeholders are filled.

The ASL file is the one Terraform deploys (``templatefile``): ``${name}`` placeholders stand for the
ARNs known at deploy time. `render` fills them the same way for tests and tools, and refuses to leave
one unfilled. ``python -m ndjson2parquet.aws.state_machine`` prints it filled with example ARNs (what
CI lints with statelint).
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Mapping
from importlib import resources

from ..domain.errors import ConfigError

ASL_FILE = "state_machine.asl.json"
PLACEHOLDER = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
#: every placeholder the definition uses
PLACEHOLDERS = (
    "start_function_arn",
    "convert_function_arn",
    "commit_function_arn",
    "compensate_function_arn",
    "put_back_function_arn",
    "glue_job_name",
    "failure_topic_arn",
)


def template() -> str:
    """The ASL file's text, placeholders and all."""
    return resources.files(__package__).joinpath(ASL_FILE).read_text(encoding="utf-8")


def render(values: Mapping[str, str]) -> str:
    """The definition with every ``${name}`` replaced by ``values[name]``; ConfigError names any missing."""
    text = template()
    missing = sorted({name for name in PLACEHOLDER.findall(text) if name not in values})
    if missing:
        raise ConfigError(f"no value for the state machine's placeholders: {', '.join(missing)}")
    # values go into JSON strings: escaped as JSON would (an ARN needs none, but never break the document)
    rendered = PLACEHOLDER.sub(lambda m: json.dumps(str(values[m.group(1)]))[1:-1], text)
    json.loads(rendered)  # a broken template fails here, not in CreateStateMachine
    return rendered


def example_values(region: str = "us-east-1", account: str = "123456789012") -> dict[str, str]:
    """Placeholder values of the right shape (for linting and documentation)."""
    values = {name: f"arn:aws:lambda:{region}:{account}:function:ndjson2parquet-{name[: -len('_function_arn')]}"
              for name in PLACEHOLDERS if name.endswith("_function_arn")}  # fmt: skip
    values["glue_job_name"] = "ndjson2parquet-convert"
    values["failure_topic_arn"] = f"arn:aws:sns:{region}:{account}:ndjson2parquet-failures"
    return values


def main() -> None:
    """Print the definition filled with example values."""
    sys.stdout.write(render(example_values()))


if __name__ == "__main__":
    main()
