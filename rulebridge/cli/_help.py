"""Settings every command shares.

Each command declares ``-h`` itself rather than inheriting it from the group: click builds
a command's help option once, on first use, so a command first invoked on its own (as
tests do) would otherwise answer only to ``--help`` for the rest of the process.
"""

from __future__ import annotations

from typing import Any

__all__ = ["CONTEXT"]

CONTEXT: dict[str, Any] = {"help_option_names": ["-h", "--help"]}
