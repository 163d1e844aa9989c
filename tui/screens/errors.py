"""The errors of a failed ruleset reload (`e` on the stepper while the ruleset is stale):
each located error (``file:line:col: code: message``) on its own lines, scrollable.

Example::

    app.push_screen(ErrorsScreen(str(errors)))
"""

from __future__ import annotations

import re

from rich.text import Text

from tui.screens.dialogs import TextDialog

__all__ = ["ErrorsScreen", "errors_text"]

_LOCATED = re.compile(r"^(\S+?:\d+(?::\d+)?:)( [\w.-]+:)?")


def errors_text(text: str) -> Text:
    """`text` with each error's location in bold red and its code in bold.

    Example:
        >>> errors_text("v2.yaml:3:5: unknown-field: no field 'x'").spans[0].style
        'bold red'
    """
    shown = Text()
    for line in text.strip().splitlines() or ["(no errors reported)"]:
        match = _LOCATED.match(line)
        if match:
            shown.append(match.group(1), style="bold red")
            shown.append(match.group(2) or "", style="bold")
            shown.append(line[match.end() :] + "\n")
        else:
            shown.append(line + "\n")
    shown.rstrip()
    return shown


class ErrorsScreen(TextDialog):
    """A scrollable modal of the located errors of a failed reload; escape closes it.

    Args:
        text: the errors, one ``file:line:col: code: message`` a line (as
            `RulesetErrors` prints them).
    """

    def __init__(self, text: str) -> None:
        count = sum(1 for line in text.splitlines() if _LOCATED.match(line))
        noun = "error" if count == 1 else "errors"
        super().__init__(
            f"Ruleset {noun} ({count}); the last good ruleset is still used", errors_text(text)
        )
