"""An index of a ruleset's rules for the browser and the explanation pane.

Entity rules carry their own line; lifecycle parts (statuses and their cases, attachments,
warnings) are found in the file by their ``id:``.

Example:
    >>> from engine import load_ruleset
    >>> index = rule_index(load_ruleset("rulesets/alto-fixflo/v2.yaml"))
    >>> index["W-06"].summary.split(":")[0]
    'The invoice is addressed to the agency or "Other"'
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from engine.language.ruleset import CompiledRuleset

__all__ = ["RuleInfo", "rule_index"]


@dataclass(frozen=True, slots=True)
class RuleInfo:
    """One rule: its id, the group it is shown under, its requirement text and line."""

    id: str
    group: str
    summary: str
    line: int
    path: str

    @property
    def where(self) -> str:
        """``file:line`` of the rule, the file's name only (line 0: not found)."""
        name = Path(self.path).name
        return f"{name}:{self.line}" if self.line else name


def rule_index(ruleset: CompiledRuleset) -> dict[str, RuleInfo]:
    """Every rule of `ruleset` by id, entity rules first, then the lifecycle's."""
    lines = _id_lines(ruleset.path)
    index = {
        rule.id: RuleInfo(
            rule.id,
            f"entity {rule.entity or '-'} ({rule.section})",
            rule.summary,
            rule.line,
            ruleset.path,
        )
        for rule in ruleset.rules.values()
    }
    for rule_id, group, summary in _lifecycle_parts(ruleset):
        index.setdefault(
            rule_id, RuleInfo(rule_id, group, summary, lines.get(rule_id, 0), ruleset.path)
        )
    return index


def _lifecycle_parts(ruleset: CompiledRuleset) -> list[tuple[str, str, str]]:
    lifecycle = ruleset.lifecycle
    if lifecycle is None:
        return []
    parts = [(s.id, f"status {s.name}", s.summary) for s in lifecycle.statuses.values()]
    for status in lifecycle.statuses.values():
        parts += [(case.id, f"status {status.name}", case.summary) for case in status.cases]
    for warning in lifecycle.warnings:
        at = ", ".join(sorted(warning.at))
        parts.append((warning.id, f"warning at {at}", warning.summary))
    parts += [(r.id, "works order", r.summary) for r in lifecycle.works_order_require]
    parts += [(a.id, "attachments", a.summary) for a in lifecycle.attachments.values()]
    for name, policy in lifecycle.charges.items():
        parts += [(r.id, f"charge {name}", r.summary) for r in policy.require]
    return parts


def _id_lines(path: str) -> dict[str, int]:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError:
        return {}
    found: dict[str, int] = {}
    for number, line in enumerate(text.splitlines(), 1):
        for match in re.finditer(r"\bid:\s*([\w.\-]+)", line):
            found.setdefault(match.group(1), number)
    return found
