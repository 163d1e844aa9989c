"""Compile the ``checklist:`` section: each task's rules must look like requirement ids or
be rule ids of the ruleset (with a "did you mean"); the phase is checked by the schema and
duplicate ids with every other id of the ruleset."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, cast

from engine.documents.document import JsonPath
from engine.language.checklist import PHASES, ChecklistTask, Phase
from engine.language.compiler._gaps import known_rule

if TYPE_CHECKING:
    from engine.language.compiler._state import Compiling

__all__ = ["compile_checklist"]


def compile_checklist(
    compiler: Compiling, ids: set[str], others: set[str]
) -> tuple[ChecklistTask, ...]:
    """The declared tasks whose references check out, in file order (errors for the rest).

    Args:
        compiler: the compile in progress.
        ids: every id of the ruleset (rules, policies, case branches, gaps, tasks).
        others: the ids the common duplicate check does not see (case branches and
            de-duplication policies); a task may not take one.
    """
    listed = compiler.document.data.get("checklist")
    if not isinstance(listed, list):
        return ()
    tasks = []
    for index, spec in enumerate(listed):
        path: JsonPath = ("checklist", index)
        if isinstance(spec, Mapping) and not compiler.broken(path):
            task = (
                _task(compiler, spec, path, ids) if _fresh(compiler, spec, path, others) else None
            )
            if task is not None:
                tasks.append(task)
    return tuple(tasks)


def _fresh(compiler: Compiling, spec: Mapping[str, Any], path: JsonPath, others: set[str]) -> bool:
    task_id = spec.get("id")
    if task_id not in others:
        return True
    compiler.fail(
        (*path, "id"),
        "duplicate-rule-id",
        f"id {task_id!r} is already used by a case branch or a dedupe policy; "
        "give each task its own id",
    )
    return False


def _task(
    compiler: Compiling, spec: Mapping[str, Any], path: JsonPath, ids: set[str]
) -> ChecklistTask | None:
    rules = [str(rule) for rule in spec.get("rules") or ()]
    known = [
        known_rule(compiler, rule, (*path, "rules", index), ids) for index, rule in enumerate(rules)
    ]
    phase = spec["phase"]
    if not all(known) or phase not in PHASES:
        return None
    return ChecklistTask(
        str(spec["id"]),
        cast(Phase, phase),
        " ".join(str(spec["summary"]).split()),
        " ".join(str(spec.get("detail", "")).split()),
        tuple(rules),
        compiler.document.where(path)[0],
    )
