"""The lifecycle's generated code (statuses' cases, warnings, charge routes, the maps) against
the closures, and the AST contract of every generated lifecycle tree (issue 21 build item 1).

The differential tests reconcile random issues against random holdings twice, with the
generated code and with the closures alone (the lifecycle with ``programs=None``), and ask
for identical operations, warnings and reasons (objects and text); and they compare each
generated function with its closures directly. Rulesets: the shipped alto-fixflo v2 under
several agencies' settings, and variants whose lifecycle conditions and maps are drawn.
"""

from __future__ import annotations

import ast
import dataclasses
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine import CompiledRuleset, load_ruleset
from engine.errors import EvaluationError
from engine.issues.reconcile import IssueOps, reconcile
from engine.language.lifecycle import Lifecycle
from engine.ports import AltoHolding
from tests.engine.test_codegen import SHIPPED, offences

V2 = SHIPPED["alto-fixflo"]
AGENCIES = [
    {},
    {"paying_party": "Tenant"},
    {"invoice_recipient": "Agency", "invoice_media_type": "Receipt"},
]

texts = st.sampled_from(["", "x", "P1/OP1", "FC1/C", "Invoice", "2026-11-02T09:00:00Z", "T 1"])
scalars = st.one_of(texts, st.none(), st.integers(-2, 3), st.booleans(), st.just(12.5))
anything: st.SearchStrategy[Any] = st.one_of(scalars, st.lists(scalars, max_size=2), st.just({}))


def part(keys: list[str]) -> st.SearchStrategy[Any]:
    """A nested record: a dict of some of `keys` (or, now and then, not a dict at all)."""
    return st.one_of(
        st.dictionaries(st.sampled_from(keys), anything, max_size=len(keys)),
        st.dictionaries(st.sampled_from(keys), anything, min_size=len(keys)),
        scalars,
    )


@st.composite
def issues(draw: st.DrawFn, statuses: list[str]) -> dict[str, Any]:
    """A Fixflo issue as the lifecycle reads it: a declared status, fields present, missing,
    empty or of another kind, nested parts that may not be dicts."""
    issue: dict[str, Any] = {"Id": "I1", "Status": draw(st.sampled_from(statuses))}
    if draw(st.booleans()):
        return draw(filled(issue))
    plain = ["Title", "FaultNotes", "FaultPriority", "Created", "TenantId", "StatusChanged"]
    for key in draw(st.lists(st.sampled_from(plain), unique=True)):
        issue[key] = draw(scalars)
    job = [
        "id",
        "StartDate",
        "JobCompleted",
        "QuotedPriceAgencyPayableGross",
        "JobberNotes",
        "PriceAgencyPayableGross",
        "PriceAgencyPayableNet",
        "PriceAgencyPayableTax",
    ]
    if draw(st.booleans()):
        issue["Job"] = draw(part(job))
        if isinstance(issue["Job"], dict) and draw(st.booleans()):
            issue["Job"]["Contractor"] = draw(part(["Id", "ExternalRef"]))
    for key, keys in (
        ("FixfloTenant", ["ExternalRef"]),
        ("FixfloProperty", ["ExternalPropertyRef"]),
        ("CompletionDetails", ["FeedbackToAgent"]),
    ):
        if draw(st.booleans()):
            issue[key] = draw(part(keys))
    if draw(st.booleans()):
        docs = st.fixed_dictionaries(
            {
                "MediaTypeDescription": st.sampled_from(["Invoice", "Receipt", "Other"]),
                "ShortDescription": texts,
            }
        )
        issue["CompletionDocs"] = draw(st.lists(docs, max_size=3))
    return issue


@st.composite
def filled(draw: st.DrawFn, issue: dict[str, Any]) -> dict[str, Any]:
    """An issue with every part a lifecycle reads (a job awarded to a contractor, a known
    property and tenant, completion documents), then a few of its keys left out."""
    value = st.one_of(texts, texts, scalars)
    contractor = {"Id": draw(texts), "ExternalRef": draw(texts)}
    job = {"id": "J1", "Contractor": contractor, "JobCompleted": draw(value)}
    for key in ("StartDate", "JobberNotes", "PriceAgencyPayableGross", "PriceAgencyPayableNet"):
        job[key] = draw(value)
    issue |= {"Title": draw(value), "TenantId": draw(value), "Created": draw(value), "Job": job}
    issue["FixfloTenant"] = {"ExternalRef": draw(value)}
    issue["FixfloProperty"] = {"ExternalPropertyRef": draw(st.sampled_from(["P1/OP1", "", "P2"]))}
    issue["CompletionDetails"] = {"FeedbackToAgent": draw(value)}
    issue["CompletionDocs"] = [{"MediaTypeDescription": "Invoice", "ShortDescription": "inv"}]
    for key in draw(st.lists(st.sampled_from(sorted(issue)), max_size=2, unique=True)):
        if key not in ("Id", "Status"):
            del issue[key]
    return issue


