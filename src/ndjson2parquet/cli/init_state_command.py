"""`init-state`: create a state store before its first use (a DynamoDB table is never made implicitly)."""

from __future__ import annotations

import click

from ..state import DYNAMODB_SCHEME, create_store
from .options import state_option


@click.command("init-state")
@state_option()
def init_state_command(state: str) -> None:
    """Create the state store: dynamodb://TABLE makes the table (on-demand, TTL on); a path, the SQLite file.

    Safe to run again: an existing store is left as it is. `run`, `watch`, `ingest` create an SQLite
    file themselves; a DynamoDB table must exist first (this command, or Terraform).
    """
    created = create_store(state)
    kind = "DynamoDB table" if state.startswith(DYNAMODB_SCHEME) else "state file"
    click.echo(f"{'created' if created else 'already there:'} {kind} {state}")


COMMANDS = [init_state_command]
