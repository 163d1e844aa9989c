"""Snapshots: streaming round trips, bad records in place, whole-file errors, the fast check."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.errors import RecordError
from engine.snapshot import SnapshotError, iter_records, read_header, write_snapshot
from engine.snapshot import schema as snapshot_schema

TAKEN = "2026-11-22T02:00:00Z"
HEADER = f'"system": "alto", "taken_at": "{TAKEN}"'

INVENTORY = {
    "inventoryId": "12345",
    "branchId": "1",
    "recordType": "Rent",
    "archived": False,
    "status": "Let",
    "address": {"subDwelling": "Flat 2", "nameNo": "10", "street": "High St", "town": "Leeds"},
    "managementType": "FullyManaged",
    "modifiedAt": "2026-01-02T03:04:05Z",
}  # fmt: skip
CONTACT = {
    "id": "500001",
    "contactType": {"category": "Client", "persona": ["Landlord"]},
    "contactInformation": [{"foreName": "Ann", "surname": "Lee", "emailAddress": "a@b.example"}],
    "isActive": True,
}
TENANCY = {"id": 900001, "propertyId": 12345, "startDate": "2025-01-01T00:00:00Z", "endDate": None}
SUPPLIER = {
    "id": "300001",
    "companyName": "Pipes Ltd",
    "providedServices": ["Plumbing"],
    "people": [{"forename": "Gary", "emailAddresses": ["g@pipes.example"]}],
}


def write_bytes(tmp_path: Path, data: bytes, name: str = "snap.json") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def snapshot_error(path: Path, **kwargs: Any) -> SnapshotError:
    with pytest.raises(SnapshotError) as caught:
        read_header(path, **kwargs)
    return caught.value


# --- round trips ------------------------------------------------------------------------


def test_written_records_read_back_unchanged(tmp_path: Path) -> None:
    path = tmp_path / "alto.json"
    collections: dict[str, Iterable[Mapping[str, Any]]] = {
        "inventory": [INVENTORY],
        "contacts": [CONTACT],
        "tenancies": [TENANCY],
    }
    counts = write_snapshot(
        path, "alto", collections | {"suppliers": iter([SUPPLIER])}, TAKEN, "guid"
    )

    header = read_header(path, system="alto")

    assert counts == {"inventory": 1, "contacts": 1, "tenancies": 1, "suppliers": 1}
    assert (header.system, header.taken_at, header.agency_ref) == ("alto", TAKEN, "guid")
    assert header.collections == ("inventory", "contacts", "tenancies", "suppliers")
    assert header.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    for name, records in (collections | {"suppliers": [SUPPLIER]}).items():
        assert list(iter_records(path, name, header=header)) == records


def test_fixflo_round_trip_and_absent_collections_read_as_empty(tmp_path: Path) -> None:
    path = tmp_path / "fixflo.json"
    link = {
        "Id": 7,
        "ExternalLandlordRef": "500001",
        "ExternalPropertyRef": "100001",
        "IsPrimaryLandlord": True,
    }
    prop = {"id": 10001, "ExternalPropertyRef": None, "Address": {"AddressLine1": "1 A Road"}}
    write_snapshot(path, "fixflo", {"properties": [prop], "landlord_properties": [link]}, TAKEN)

    assert read_header(path).agency_ref is None
    assert list(iter_records(path, "properties")) == [prop]
    assert list(iter_records(path, "landlord_properties")) == [link]
    assert list(iter_records(path, "tenants")) == []


def test_the_same_records_give_the_same_bytes(tmp_path: Path) -> None:
    for name in ("a.json", "b.json"):
        write_snapshot(tmp_path / name, "alto", {"inventory": [INVENTORY, INVENTORY]}, TAKEN)
    assert (tmp_path / "a.json").read_bytes() == (tmp_path / "b.json").read_bytes()


def test_unknown_keys_inside_records_are_kept(tmp_path: Path) -> None:
    record = INVENTORY | {"vendorAddedField": {"x": [1, 2]}}
    path = tmp_path / "alto.json"
    write_snapshot(path, "alto", {"inventory": [record]}, TAKEN)
    assert list(iter_records(path, "inventory")) == [record]


# --- bad records --------------------------------------------------------------------------


def test_a_bad_record_is_reported_in_place_and_reading_goes_on(tmp_path: Path) -> None:
    bad = {"inventoryId": 2, "archived": "no", "address": {"postcode": 5}}
    path = tmp_path / "alto.json"
    third = INVENTORY | {"inventoryId": "3"}
    write_snapshot(path, "alto", {"inventory": [INVENTORY, bad, third]}, TAKEN)

    first, error, last = iter_records(path, "inventory")

    assert first == INVENTORY
    assert last == third
    assert isinstance(error, RecordError)
    assert error.where == f"{path}#inventory[1]"
    assert error.record_id == "2"
    assert 'archived is the string "no", expected true or false' in error.message
    assert "inventoryId is the number 2, expected a non-empty string" in error.message
    assert "address.postcode is the number 5" in error.message


@pytest.mark.parametrize(
    ("record", "expected"),
    [
        ([1, 2], 'the record is a list, expected an object with "inventoryId"'),
        ({"id": "1"}, 'missing "inventoryId": add a non-empty string such as "12345"'),
        ({"inventoryId": ""}, "inventoryId is the empty string"),
        ({"inventoryId": "1", "modifiedAt": "yesterday"}, "expected an ISO date-time with a zone"),
        ({"inventoryId": "1", "address": {"town": 3}}, "address.town is the number 3"),
        (
            {"inventoryId": "1", "status": "Sold"},
            'status is the string "Sold", expected "Unspecified"',
        ),
    ],
)
def test_bad_records_say_what_is_wrong_and_how_to_fix_it(
    tmp_path: Path, record: object, expected: str
) -> None:
    path = tmp_path / "alto.json"
    write_snapshot(path, "alto", {"inventory": [record]}, TAKEN)  # type: ignore[list-item]
    (error,) = iter_records(path, "inventory")
    assert isinstance(error, RecordError)
    assert expected in error.message


def test_link_records_are_identified_by_their_fixflo_id(tmp_path: Path) -> None:
    """Fixflo's link records are join records keyed by the link's own Id (docs/adapters.md)."""
    path = tmp_path / "fixflo.json"
    link = {"Id": "7", "TenantExternalRef": "5", "PropertyExternalRef": "100001", "LinkType": 3}
    write_snapshot(path, "fixflo", {"tenant_properties": [link]}, TAKEN)
    (error,) = iter_records(path, "tenant_properties")
    assert isinstance(error, RecordError)
    assert error.record_id == "7"
    assert "LinkType is the number 3" in error.message


# --- whole-file errors ----------------------------------------------------------------------


def test_not_json_gives_line_and_column(tmp_path: Path) -> None:
    path = write_bytes(
        tmp_path, b'{"system": "alto",\n"taken_at": "x",\n"inventory": [{"id": "1"} {}]}'
    )
    error = snapshot_error(path)
    assert (error.line, error.column) == (3, 27)
    assert "not valid JSON (Expecting ',' delimiter)" in str(error)
    assert str(error).startswith(f"{path}:3:27: ")


def test_a_truncated_file_says_so(tmp_path: Path) -> None:
    path = write_bytes(tmp_path, ("{" + HEADER + ', "inventory": [{"id": "1"').encode())
    assert "stops before its end" in snapshot_error(path).message


def test_an_unknown_system_suggests_the_closest(tmp_path: Path) -> None:
    path = write_bytes(tmp_path, b'{"system": "Alto ", "taken_at": "2026-11-22T02:00:00Z"}')
    assert '"system" is "Alto " (did you mean "alto"?)' in snapshot_error(path).message


def test_the_wrong_system_for_the_caller_is_an_error(tmp_path: Path) -> None:
    path = write_bytes(tmp_path, ("{" + HEADER + "}").encode())
    message = snapshot_error(path, system="fixflo").message
    assert '"system" is "alto" but a fixflo snapshot is needed here' in message


def test_an_unknown_top_level_key_suggests_the_closest(tmp_path: Path) -> None:
    path = write_bytes(tmp_path, ("{" + HEADER + ', "inventry": [], "properties": []}').encode())
    message = snapshot_error(path).message
    assert 'unknown top-level key "inventry" (did you mean "inventory"?)' in message
    assert '"properties" (a fixflo collection)' in message


def test_a_file_that_is_not_utf8_says_where(tmp_path: Path) -> None:
    text = "{" + HEADER + ',\n"contacts": [{"id": "1", "surname": "Brontë"}]}'
    error = snapshot_error(write_bytes(tmp_path, text.encode("latin-1")))
    assert "not UTF-8 (byte 0xEB)" in error.message
    assert (error.line, error.column) == (2, 43)


def test_utf16_is_refused_and_a_utf8_bom_accepted(tmp_path: Path) -> None:
    text = "{" + HEADER + "}"
    assert "UTF-16" in snapshot_error(write_bytes(tmp_path, text.encode("utf-16"))).message
    assert read_header(write_bytes(tmp_path, text.encode("utf-8-sig"), "bom.json")).system == "alto"


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"", "the file is empty"),
        (b"[1, 2]", "a snapshot is one JSON object"),
        (b'{"taken_at": "2026-11-22T02:00:00Z"}', 'missing "system"'),
        (b'{"system": "fixflo"}', 'missing "taken_at": add an ISO date-time'),
        (("{" + HEADER + ', "inventory": {}}').encode(), "inventory is an object, expected a list"),
        (("{" + HEADER + ', "inventory": [], "inventory": []}').encode(), "appears twice"),
        (b'{"system": "alto", "taken_at": "today"}', 'taken_at is the string "today"'),
        (("{" + HEADER + "} extra").encode(), "more text after"),
        (("{" + HEADER + ', "x": 123456789012345678901234567890}').encode(), "too large"),
    ],
)
def test_whole_file_problems_are_snapshot_errors(
    tmp_path: Path, content: bytes, expected: str
) -> None:
    assert expected in snapshot_error(write_bytes(tmp_path, content)).message


def test_missing_files_and_folders_are_snapshot_errors(tmp_path: Path) -> None:
    write_bytes(tmp_path, b"{}", "alto.json")
    assert 'did you mean "alto.json"' in snapshot_error(tmp_path / "alto.jsn").message
    assert "this is a folder" in snapshot_error(tmp_path).message


def test_an_unknown_collection_name_suggests_the_closest(tmp_path: Path) -> None:
    path = tmp_path / "alto.json"
    write_snapshot(path, "alto", {}, TAKEN)
    with pytest.raises(SnapshotError, match=r'no collection "invetory".*did you mean "inventory"'):
        iter_records(path, "invetory")


def test_a_file_changed_since_its_header_was_read_is_noticed(tmp_path: Path) -> None:
    path = tmp_path / "alto.json"
    write_snapshot(path, "alto", {"inventory": [INVENTORY]}, TAKEN)
    header = read_header(path)
    write_snapshot(path, "alto", {"inventory": [INVENTORY, INVENTORY]}, TAKEN)
    with pytest.raises(SnapshotError, match="changed while it was being read"):
        list(iter_records(path, "inventory", header=header))


# --- writing ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("system", "collections", "expected"),
    [
        ("alt", {}, 'did you mean "alto"'),
        ("alto", {"invetory": []}, 'did you mean "inventory"'),
        (
            "alto",
            {"inventory": [{"inventoryId": "1", "x": float("nan")}]},
            "inventory[0] cannot be written",
        ),
        (
            "alto",
            {"inventory": [{"inventoryId": "1", "x": object()}]},
            "inventory[0] cannot be written",
        ),
    ],
)
def test_bad_writes_leave_the_old_file_and_no_temporary(
    tmp_path: Path, system: str, collections: dict[str, Any], expected: str
) -> None:
    path = tmp_path / "alto.json"
    write_snapshot(path, "alto", {"inventory": [INVENTORY]}, TAKEN)
    before = path.read_bytes()
    with pytest.raises(SnapshotError, match=expected.replace("[", r"\[")):
        write_snapshot(path, system, collections, TAKEN)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["alto.json"]


def test_writing_into_a_missing_folder_is_a_snapshot_error(tmp_path: Path) -> None:
    with pytest.raises(SnapshotError, match="check the folder exists"):
        write_snapshot(tmp_path / "nowhere" / "alto.json", "alto", {}, TAKEN)


# --- properties ---------------------------------------------------------------------------

JSON_LEAVES = (
    st.none()
    | st.booleans()
    | st.integers(min_value=1 - 2**63, max_value=2**63 - 1)  # what yajl reads
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
    | st.sampled_from(["12345", "", "2026-11-22", "2026-11-22T02:00:00Z", "Rent"])
)
SCHEMA_KEYS = sorted(
    {
        key
        for name in snapshot_schema.load_schema()["$defs"].values()
        for key in name.get("properties", {})
    }
)
JSON_VALUES = st.recursive(
    JSON_LEAVES,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.sampled_from(SCHEMA_KEYS) | st.text(max_size=5), inner, max_size=5)
    ),
    max_leaves=15,
)
COLLECTIONS = [("alto", name) for name in snapshot_schema.collections_of("alto")] + [
    ("fixflo", name) for name in snapshot_schema.collections_of("fixflo")
]


@given(records=st.lists(JSON_VALUES, max_size=6), which=st.sampled_from(COLLECTIONS))
def test_arbitrary_json_records_give_a_record_or_a_record_error(
    tmp_path_factory: pytest.TempPathFactory, records: list[Any], which: tuple[str, str]
) -> None:
    system, collection = which
    path = tmp_path_factory.mktemp("any") / "snap.json"
    write_snapshot(path, system, {collection: records}, TAKEN)

    results = list(iter_records(path, collection))

    assert len(results) == len(records)
    for index, (result, record) in enumerate(zip(results, records, strict=True)):
        if isinstance(result, RecordError):
            assert result.where.endswith(f"#{collection}[{index}]")
            assert result.message
        else:
            assert result == record


@given(record=JSON_VALUES, which=st.sampled_from(COLLECTIONS))
def test_the_fast_check_agrees_with_jsonschema(record: Any, which: tuple[str, str]) -> None:
    checks = snapshot_schema.collection_schema(*which)
    assert checks.is_valid(record) == checks.validator.is_valid(record)


@given(
    record=st.fixed_dictionaries(
        {"inventoryId": JSON_LEAVES, "address": JSON_VALUES, "status": JSON_VALUES}
    )
)
def test_the_fast_check_agrees_on_near_valid_inventory(record: dict[str, Any]) -> None:
    checks = snapshot_schema.collection_schema("alto", "inventory")
    assert checks.is_valid(record) == checks.validator.is_valid(record)


def test_the_fast_check_refuses_keywords_it_does_not_implement() -> None:
    with pytest.raises(ValueError, match="'minimum'"):
        snapshot_schema.compile_check({"type": "integer", "minimum": 1}, {})


def test_the_schema_file_is_valid_json_schema() -> None:
    from jsonschema import Draft202012Validator

    Draft202012Validator.check_schema(snapshot_schema.load_schema())
    assert json.loads(json.dumps(snapshot_schema.load_schema()))["$defs"]["alto_inventory"][
        "required"
    ] == ["inventoryId"]
