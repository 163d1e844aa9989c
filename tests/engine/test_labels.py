"""Source labels (``sources.<name>.label``): compiled like any value, located errors, and
carried by the migration onto differences, outcomes and every listed record."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from engine import RecordError, load_ruleset
from engine.migration import migrate
from tests.engine.rulesets import SOURCES, ruleset_data, write
from tests.engine.test_ruleset_errors import errors_of
from tests.rulesets.jupix import AS_OF, ruleset

LABEL = {"join": ["name", {"related": "parts", "value": "kind", "pick": "all"}], "sep": " / "}


def labelled(thing_label: Any = LABEL, part_label: Any = None) -> dict[str, Any]:
    """The demo ruleset with labels on its sources; `thing` migrates, `part` is manual."""
    data = ruleset_data(
        [{"id": "R1", "summary": "Only rentals.", "when": {"field": "kind", "eq": "rent"}}],
        map_={
            "id": "id",
            "status": {
                "case": [
                    {
                        "id": "R2",
                        "when": {"field": "status", "eq": "old"},
                        "value": {"const": "Archived"},
                    }
                ],
                "else": "status",
            },
        },
    )
    data["sources"] = copy.deepcopy(SOURCES)
    if thing_label is not None:
        data["sources"]["alto.things"]["label"] = thing_label
    if part_label is not None:
        data["sources"]["alto.parts"]["label"] = part_label
    data["entities"]["thing"]["to"] = "alto.out"
    data["entities"]["part"]["role"] = "manual"
    return data


THINGS = [
    {"id": "1", "kind": "rent", "name": "Rose Cottage", "status": "new"},
    {"id": "2", "kind": "sale", "name": "Mill House", "status": "new"},
    {"id": "3", "kind": "rent", "name": "The Barn", "status": "old"},
]
PARTS = [{"id": "p1", "thingId": "2", "kind": "boiler"}, {"id": "p2", "thingId": "2"}]


def test_a_label_compiles_to_a_value_read_on_the_row_and_its_relations(tmp_path: Path) -> None:
    compiled = load_ruleset(write(tmp_path, labelled()))
    label = compiled.sources["alto.things"].label
    assert label is not None
    context = compiled.context({"alto.parts": PARTS})
    assert label.get(THINGS[1], context) == "Mill House / boiler"
    assert label.get(THINGS[0], context) == "Rose Cottage"
    assert compiled.sources["alto.parts"].label is None


def test_every_value_form_is_allowed_as_a_label(tmp_path: Path) -> None:
    forms = [
        "name",
        {"format": "{name} ({id})"},
        {"upper": "name"},
        {
            "case": [{"when": {"field": "kind", "eq": "rent"}, "value": {"const": "to let"}}],
            "else": "name",
        },
        {"first_of": ["owner.name", "name"]},
    ]
    context_row = {"id": "9", "kind": "sale", "name": "Oak Farm", "owner": {"name": "Ann"}}
    expected = ["Oak Farm", "Oak Farm (9)", "OAK FARM", "Oak Farm", "Ann"]
    for form, wanted in zip(forms, expected, strict=True):
        compiled = load_ruleset(write(tmp_path, labelled(form)))
        label = compiled.sources["alto.things"].label
        assert label is not None
        assert label.get(context_row, compiled.context()) == wanted


@pytest.mark.parametrize(
    ("label", "expected"),
    [
        (
            {"join": ["nam", "kind"]},
            "unknown-field: alto.things has no field 'nam' (did you mean 'name'?)",
        ),
        (
            {"related": "prts", "value": "kind"},
            "unknown-relation: alto.things has no relation 'prts' (did you mean 'parts'?)",
        ),
        ({"join": ["name"], "sep": " ", "upper": "name"}, "conflicting-transforms"),
        (
            {"related": "parts", "value": "colour"},
            "unknown-field: alto.parts has no field 'colour'",
        ),
    ],
)
def test_a_label_mistake_is_located_with_a_hint(tmp_path: Path, label: Any, expected: str) -> None:
    path = write(tmp_path, labelled(label))
    lines = path.read_text("utf-8").splitlines()
    label_line = next(n for n, line in enumerate(lines, 1) if line.strip().startswith("label:"))
    (error,) = errors_of(path)
    line, message = error.split(": ", 1)
    assert expected in message
    assert label_line <= int(line) <= label_line + 8


def test_the_migration_labels_differences_outcomes_and_listed_records(tmp_path: Path) -> None:
    compiled = load_ruleset(write(tmp_path, labelled(part_label={"format": "part {id}"})))
    result = migrate(compiled, {"alto.things": THINGS, "alto.parts": PARTS}, as_of=AS_OF)
    differences = {
        (item.rule, item.record): item.label for item in result.reconciliation.differences
    }
    assert differences == {("R1", "2"): "Mill House / boiler", ("R2", "3"): "The Barn"}
    outcomes = {item.record: item for item in result.reconciliation.outcomes}
    assert outcomes["2"].label == "Mill House / boiler"  # not migrated: a person reads it
    assert outcomes["p1"].label == "part p1"  # manual
    assert outcomes["1"].label is None  # plainly migrated: no label computed
    assert outcomes["2"].to_json()["label"] == "Mill House / boiler"
    assert "label" not in outcomes["1"].to_json()
    json_differences = [item.to_json() for item in result.reconciliation.differences]
    assert {item["label"] for item in json_differences} == {"Mill House / boiler", "The Barn"}
    assert result.manual == [
        {"entity": "part", "label": "part p1"},
        {"entity": "part", "label": "part p2"},
    ]


def test_without_labels_nothing_changes_in_the_output(tmp_path: Path) -> None:
    compiled = load_ruleset(write(tmp_path, labelled(thing_label=None)))
    result = migrate(compiled, {"alto.things": THINGS, "alto.parts": PARTS}, as_of=AS_OF)
    assert result.manual == [{"entity": "part"}, {"entity": "part"}]
    assert all(item.label is None for item in result.reconciliation.differences)
    assert all("label" not in item.to_json() for item in result.reconciliation.outcomes)


def test_an_empty_label_is_none_and_an_unreadable_row_has_none(tmp_path: Path) -> None:
    compiled = load_ruleset(write(tmp_path, labelled({"join": ["name"]})))
    rows = [{"id": "5", "kind": "sale"}, RecordError("things.csv:3", "6", "kind is bad")]
    result = migrate(compiled, {"alto.things": rows}, as_of=AS_OF)
    assert [item.label for item in result.reconciliation.outcomes] == [None, None]
    assert [item.label for item in result.reconciliation.differences] == [None]


def test_a_listed_record_that_maps_its_own_label_keeps_it(tmp_path: Path) -> None:
    data = labelled(part_label={"format": "part {id}"})
    data["entities"]["part"]["map"] = {"label": {"const": "mine"}}
    result = migrate(load_ruleset(write(tmp_path, data)), {"alto.parts": PARTS}, as_of=AS_OF)
    assert [item["label"] for item in result.manual] == ["mine", "mine"]


JUPIX: dict[str, list[dict[str, Any]]] = {
    "jupix.properties": [
        {
            "propertyID": "P1",
            "department": "Sales",
            "addressNumber": "12",
            "addressStreet": "Mill Lane",
            "address2": "Clifton",
            "address3": "Bristol",
            "address4": "Avon",
            "addressPostcode": "BS1 4DJ",
            "crmStatus": "Sold STC",
            "archived": False,
        },
    ],
    "jupix.contacts": [
        {
            "contactID": "C1",
            "title": "Mr",
            "forename": "Harry",
            "surname": "Nguyen",
            "companyName": "Hughes Electrical Services",
            "roles": ["third-party supplier"],
        },
        {"contactID": "C2", "companyName": "Acme Lettings", "roles": ["estate agent"]},
    ],
    "jupix.sales": [
        {"saleID": "S3", "propertyID": "P1", "buyerContactID": "C1", "status": "Current"}
    ],
    "jupix.progression_milestones": [
        {"milestoneID": "M1", "saleID": "S3", "name": "Searches Ordered"}
    ],
    "jupix.sale_chain_notes": [
        {"noteID": "N1", "saleID": "S3", "date": "2025-05-01", "text": "Buyer's chain"}
    ],
    "jupix.todo_notes": [
        {"noteID": "T1", "userID": "U2", "dueDate": "2025-06-09", "text": "Ring back"}
    ],
}


@pytest.mark.req("J-14", "J-10")
def test_jupix_labels_name_people_and_full_addresses() -> None:
    compiled = ruleset()
    context = compiled.context(
        {name: JUPIX[name] for name in ("jupix.properties", "jupix.sales")}, as_of=AS_OF
    )

    def label(source: str, row: dict[str, Any]) -> Any:
        value = compiled.sources[source].label
        assert value is not None, f"{source} declares no label"
        return value.get(row, context)

    assert label("jupix.contacts", JUPIX["jupix.contacts"][0]) == (
        "Mr Harry Nguyen (Hughes Electrical Services)"
    )
    assert label("jupix.contacts", JUPIX["jupix.contacts"][1]) == "Acme Lettings"
    address = "12 Mill Lane, Clifton, Bristol, BS1 4DJ"
    assert label("jupix.properties", JUPIX["jupix.properties"][0]) == address
    assert label("jupix.sales", JUPIX["jupix.sales"][0]) == f"Sale of {address}"
    assert label("jupix.progression_milestones", JUPIX["jupix.progression_milestones"][0]) == (
        f"Searches Ordered, sale S3 at {address}"
    )
    assert all(source.label is not None for source in compiled.sources.values())


@pytest.mark.req("J-14", "J-10")
def test_jupix_listed_records_carry_their_label() -> None:
    result = migrate(ruleset(), JUPIX, as_of=AS_OF)
    labels = {item["entity"]: item["label"] for item in result.manual}
    address = "12 Mill Lane, Clifton, Bristol, BS1 4DJ"
    assert labels["milestone"] == f"Searches Ordered, sale S3 at {address}"
    assert labels["sale_chain_note"] == f"Chain note of 2025-05-01, sale S3 at {address}"
    assert labels["todo_note"] == "To Do of user U2, due 2025-06-09"
