"""The generated code against the closures (the reference), over random rulesets and records.

For each drawn ruleset (random include conditions and maps on the test ruleset's `thing`
entity, compiled from YAML as a user's would be) and each drawn record, the generated path
(`Entity.evaluate`, `includes`, `map`, its decisions' reasons built lazily) and the closures
alone (`Entity.evaluate_closures`, every reason built at once, as before the generator) give
identical inclusion, key, fields (types too) and explanations.
"""

from __future__ import annotations

import dataclasses
from datetime import date
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest
from hypothesis import HealthCheck, given, reject, settings
from hypothesis import strategies as st

from adapters.jupix import JupixExport
from adapters.jupix.records import export_records
from engine import CompiledRuleset, RecordError, load_ruleset
from engine.errors import RulesetErrors
from engine.explain import Decision
from simulator.agency import AgencyGenerator
from simulator.jupix import write_jupix_export
from tests.engine.rulesets import compile_rules, ruleset_data, write

SETTINGS = {
    "mode": {"type": "string", "allowed": ["A", "B"], "default": "A"},
    "kinds": {"type": "list", "allowed": ["Rent", "Sale", "Let"], "default": ["Rent", "Let"]},
}
TEXTS = ["Rent", "rent", "Sale", "Let", "", "x y"]
FIELDS = [
    "kind",
    "status",
    "name",
    "size",
    "archived",
    "tags",
    "tags[]",
    "owner.name",
    "phones[].number",
]
AS_OF = date(2020, 1, 1)

texts = st.sampled_from(TEXTS)
scalars = st.one_of(texts, st.integers(-1, 4), st.booleans(), st.none())


@st.composite
def leaves(draw: st.DrawFn, fields: list[str] = FIELDS) -> dict[str, Any]:
    """A comparison of one field, with any operator and a fitting value."""
    field = draw(st.sampled_from(fields))
    operator = draw(
        st.sampled_from(["eq", "ne", "in", "not_in", "present", "absent", "gt", "lt", "after"])
    )
    condition: dict[str, Any] = {"field": field}
    value: Any
    if operator in ("eq", "ne"):
        value = draw(st.one_of(texts, st.integers(-1, 4), st.booleans()))
        if operator == "eq" and draw(st.booleans()):
            value = {"setting": "mode"}
    elif operator in ("in", "not_in"):
        value = draw(st.one_of(st.lists(texts, max_size=3), st.lists(scalars, max_size=3)))
        if draw(st.booleans()):
            value = {"setting": "kinds"}
    elif operator in ("present", "absent"):
        value = True
    elif operator in ("gt", "lt"):
        value = draw(st.integers(-1, 4))
    else:
        value = draw(st.sampled_from(["2018-06-29", "as_of"]))
        field = condition["field"] = "created"
    condition[operator] = value
    if operator in ("eq", "ne", "in", "not_in") and draw(st.integers(0, 4)) == 0:
        condition["ignore_case"] = True
    return condition


def conditions(depth: int, position: int) -> st.SearchStrategy[dict[str, Any]]:
    """A condition of rule `position` (1-based), nested at most `depth` deep."""
    simple: list[st.SearchStrategy[dict[str, Any]]] = [
        leaves(),
        leaves(),
        leaves(),
        st.just({"setting": "mode", "eq": "A"}),
        st.just({"setting": "mode", "in": ["B"]}),
        st.just({"included": "parts"}),
        st.builds(lambda leaf: {"related": "parts", "any": leaf}, leaves(["size", "kind"])),
    ]
    if position > 1:
        simple.append(st.just({"rule": "R1"}))
    if depth == 0:
        return st.one_of(simple)
    inner = conditions(depth - 1, position)
    return st.one_of(
        *simple,
        st.builds(lambda items: {"all": items}, st.lists(inner, min_size=1, max_size=3)),
        st.builds(lambda items: {"any": items}, st.lists(inner, min_size=1, max_size=3)),
        st.builds(lambda items: {"none": items}, st.lists(inner, min_size=1, max_size=2)),
        st.builds(lambda item: {"not": item}, inner),
    )


VALUES: list[Any] = [
    "kind",
    "id",
    "owner.name",
    "phones[].number",
    {"field": "status", "default": "none"},
    {"field": "owner.name", "default": 0},
    {"const": "X"},
    {"const": 3},
    {"const": ["a", "b"]},
    {"join": ["name", "owner.name", "kind"], "sep": "-"},
    {"join": ["tags[]", "size"]},
    {"format": "{id}/{kind}"},
    {"lower": "name"},
    {"related": "parts", "value": "kind"},
    {"related": "parts", "value": {"join": ["kind", "size"]}},
    {"related": "parts", "value": "size", "default": "none"},
    {"related": "parts", "value": "size", "where": {"field": "size", "gt": 0}},
]
TARGETS = ["A", "B.c", "B.d", "C", "D.e.f"]


