"""`rulebridge deadletters`: the operations given up on, queueing them for retry, and
resolving those a person dealt with by hand."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from engine import RulebridgeError
from engine.store import DeadLetter, Store
from rulebridge.cli._help import CONTEXT
from rulebridge.cli._options import CONFIG, FORMAT, STORE, store_of

__all__ = ["deadletters"]


@click.command("deadletters", context_settings=CONTEXT)
@STORE
@CONFIG
@click.option("--retry", "retry_id", type=int, help="Queue dead letter ID for the next apply.")
@click.option("--retry-all", is_flag=True, help="Queue every dead letter for the next apply.")
@click.option("--resolve", "resolve_id", type=int, help="Close dead letter ID, dealt with by hand.")
@click.option("--note", help="With --resolve: what was found or done (kept with the letter).")
@click.option(
    "--landed",
    is_flag=True,
    help="With --resolve: the write is in the target (a document or charge found in "
    "Alto); record it as done.",
)
@click.option("--all", "show_all", is_flag=True, help="List retried and resolved ones too.")
@FORMAT
def deadletters(
    store_path: Path | None,
    config_path: Path | None,
    retry_id: int | None,
    retry_all: bool,
    resolve_id: int | None,
    note: str | None,
    landed: bool,
    show_all: bool,
    output: str,
) -> None:
    """List dead letters (operations a target refused), queue them for retry, or resolve
    one a person dealt with by hand.

    A retried operation is planned again: the next `rulebridge apply` (or nightly run)
    calls it. A resolved letter is closed with a note: with --landed (the document or
    charge is in Alto) its operation is recorded as done and its issue completes on the
    next run; without it, the operation is called again only if a later plan still needs
    it. Exit codes: 0 done, 1 error (no such dead letter, already retried or resolved,
    cannot be recorded as landed), 64 usage error (--resolve without --note, or with
    --retry; --retry with --retry-all).

    Example:

        \b
        rulebridge deadletters --store state/acme.db --retry 3
        rulebridge deadletters --store state/acme.db --resolve 4 --landed \\
            --note "invoice found on works order 700123"
    """
    _check_usage(retry_id, retry_all, resolve_id, note, landed)
    if retry_id is not None and retry_all:
        raise click.UsageError("give --retry ID or --retry-all, not both")
    store_path = store_of(store_path, config_path)
    try:
        with Store.open(store_path) as store:
            if resolve_id is not None:
                _resolve(store, resolve_id, note or "", landed=landed)
                return
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


def _check_usage(
    retry_id: int | None, retry_all: bool, resolve_id: int | None, note: str | None, landed: bool
) -> None:
    """Refuse option combinations that say two things at once (exit 64)."""
    if resolve_id is None:
        if note is not None or landed:
            raise click.UsageError("--note and --landed go with --resolve ID")
        return
    if retry_id is not None or retry_all:
        raise click.UsageError("give --resolve ID or --retry/--retry-all, not both")
    if note is None or not note.strip():
        raise click.UsageError(
            "--resolve needs --note TEXT saying what was found or done, e.g. "
            '--note "charge found on the tenancy"'
        )


def _resolve(store: Store, letter_id: int, note: str, *, landed: bool) -> None:
    operation = store.resolve_dead_letter(letter_id, note, landed=landed)
    what = f"{operation.get('op')} {operation.get('kind')}"
    if landed:
        click.echo(f"dead letter {letter_id} resolved: {what} recorded as done (found in target)")
    else:
        click.echo(
            f"dead letter {letter_id} resolved: {what} closed as failed; a later plan that "
            "still needs it calls it again"
        )


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
        "resolved": letter.resolved,
        "resolution": letter.resolution,
    }


def _table(letters: list[DeadLetter]) -> None:
    if not letters:
        click.echo("no dead letters")
        return
    click.echo(f"{'id':>4}  {'run':>4}  {'operation':<28} {'created':<20} reason")
    for letter in letters:
        row = _json(letter)
        what = f"{row['op']} {row['kind']} {row['source_id'] or row['target_ref'] or ''}"
        click.echo(
            f"{letter.id:>4}  {letter.run_id:>4}  {what[:28]:<28} {letter.created[:19]:<20} "
            f"{letter.reason}{_closed(letter)}"
        )


def _closed(letter: DeadLetter) -> str:
    """How a letter that is no longer open was closed, for the table."""
    if letter.resolved:
        return f" (resolved {letter.resolved[:10]}: {letter.resolution})"
    return f" (retried {letter.retried[:19]})" if letter.retried else ""
