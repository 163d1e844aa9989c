"""`rulebridge deadletters`: the operations given up on, and queueing them for retry."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from engine import RulebridgeError
from engine.store import DeadLetter, Store
from rulebridge._help import CONTEXT
from rulebridge._options import CONFIG, FORMAT, STORE, store_of

__all__ = ["deadletters"]


@click.command("deadletters", context_settings=CONTEXT)
@STORE
@CONFIG
@click.option("--retry", "retry_id", type=int, help="Queue dead letter ID for the next apply.")
@click.option("--retry-all", is_flag=True, help="Queue every dead letter for the next apply.")
@click.option("--all", "show_all", is_flag=True, help="List retried dead letters too.")
@FORMAT
def deadletters(
    store_path: Path | None,
    config_path: Path | None,
    retry_id: int | None,
    retry_all: bool,
    show_all: bool,
    output: str,
) -> None:
    """List dead letters (operations a target refused), or queue them for retry.

    A retried operation is planned again: the next `rulebridge apply` (or nightly run)
    calls it. Exit codes: 0 done, 1 error (no such dead letter, already retried).

    Example:

        rulebridge deadletters --store state/acme.db --retry 3
    """
    store_path = store_of(store_path, config_path)
    if retry_id is not None and retry_all:
        click.echo("error: give --retry ID or --retry-all, not both", err=True)
        sys.exit(1)
    try:
        with Store.open(store_path) as store:
            if retry_id is not None or retry_all:
                ids = [retry_id] if retry_id is not None else [d.id for d in store.dead_letters()]
                for letter_id in ids:
                    store.retry_dead_letter(letter_id)
                    click.echo(f"dead letter {letter_id} queued for the next apply")
                if not ids:
                    click.echo("no dead letters to retry")
                return
            letters = store.dead_letters(include_retried=show_all)
    except RulebridgeError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    if output == "json":
        click.echo(json.dumps([_json(letter) for letter in letters], indent=2, sort_keys=True))
    else:
        _table(letters)


def _json(letter: DeadLetter) -> dict[str, Any]:
    """A dead letter as JSON, without the operation's fields (they may be personal data)."""
    operation = letter.operation
    return {
        "id": letter.id,
        "run": letter.run_id,
        "key": letter.idempotency_key,
        "op": operation.get("op"),
        "kind": operation.get("kind"),
        "source_id": operation.get("source_id"),
        "target_ref": operation.get("target_ref"),
        "reason": letter.reason,
        "last_error": letter.last_error,
        "attempts": letter.attempts,
        "retryable": letter.retryable,
        "created": letter.created,
        "retried": letter.retried,
    }


def _table(letters: list[DeadLetter]) -> None:
    if not letters:
        click.echo("no dead letters")
        return
    click.echo(f"{'id':>4}  {'run':>4}  {'operation':<28} {'created':<20} reason")
    for letter in letters:
        row = _json(letter)
        what = f"{row['op']} {row['kind']} {row['source_id'] or row['target_ref'] or ''}"
        retried = f" (retried {letter.retried[:19]})" if letter.retried else ""
        click.echo(
            f"{letter.id:>4}  {letter.run_id:>4}  {what[:28]:<28} {letter.created[:19]:<20} "
            f"{letter.reason}{retried}"
        )