@st.composite
def rulesets(draw: st.DrawFn) -> dict[str, Any]:
    """The data of a ruleset whose `thing` has random include rules and a random map."""
    count = draw(st.integers(0, 3))
    include = [
        {"id": f"R{position}", "when": draw(conditions(2, position))}
        for position in range(1, count + 1)
    ]
    targets = draw(st.lists(st.sampled_from(TARGETS), unique=True, max_size=5))
    map_ = {target: draw(st.sampled_from(VALUES)) for target in targets}
    parts = [{"id": "P1", "when": draw(leaves(["size", "kind"]))}]
    return ruleset_data(include, map_=map_, settings=SETTINGS, part_include=parts)


values = st.one_of(texts, scalars, st.lists(scalars, max_size=3))


@st.composite
def records(draw: st.DrawFn) -> Any:
    """A thing as an export might hold it: fields missing, in another case, of any kind."""
    record: dict[str, Any] = {}
    for name in ["id", "kind", "status", "name", "size", "archived", "created"]:
        choice = draw(st.integers(0, 7))
        if choice == 0:
            continue
        key = name.upper() if choice == 1 else name
        record[key] = (
            draw(st.sampled_from(["2018-06-30T10:00:00Z", "2021-01-01", None, 5]))
            if name == "created"
            else draw(values)
        )
    record["owner"] = draw(
        st.one_of(st.none(), texts, st.fixed_dictionaries({}, optional={"name": values}))
    )
    tag = st.one_of(texts, texts, st.none(), st.booleans())
    record["tags"] = draw(st.one_of(st.lists(tag, max_size=3), texts, st.none()))
    record["phones"] = draw(
        st.lists(st.fixed_dictionaries({}, optional={"number": values}), max_size=2)
    )
    return MappingProxyType(record) if draw(st.integers(0, 9)) == 0 else record


PARTS = [
    {"id": "p1", "thingId": "1", "size": 1, "kind": "bolt"},
    {"id": "p2", "thingId": "1", "size": 3, "kind": "Rent"},
    {"id": "p3", "thingId": 2, "size": 0, "kind": None},
]


def closures_only(ruleset: CompiledRuleset) -> CompiledRuleset:
    """The same ruleset with every entity evaluated by its closures alone."""
    entities = {
        name: dataclasses.replace(entity, program=None) for name, entity in ruleset.entities.items()
    }
    return dataclasses.replace(ruleset, entities=MappingProxyType(entities))


def typed(value: Any) -> Any:
    """`value` with the type of every part made visible (so True and 1 differ)."""
    if isinstance(value, dict):
        return {key: typed(item) for key, item in value.items()}
    if isinstance(value, list):
        return [typed(item) for item in value]
    return (type(value).__name__, value)


def assert_same(mine: Decision, reference: Decision) -> None:
    assert (mine.entity, mine.key, mine.included) == (
        reference.entity,
        reference.key,
        reference.included,
    )
    assert typed(dict(mine.fields)) == typed(dict(reference.fields))
    assert mine.because == reference.because
    assert [str(item) for item in mine.because] == [str(item) for item in reference.because]
    assert mine.deciding_rules == reference.deciding_rules


