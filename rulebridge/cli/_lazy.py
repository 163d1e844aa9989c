"""A click group that imports a command's module only when that command is used.

click's lazy group pattern (``list_commands`` and ``get_command`` over a map of names to
``"module:attribute"``), plus one thing the pattern lacks: the group's own ``--help``
lists every command from the summary kept in the map, so listing imports nothing.

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
from collections.abc import Mapping
from typing import Any, NamedTuple

import click

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
