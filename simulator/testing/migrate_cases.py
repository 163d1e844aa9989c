"""Run a migration case: records by source migrated, the result against the expectation.

The migration runs with housekeeping (so ``check`` entities list their records too). Each
expected item must be found: ``outcomes`` ``{source, record, outcome, rules, entities}``
(rules and entities: a subset), ``written`` (target -> records, each a subset match of a
written record), ``not_written`` (target -> ids no written record has), ``manual`` and
``checks`` (``{entity, rule, ...fields}``, a subset match of a listed record).

Example:
    >>> from datetime import date
    >>> from engine import load_ruleset
    >>> from simulator.testing._rulesets import Rulesets
    >>> rulesets = Rulesets(load_ruleset("rulesets/jupix-alto/v1.yaml"))
    >>> case = Case("a landlord", "migration", "t.yaml", 1, as_of=date(2025, 6, 2),
    ...             records={"jupix.contacts": [{"contactID": "C1", "roles": ["landlord"]}]},
    ...             expect={"written": {"alto.contacts": [{"contactType": "Client"}]}})
    >>> run_migration(case, rulesets).passed
    True
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from engine.errors import RulebridgeError
from engine.language import CompiledRuleset, Context
from engine.migration import Migration, migrate
from engine.migration.report import Outcome
from simulator.testing._compare import Comparison
from simulator.testing._match import same, shown, subset
from simulator.testing._rulesets import Rulesets, case_fields, chosen_branch
from simulator.testing.cases import Case, CaseResult

__all__ = ["migration_lines", "run_migration"]


def run_migration(case: Case, rulesets: Rulesets) -> CaseResult:
    """Migrate the case's records and compare the result with what the case expects.

    A migration needs a date: the case's ``as_of`` (or the file's). A case that cannot run
    is a result with `CaseResult.error`, never an exception.
    """
    if case.as_of is None:
        return CaseResult(case, error="a migration case needs 'as_of:' (here or in the file)")
    try:
        ruleset = rulesets.get(case.settings)
        records = {name: [dict(row) for row in rows] for name, rows in case.records.items()}
        result = migrate(ruleset, records, as_of=case.as_of, housekeeping=True)
        context = ruleset.context(records, as_of=case.as_of)
        return _Compare(case, ruleset, result, records, context).result()
    except RulebridgeError as exc:
        return CaseResult(case, error=str(exc))


class _Compare(Comparison):
    def __init__(
        self,
        case: Case,
        ruleset: CompiledRuleset,
        result: Migration,
        records: Mapping[str, list[dict[str, Any]]],
        context: Context,
    ) -> None:
        super().__init__(case, ruleset, records, context)
        self.migration = result

    def _check(self) -> None:
        expect = self.case.expect
        outcomes = list(self.migration.reconciliation.outcomes)
        for index, wanted in enumerate(expect.get("outcomes") or ()):
            found = next((o for o in outcomes if _outcome_matches(wanted, o)), None)
            if found is None:
                got = "; ".join(_outcome_text(o) for o in outcomes if _near(wanted, o)) or "none"
                self.fail(f"expect.outcomes.{index}", "outcome", shown(dict(wanted)), got)
            else:
                self.covered.update(f"rule:{rule}" for rule in wanted.get("rules") or ())
        for target, rows in (expect.get("written") or {}).items():
            for wanted in rows:
                self._written(str(target), wanted)
        for target, ids in (expect.get("not_written") or {}).items():
            written = {str(row.get("id")) for row in self.migration.records.get(str(target), [])}
            for record_id in ids:
                if str(record_id) in written:
                    self.fail(
                        f"expect.not_written.{target}",
                        f"{target} not to hold",
                        shown(record_id),
                        f"{record_id} written",
                    )
        self._listed("manual", self.migration.manual)
        self._listed("checks", self.migration.checks)

    def result(self) -> CaseResult:
        self._check()
        return self.finish(migration_lines(self.migration))

    def _written(self, target: str, wanted: Mapping[str, Any]) -> None:
        rows = self.migration.records.get(target, [])
        if any(subset(wanted, row) for row in rows):
            self.covered.update(self._branches(target, wanted))
            return
        got = "; ".join(shown(row) for row in rows) or "nothing written"
        self.fail(f"expect.written.{target}", f"{target} record", shown(dict(wanted)), got)

    def _branches(self, target: str, wanted: Mapping[str, Any]) -> set[str]:
        chosen: set[str] = set()
        for entity in self.ruleset.entities.values():
            cases = case_fields(entity)
            asserted = [path for path in wanted if str(path) in cases]
            if entity.target != target or not asserted:
                continue
            for row in self.records.get(entity.source, ()):
                if not entity.includes(row, self.context):
                    continue
                if not subset(wanted, entity.map(row, self.context)):
                    continue
                for path in asserted:
                    branch = chosen_branch(cases[str(path)], row, self.context)
                    if branch:
                        chosen.add(f"rule:{branch}")
        return chosen

    def _listed(self, key: str, rows: list[dict[str, Any]]) -> None:
        if self.case.expect.get(key) == [] and rows:  # an empty list: none at all
            self.fail(f"expect.{key}", f"{key} records", "none", "; ".join(map(shown, rows)))
        for index, wanted in enumerate(self.case.expect.get(key) or ()):
            if any(same(dict(wanted), row) for row in rows):
                if isinstance(wanted.get("rule"), str):
                    self.covered.add(f"rule:{wanted['rule']}")
                continue
            got = "; ".join(shown(row) for row in rows) or "nothing listed"
            self.fail(f"expect.{key}.{index}", f"{key} record", shown(dict(wanted)), got)


def _outcome_matches(wanted: Mapping[str, Any], outcome: Outcome) -> bool:
    if "source" in wanted and wanted["source"] != outcome.source:
        return False
    if "record" in wanted and str(wanted["record"]) != str(outcome.record):
        return False
    if "outcome" in wanted and wanted["outcome"] != outcome.outcome:
        return False
    if not set(wanted.get("rules") or ()) <= set(outcome.rules):
        return False
    return set(wanted.get("entities") or ()) <= set(outcome.entities)


def _near(wanted: Mapping[str, Any], outcome: Outcome) -> bool:
    return "record" not in wanted or str(wanted["record"]) == str(outcome.record)


def _outcome_text(outcome: Outcome) -> str:
    rules = f" by {', '.join(outcome.rules)}" if outcome.rules else ""
    return f"{outcome.source} {outcome.record}: {outcome.outcome}{rules}"


def migration_lines(result: Migration) -> tuple[str, ...]:
    """The migration's outcomes and differences, one line each, as a failure shows them."""
    lines = [f"outcome: {_outcome_text(o)}" for o in result.reconciliation.outcomes]
    for difference in result.reconciliation.differences:
        lines.append(f"difference: {difference.rule} {difference.record}: {difference.detail}")
        if difference.words:
            lines.append(f"  in words: {difference.words}")
    return tuple(lines)
