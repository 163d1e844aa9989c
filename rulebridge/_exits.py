"""Exit codes: one table for every command, so an init system or cron can trust them.

| code | name          | meaning                                                              |
|------|---------------|----------------------------------------------------------------------|
| 0    | `NOTHING`     | succeeded, nothing changed (with ``--dry-run``: nothing to do)       |
| 1    | `FAILURE`     | failed: run it again (it resumes); the message says why              |
| 2    | `CHANGES`     | succeeded, changes applied (with ``--dry-run``: changes to apply)    |
| 3    | `ATTENTION`   | succeeded, but left work for a person: items for a person or dead    |
|      |               | letters (``rulebridge report latest`` lists them)                    |
| 64   | `USAGE`       | the command line is wrong (an unknown option, a missing file);       |
|      |               | nothing was done                                                     |
| 130  | `INTERRUPTED` | stopped by SIGINT (Ctrl-C); recorded as interrupted, next run resumes |
| 143  | `TERMINATED`  | stopped by SIGTERM (systemd's stop); recorded as interrupted, next    |
|      |               | run resumes                                                          |

2 is a success, not a failure: a systemd unit lists it (and 3, if items for a person are
not to fail the unit) in ``SuccessExitStatus``. 64 is ``EX_USAGE`` of sysexits.h: a
mistyped option can never be taken for "changes applied".

Example:
    >>> outcome_code(failed=False, attention=False, changes=5)
    <ExitCode.CHANGES: 2>
    >>> outcome_code(failed=False, attention=True, changes=5)
    <ExitCode.ATTENTION: 3>
"""

from __future__ import annotations

import enum
import signal

__all__ = ["ExitCode", "outcome_code", "signal_code"]


class ExitCode(enum.IntEnum):
    """The process exit codes of every ``rulebridge`` command (module docstring)."""

    NOTHING = 0
    FAILURE = 1
    CHANGES = 2
    ATTENTION = 3
    USAGE = 64
    INTERRUPTED = 130
    TERMINATED = 143


def outcome_code(*, failed: bool, attention: bool, changes: int) -> ExitCode:
    """The exit code of a finished run: failure first, then work left for a person, then
    whether anything changed."""
    if failed:
        return ExitCode.FAILURE
    if attention:
        return ExitCode.ATTENTION
    return ExitCode.CHANGES if changes else ExitCode.NOTHING


def signal_code(signum: int) -> ExitCode:
    """The exit code of a run stopped by `signum` (SIGTERM 143, anything else 130).

    Example:
        >>> signal_code(signal.SIGTERM)
        <ExitCode.TERMINATED: 143>
    """
    return ExitCode.TERMINATED if signum == signal.SIGTERM else ExitCode.INTERRUPTED