holdings = st.builds(
    AltoHolding,
    works_order=st.one_of(
        st.none(),
        st.fixed_dictionaries(
            {"status": st.sampled_from(["NewRequest", "SupplierInstructed", "Cancelled", "x"])},
            optional={"summary": texts, "notes": scalars},
        ),
    ),
    documents=st.frozensets(st.sampled_from(["issue-I1.pdf", "x"]), max_size=2),
    charges=st.frozensets(st.just("maintenance"), max_size=1),
)


def closures_only(ruleset: CompiledRuleset) -> CompiledRuleset:
    assert ruleset.lifecycle is not None
    assert ruleset.lifecycle.programs is not None
    plain = dataclasses.replace(ruleset.lifecycle, programs=None)
    return dataclasses.replace(ruleset, lifecycle=plain)


def outcome(ruleset: CompiledRuleset, issue: dict[str, Any], held: AltoHolding) -> Any:
    """Everything a reconcile gives, as comparable values (an error as its text)."""
    try:
        found: IssueOps = reconcile(ruleset, issue, held)
    except EvaluationError as error:
        return str(error)
    return (
        found,
        [op.to_json() for op in found.operations],
        [str(item) for item in (*found.warnings, *found.fired)],
        [[type(value) for value in op.fields.values()] for op in found.operations],
    )


def same_everywhere(generated: CompiledRuleset, issue: dict[str, Any], held: AltoHolding) -> None:
    reference = closures_only(generated)
    assert outcome(generated, issue, held) == outcome(reference, issue, held)
    lifecycle, context = generated.lifecycle, generated.context()
    assert lifecycle is not None
    assert lifecycle.programs is not None
    programs = lifecycle.programs
    for status in lifecycle.statuses.values():
        assert programs.first_case(status, issue, context) == next(
            (at for at, case in enumerate(status.cases) if case.check.test(issue, context)), -1
        )
    for warning in lifecycle.warnings:
        assert programs.warns(warning, issue, context) == warning.check.test(issue, context)
    for policy in lifecycle.charges.values():
        route = policy.route(issue, context)
        at = programs.first_route(policy, issue, context)
        assert (policy.routes[at] if at >= 0 else None) is route


@pytest.fixture(scope="module")
def shipped() -> list[CompiledRuleset]:
    return [load_ruleset(V2, settings=agency) for agency in AGENCIES]


def test_every_generated_lifecycle_tree_keeps_the_contract() -> None:
    lifecycle = load_ruleset(V2).lifecycle
    assert lifecycle is not None
    assert lifecycle.programs is not None
    labels = [label for label, _ in lifecycle.programs.trees]  # type: ignore[attr-defined]
    for label, tree in lifecycle.programs.trees:  # type: ignore[attr-defined]
        assert isinstance(tree, ast.Module), f"{label}: nothing was generated"
        assert offences(tree) == [], label
    # a unit per status, per charge (routes), per warning; a map per distinct `set`
    assert {f"status {name}" for name in lifecycle.statuses} <= set(labels)
    assert {"routes maintenance", "map charge maintenance", "map works_order"} <= set(labels)
    assert {f"warning {warning.id}" for warning in lifecycle.warnings} <= set(labels)
    assert len(labels) == len(set(labels))


def test_ruleset_text_reaches_a_lifecycle_tree_only_as_a_constant(tmp_path: Path) -> None:
    data = yaml.safe_load(V2.read_text("utf-8"))
    code = "__import__('os').system('x')"
    data["lifecycle"]["statuses"]["JobCompleted"]["set"] = {"notes": {"const": code}}
    lifecycle = load_ruleset(_written(tmp_path, data)).lifecycle
    assert lifecycle is not None
    assert lifecycle.programs is not None
    trees = dict(lifecycle.programs.trees)  # type: ignore[attr-defined]
    constants = [
        n.value for n in ast.walk(trees["map JobCompleted"]) if isinstance(n, ast.Constant)
    ]
    assert code in constants
    assert offences(trees["map JobCompleted"]) == []


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_generated_and_closures_reconcile_alike_over_the_shipped_lifecycle(
    shipped: list[CompiledRuleset], data: st.DataObject
) -> None:
    ruleset = data.draw(st.sampled_from(shipped))
    assert ruleset.lifecycle is not None
    issue = data.draw(issues([*ruleset.lifecycle.statuses, "Unknown"]))
    same_everywhere(ruleset, issue, data.draw(holdings))


