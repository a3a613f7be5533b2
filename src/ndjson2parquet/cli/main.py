"""The `ndjson2parquet` command group and its error handling.

Every failure a user can cause (a bad option, a missing folder, an unreadable state file) ends with
one line on stderr and a non-zero exit, never a traceback: usage errors exit 2, pipeline errors 1.
`run` and `watch` also exit 3 or 4 (see `workflow.report.ExitStatus`).
"""

from __future__ import annotations

import importlib
import logging
import sys
from typing import Any

import click

from .. import __version__
from ..domain.errors import PipelineError
from ..gc_policy import tune_for_bulk_work
from . import init_state_command, logs, pipeline_commands, schema_command, state_commands

log = logging.getLogger(__name__)

EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


def _fail(message: str, code: int) -> int:
    click.echo(f"error: {message}", err=True)
    return code


#: commands whose module is imported only when they are used (or listed by --help): `cost` loads its
#: price tables and model, a tenth of a second every `run` would pay for nothing
_LAZY_COMMANDS = {"cost": "ndjson2parquet.cli.cost_command:cost_command"}


class _Group(click.Group):
    """A click group whose errors are one line each, and whose heavy commands load lazily."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted([*super().list_commands(ctx), *_LAZY_COMMANDS])

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in _LAZY_COMMANDS:
            module, name = _LAZY_COMMANDS[cmd_name].split(":")
            return getattr(importlib.import_module(module), name)  # type: ignore[no-any-return]
        return super().get_command(ctx, cmd_name)

    def main(  # type: ignore[override]
        self,
        args: Any = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        try:
            result = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
            code = result if isinstance(result, int) else 0
        except click.UsageError as exc:
            where = exc.ctx.command_path if exc.ctx else "ndjson2parquet"
            code = _fail(f"{exc.format_message()} (see '{where} --help')", EXIT_USAGE)
        except click.Abort:
            code = _fail("interrupted", EXIT_INTERRUPTED)
        except click.ClickException as exc:
            code = _fail(exc.format_message(), exc.exit_code)
        except PipelineError as exc:
            code = _fail(str(exc), EXIT_FAILURE)
        except KeyboardInterrupt:
            code = _fail("interrupted", EXIT_INTERRUPTED)
        except Exception as exc:  # the last line of defence: one line, details in the debug log
            log.debug("unexpected error", exc_info=True)
            code = _fail(f"unexpected {type(exc).__name__}: {exc} (LOG_LEVEL=DEBUG shows the traceback)", EXIT_FAILURE)
        if standalone_mode:
            sys.exit(code)
        return code


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="ndjson2parquet")
@click.option(
    "--log-format",
    type=click.Choice(["text", "json"]),
    default=None,
    help="Log lines as text (default) or JSON objects; env NDJSON2PARQUET_LOG_FORMAT.",
)
def cli(log_format: str | None) -> None:
    """NDJSON files in, a Hive-partitioned Parquet lake out: exactly once, every line accounted for.

    Start with `ndjson2parquet run --input DIR --output DIR`.

    Exit status: 0 every file of this run ended DONE (or nothing to do); 1 the command failed; 2 usage
    error; 3 some file ended REJECTED or FAILED in this run; 4 none did, but changed input files were
    reported.
    """
    logs.setup(log_format)


for _command in [
    *pipeline_commands.COMMANDS,
    *state_commands.COMMANDS,
    *schema_command.COMMANDS,
    *init_state_command.COMMANDS,
]:
    cli.add_command(_command)


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point."""
    tune_for_bulk_work()
    cli.main(args=argv, prog_name="ndjson2parquet")
