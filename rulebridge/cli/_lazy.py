"""A click group that imports a command's module only when that command is used.

click's lazy group pattern (``list_commands`` and ``get_command`` over a map of names to
``"module:attribute"``), plus two things the pattern lacks: the group's own ``--help``
lists every command from the summary kept in the map, so listing imports nothing; and a
usage error (an unknown option, a missing file, a bad value) exits ``USAGE`` (64,
sysexits' ``EX_USAGE``) with click's usual message, on every command, instead of click's
2, which this project's exit codes give to "changes applied" (`rulebridge._exits`).

Example:
    >>> group = LazyGroup(
    ...     "tool",
    ...     lazy={"hello": LazyCommand("example.hello:hello", "Say hello.")},
    ... )
    >>> group.list_commands(click.Context(group))
    ['hello']
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import click

from rulebridge._exits import ExitCode

__all__ = ["LazyCommand", "LazyGroup"]


class LazyCommand(NamedTuple):
    """Where a command lives and what ``--help`` of its group says about it.

    Attributes:
        target: ``"package.module:attribute"``, the click command to import when used.
        summary: the first paragraph of the command's help, shortened by click exactly as
            it shortens the real help (a test keeps the two the same).
    """

    target: str
    summary: str


class LazyGroup(click.Group):
    """A group whose commands are imported on first use, and listed without importing."""

    def __init__(
        self, *args: Any, lazy: Mapping[str, LazyCommand] | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.lazy: dict[str, LazyCommand] = dict(lazy or {})

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        """Run the command line as click's standalone mode does, except that a usage error
        exits ``USAGE`` (64) and an abort (Ctrl-C, EOF at a prompt) ``INTERRUPTED`` (130).

        Example::

            main(["run", "--confg", "x"])   # exits 64: "No such option: --confg"
        """
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, False, **extra)
        try:
            value = super().main(args, prog_name, complete_var, False, **extra)
        except click.UsageError as exc:
            exc.show()
            sys.exit(int(ExitCode.USAGE))
        except click.ClickException as exc:
            exc.show()
            sys.exit(exc.exit_code)
        except click.Abort:
            click.echo("Aborted!", err=True)
            sys.exit(int(ExitCode.INTERRUPTED))
        sys.exit(value if isinstance(value, int) else 0)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.lazy:
            return load(self.lazy[cmd_name].target)
        return super().get_command(ctx, cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """List the commands as click does, from stand-ins that carry only the summary."""
        stand_ins = {
            name: click.Command(name, help=lazy.summary) for name, lazy in self.lazy.items()
        }
        listing = click.Group(self.name, commands={**stand_ins, **self.commands})
        listing.format_commands(ctx, formatter)


def load(target: str) -> click.Command:
    """Import ``"module:attribute"`` and return the click command it names."""
    module_name, _, attribute = target.partition(":")
    command = getattr(importlib.import_module(module_name), attribute)
    if not isinstance(command, click.Command):
        raise TypeError(f"{target} is not a click command")
    return command