def test_a_lifecycle_not_generated_here_is_served_by_its_closures() -> None:
    """Programs asked about statuses, warnings, charges and maps they were not made from
    (a lifecycle changed after compiling) answer by those objects' closures."""
    ruleset = load_ruleset(V2)
    lifecycle = ruleset.lifecycle
    assert lifecycle is not None
    other: Lifecycle = dataclasses.replace(
        lifecycle,
        statuses={
            name: dataclasses.replace(spec, cases=spec.cases[::-1])
            for name, spec in lifecycle.statuses.items()
        },
    )
    programs, context = lifecycle.programs, ruleset.context()
    assert programs is not None
    closed = other.statuses["Closed"]
    issue = {"Status": "Closed", "Job": {"id": "J1"}}
    assert programs.first_case(closed, issue, context) == 0
    mapped = dataclasses.replace(closed, set=(("x.y", closed.set[0][1]),)).set
    assert programs.mapped(mapped, {"Job": {"JobberNotes": "n"}}, context) == (
        {"x": {"y": "n"}},
        (),
    )


# -- drawn lifecycles ----------------------------------------------------------------------

LEAVES = [
    {"field": "Job.JobCompleted", "absent": True},
    {"field": "Job.Contractor.Id", "present": True},
    {"field": "TenantId", "present": True},
    {"field": "Title", "eq": "x"},
    {"field": "FaultPriority", "in": ["x", "T 1"]},
    {"field": "Job.PriceAgencyPayableGross", "gt": 0},
    {"setting": "paying_party", "eq": "Tenant"},
    {"setting": "invoice_recipient", "in": ["Agency", "Other"]},
]
VALUES = [
    "Title",
    "Job.JobberNotes",
    "Job.Contractor.ExternalRef",
    {"const": "c"},
    {"const": 3},
    {"field": "Title", "default": "none"},
    {"join": ["Title", "FaultNotes"], "sep": " - "},
    {"first_of": ["CompletionDetails.FeedbackToAgent", "Job.JobberNotes"]},
    {"format": "{Title}!"},
    {
        "case": [
            {
                "id": "X-1",
                "summary": "s",
                "when": {"field": "TenantId", "present": True},
                "value": {"const": "T"},
            }
        ],
        "else": "Title",
    },
]


def drawn_conditions() -> st.SearchStrategy[Any]:
    return st.recursive(
        st.sampled_from(LEAVES),
        lambda inner: st.one_of(
            st.lists(inner, min_size=1, max_size=3).map(lambda items: {"all": items}),
            st.lists(inner, min_size=1, max_size=3).map(lambda items: {"any": items}),
            inner.map(lambda item: {"not": item}),
        ),
        max_leaves=5,
    )


def _written(tmp_path: Path, data: dict[str, Any]) -> Path:
    path = tmp_path / "v2.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), "utf-8")
    return path


@pytest.mark.slow
@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
def test_generated_and_closures_reconcile_alike_over_drawn_lifecycles(
    tmp_path: Path, data: st.DataObject
) -> None:
    spec = yaml.safe_load(V2.read_text("utf-8"))
    statuses = spec["lifecycle"]["statuses"]
    statuses["Closed"]["cases"][0]["when"] = data.draw(drawn_conditions())
    spec["lifecycle"]["warnings"][0]["when"] = data.draw(drawn_conditions())
    spec["charges"]["maintenance"]["to"][0]["when"] = data.draw(drawn_conditions())
    names = data.draw(st.lists(st.sampled_from(["notes", "a.b", "a.c", "d"]), unique=True))
    statuses["JobCompleted"]["set"] = {name: data.draw(st.sampled_from(VALUES)) for name in names}
    agency = data.draw(st.sampled_from(AGENCIES))
    ruleset = load_ruleset(_written(tmp_path, spec), settings=agency)
    assert ruleset.lifecycle is not None
    for _ in range(25):
        issue = data.draw(issues(list(ruleset.lifecycle.statuses)))
        same_everywhere(ruleset, issue, data.draw(holdings))
