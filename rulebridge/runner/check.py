"""Check an agency config in seconds: the file, the ruleset, both APIs and their credentials.

`check_agency` is ``rulebridge check``; `preflight` is the same check of the APIs that
``rulebridge run`` makes first, before it reads the agency, so that a wrong token or a dead
host fails in seconds and names the request and the fix, rather than after all of Alto
was read. What is checked, in order:

1. the config, as an agency config (schema and meaning; errors located ``file:line:col``);
2. its ruleset and settings, loaded and checked;
3. the issue parts the ruleset declares, against what the Fixflo adapter reads;
4. each API the config names: reached, credentials accepted, one cheap contract request
   answered (`rulebridge.runner._probes`: never a paged read of the agency), each
   request within `TIMEOUT` seconds and tried at most twice.

Example::

    report = check_agency(Path("agencies/acme.yaml"))
    report.ok, [line.message for line in report.lines if not line.ok]
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine import RulebridgeError, RulesetErrors, load_ruleset
from rulebridge._config import AgencyConfig, load_agency_config
from rulebridge.runner._probes import CheckLine, probe_alto, probe_fixflo
from rulebridge.runner.wiring import Wired, check_issue_parts, limiter_for

__all__ = ["TIMEOUT", "CheckLine", "CheckReport", "PreflightError", "check_agency", "preflight"]

TIMEOUT = 5.0
"""Seconds each request of a check may take (less when the config's timeout is shorter)."""

_PROBES = {"fixflo": probe_fixflo, "alto": probe_alto}


class PreflightError(RulebridgeError):
    """An API failed the run's preflight (the message names the request and the fix)."""


@dataclass
class CheckReport:
    """Every check made, in order; `ok` when all passed.

    Example:
        >>> CheckReport().ok
        True
    """

    lines: list[CheckLine] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        """Whether every check passed."""
        return all(line.ok for line in self.lines)

    def to_json(self) -> dict[str, Any]:
        """The report as JSON (`rulebridge check --format json`)."""
        return {
            "ok": self.ok,
            "seconds": round(self.seconds, 3),
            "checks": [line.to_json() for line in self.lines],
        }


def check_agency(config_path: Path, *, timeout: float = TIMEOUT) -> CheckReport:
    """Check the agency config at `config_path`; see the module docstring. A check that
    fails stops the ones that need it (no ruleset without a valid config), never the APIs'
    checks of each other.

    Example::

        check_agency(Path("agencies/acme.yaml")).ok   # True
    """
    started = time.monotonic()
    report = CheckReport()
    try:
        config = load_agency_config(config_path)
    except RulesetErrors as exc:
        report.lines.append(CheckLine("config", "valid", False, str(exc), fix=str(config_path)))
        report.seconds = time.monotonic() - started
        return report
    report.lines.append(CheckLine("config", "valid", True, f"{config_path}: an agency config"))
    report.lines.extend(_ruleset_lines(config))
    report.lines.extend(asyncio.run(check_apis(config, timeout=timeout)))
    report.seconds = time.monotonic() - started
    return report


def _ruleset_lines(config: AgencyConfig) -> list[CheckLine]:
    if config.ruleset is None:
        return [CheckLine("ruleset", "loaded", False, "the config names no ruleset", fix="ruleset")]
    try:
        ruleset = load_ruleset(config.ruleset, settings=config.settings)
    except RulesetErrors as exc:
        return [CheckLine("ruleset", "loaded", False, str(exc), fix="ruleset, settings")]
    lines = [CheckLine("ruleset", "loaded", True, f"{ruleset.name} v{ruleset.version}")]
    if "fixflo" in config.apis:
        try:
            check_issue_parts(ruleset)
        except RulebridgeError as exc:
            lines.append(CheckLine("ruleset", "issue parts", False, str(exc), fix="ruleset"))
        else:
            lines.append(CheckLine("ruleset", "issue parts", True, "read as declared"))
    return lines


async def check_apis(
    config: AgencyConfig, *, timeout: float = TIMEOUT, limited: Wired | None = None
) -> list[CheckLine]:
    """Probe every API the config names (Fixflo first), at once; their lines in order.
    With `limited` (a run), each probe request spends the agency's shared rate limit, as
    the run's other requests do (`rulebridge.runner.wiring.limiter_for`).

    Example::

        lines = await check_apis(config)
    """
    seconds = min(timeout, config.timeout)
    systems = [name for name in _PROBES if name in config.apis]

    async def probe(name: str) -> list[CheckLine]:
        if limited is None:
            return await _PROBES[name](config, timeout=seconds)
        async with limiter_for(limited, name) as limiter:
            return await _PROBES[name](config, timeout=seconds, limiter=limiter)

    found = await asyncio.gather(*(probe(name) for name in systems))
    return [line for lines in found for line in lines]


def preflight(
    config: AgencyConfig, *, timeout: float = TIMEOUT, limited: Wired | None = None
) -> list[CheckLine]:
    """Check the config's APIs as `rulebridge check` does, before a run reads anything
    (with `limited`, spending the agency's shared rate limit: `check_apis`).

    Raises:
        PreflightError: a check failed; the message says which request, what happened
            and what to fix (each failed check, in order).

    Example::

        preflight(config)   # the lines, all passed
    """
    lines = asyncio.run(check_apis(config, timeout=timeout, limited=limited))
    failed = [line for line in lines if not line.ok]
    if failed:
        said = "; ".join(line.message for line in failed)
        raise PreflightError(f"preflight: {said}. Nothing was read or sent")
    return lines
