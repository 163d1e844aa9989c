"""What the runner's commands share: the agency options, finding the store, clean failures.

Example::

    @click.command()
    @CONFIG
    @STORE
    def history(config_path, store_path): ...
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import click

from engine import RulebridgeError, RulesetErrors

_Command = TypeVar("_Command", bound=Callable[..., Any])

__all__ = [
    "AGENCY",
    "AS_OF",
    "CONFIG",
    "EXISTING",
    "FORMAT",
    "STORE",
    "STORE_TO_BE",
    "bounded",
    "default_store",
    "failing_cleanly",
    "store_of",
]

EXISTING = click.Path(exists=True, dir_okay=False, path_type=Path)
"""An existing file (not a folder)."""
AS_OF = click.option(
    "--as-of",
    "as_of",
    type=click.DateTime(["%Y-%m-%d"]),
    help="The run's date (default: the day the Alto snapshot was taken).",
)
"""The run's date of a command that reads snapshots (plan, diff, explain)."""
AGENCY = click.option(
    "--config",
    "config_path",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The agency config (YAML): base URLs, credential variable names, rate limits, "
    "ruleset and settings.",
)
CONFIG = click.option(
    "--config",
    "config_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The agency config, to find its default store.",
)
STORE = click.option(
    "--store",
    "store_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The agency's state store (default: state/<config name>.db next to the config).",
)
STORE_TO_BE = click.option(
    "--store",
    "store_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The agency's state store, made on first use (default: state/<config name>.db next "
    "to the config).",
)
FORMAT = click.option(
    "--format", "output", type=click.Choice(["table", "json"]), default="table", show_default=True
)


def default_store(config_path: Path) -> Path:
    """The agency's state store when ``--store`` is not given: ``state/<config name>.db``
    next to the config.

    Example:
        >>> default_store(Path("agencies/acme.yaml"))
        PosixPath('agencies/state/acme.db')
    """
    return config_path.parent / "state" / f"{config_path.stem}.db"


def store_of(store_path: Path | None, config_path: Path | None) -> Path:
    """The store named, or the config's default one; a usage error (exit 64) when neither
    is given, exit 1 when the config's store does not exist yet."""
    if store_path is not None:
        return store_path
    if config_path is None:
        raise click.UsageError("give --store FILE or --config AGENCY.yaml")
    path = default_store(config_path)
    if not path.exists():
        click.echo(f"error: {path}: no state store yet; the agency has never run", err=True)
        sys.exit(1)
    return path


@contextlib.contextmanager
def failing_cleanly(say: Callable[[str], None] | None = None) -> Iterator[None]:
    """Turn rulebridge's errors into a message on standard error and exit code 1: ruleset
    and config errors as located lines, the rest as ``error: ...``; never a traceback.

    Args:
        say: how the message is said instead (a scheduled command off a terminal passes its
            log's error event, so that standard error stays one JSON object per line).
    """
    try:
        yield
    except RulesetErrors as exc:
        (say or _echo)(str(exc))
        sys.exit(1)
    except (RulebridgeError, ValueError) as exc:
        (say or _echo)(f"error: {exc}")
        sys.exit(1)


def _echo(message: str) -> None:
    click.echo(message, err=True)


def bounded(
    name: str, low: int, high: int, default: int, text: str
) -> Callable[[_Command], _Command]:
    """A whole-number option from `low` to `high`, its default shown in the help.

    Example::

        @bounded("--depth", 1, 12, 6, "The longest sequence of moves tried.")
    """
    return click.option(
        name, type=click.IntRange(low, high), default=default, show_default=True, help=text
    )