@settings(suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(data=rulesets(), things=st.lists(records(), min_size=20, max_size=40))
def test_generated_code_decides_as_the_closures(
    tmp_path_factory: pytest.TempPathFactory, data: dict[str, Any], things: list[Any]
) -> None:
    folder: Path = tmp_path_factory.mktemp("codegen")
    try:
        ruleset = load_ruleset(write(folder, data))
    except RulesetErrors:
        reject()  # two drawn rules that can never both hold: refused at load, rightly
    reference = closures_only(ruleset)
    sources = {"alto.things": things, "alto.parts": PARTS}
    mine, theirs = ruleset.context(sources, AS_OF), reference.context(sources, AS_OF)
    entity, closures = ruleset.entity("thing"), reference.entity("thing")
    for record in things:
        decision = entity.evaluate(record, mine)
        assert_same(decision, closures.evaluate_closures(record, theirs))
        assert entity.includes(record, mine) is closures.includes(record, theirs)
        assert typed(entity.map(record, mine)) == typed(closures.map_closures(record, theirs))
        failing = entity.first_failing(record, mine)
        assert failing == closures.first_failing(record, theirs)
        assert decision.included is (failing == -1)


def assert_every_entity_same(ruleset: CompiledRuleset, sources: dict[str, list[Any]]) -> int:
    """Every entity's decision on every record of its source, generated and by closures
    alone, with the records of every source in the context (relations, `included`); how
    many decisions were compared."""
    reference = closures_only(ruleset)
    context, theirs = ruleset.context(sources, AS_OF), reference.context(sources, AS_OF)
    compared = 0
    for name, entity in ruleset.entities.items():
        closures = reference.entities[name]
        for record in sources.get(entity.source, ()):
            assert_same(
                entity.evaluate(record, context), closures.evaluate_closures(record, theirs)
            )
            assert typed(entity.map(record, context)) == typed(
                closures.map_closures(record, theirs)
            )
            compared += 1
    return compared


@settings(max_examples=5, deadline=None)
@given(size=st.integers(1, 25), seed=st.integers(0, 10**6))
def test_alto_fixflo_decides_as_its_closures_on_generated_agencies(size: int, seed: int) -> None:
    """Lazy reasons and generated code give today's decisions on every shipped entity."""
    ruleset = SHIPPED[0]
    agency = AgencyGenerator(size=size, seed=seed)
    sources: dict[str, list[Any]] = {}
    for system, collections in (
        ("alto", agency.alto_collections()),
        ("fixflo", agency.fixflo_collections()),
    ):
        for name, stream in collections.items():
            if f"{system}.{name}" in ruleset.sources:
                sources[f"{system}.{name}"] = list(stream)
    assert assert_every_entity_same(ruleset, sources) >= size


@settings(max_examples=4, deadline=None)
@given(size=st.integers(1, 25), seed=st.integers(0, 10**6))
def test_jupix_alto_decides_as_its_closures_on_generated_exports(
    tmp_path_factory: pytest.TempPathFactory, size: int, seed: int
) -> None:
    ruleset = SHIPPED[1]
    folder = tmp_path_factory.mktemp("jupix")
    write_jupix_export(folder, size, seed)
    read = export_records(JupixExport(folder), ruleset.sources)
    sources = {
        name: [row for row in rows if not isinstance(row, RecordError)]
        for name, rows in read.items()
    }
    assert assert_every_entity_same(ruleset, sources) >= size


ROOT = Path(__file__).resolve().parents[2]
SHIPPED = [
    load_ruleset(ROOT / "rulesets" / "alto-fixflo" / "v2.yaml"),
    load_ruleset(ROOT / "rulesets" / "jupix-alto" / "v1.yaml"),
]


def test_a_decision_read_twice_gives_the_same_reasons_and_lets_the_record_go() -> None:
    ruleset = SHIPPED[0]
    record = {"inventoryId": 7, "recordType": "Rent", "managementType": "LetOnly"}
    decision = ruleset.evaluate("property", record, ruleset.context())
    assert decision.key == "7"
    first = decision.because
    assert [str(item) for item in first] == [
        "P-01: recordType = 'Rent', = 'Rent'",
        "P-02: managementType = 'LetOnly', not in [Managed, FullyManaged, PartManaged]",
    ]
    assert decision.because is first
    assert decision.deciding_rules == ("P-02",)
    assert decision == ruleset.entity("property").evaluate_closures(record, ruleset.context())
    assert decision._pending is None  # the cache no longer holds the record


KINDS: list[Any] = [
    "Rent",
    "rent",
    "Sale",
    "",
    None,
    True,
    False,
    0,
    1,
    ["Rent"],
    ["Sale"],
    [None],
    [True],
    ["Sale", "Rent"],
    [],
    {"name": "Rent"},
]
"""A value of every kind the inline leaves tell apart (text, booleans, one-item lists...)."""


def kind_records() -> list[Any]:
    """Each of `KINDS` at each field the leaves below read, a key in another case, and
    records missing the field or holding a step that is no dict."""
    found: list[Any] = [{"id": "0"}, {"id": "1", "owner": None}, {"id": "2", "owner": "x"}]
    for number, value in enumerate(KINDS):
        found.append({"id": f"k{number}", "kind": value, "archived": value, "tags": value})
        found.append({"id": f"o{number}", "owner": {"name": value}, "KIND": value})
    return found


@pytest.mark.parametrize("field", ["kind", "archived", "tags[]", "owner.name"])
@pytest.mark.parametrize(
    "comparison",
    [
        {"eq": "Rent"},
        {"ne": "Rent"},
        {"eq": True},
        {"ne": True},
        {"eq": False},
        {"in": ["Rent", "Let"]},
        {"not_in": ["Rent", "Let"]},
        {"present": True},
        {"absent": True},
    ],
)
def test_each_inline_leaf_decides_as_its_closure(
    tmp_path: Path, field: str, comparison: dict[str, Any]
) -> None:
    """Every leaf the generator compares inline (text and booleans, positive and negative,
    on a top-level field, a nested one and a one-item projection) against its closure, on
    a value of every kind."""
    ruleset = compile_rules(tmp_path, {"field": field, **comparison})
    entity = ruleset.entity("thing")
    closures = closures_only(ruleset).entity("thing")
    context = ruleset.context()
    for record in kind_records():
        assert_same(entity.evaluate(record, context), closures.evaluate_closures(record, context))
        assert entity.first_failing(record, context) == closures.first_failing(record, context)
