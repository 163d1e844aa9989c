"""The Jupix export reader: typed rows, located errors that name the fix, whole-export checks."""

from __future__ import annotations

import csv
import io
import tempfile
from datetime import datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.jupix import TABLES, ExportError, JupixExport, write_manifest
from engine.errors import RecordError

PROPERTY = """  <property>
    <propertyID>{pid}</propertyID>
    <branchID>B1</branchID>
    <department>{department}</department>
    <addressStreet>Mill Lane</addressStreet>
    <displayAddress>Mill Lane, Bristol</displayAddress>
    <price>950.00</price>
    <availability>{availability}</availability>
    <dateLastModified>2025-01-02</dateLastModified>
    <crmStatus>Let</crmStatus>
    <archived>false</archived>
    <ownerContactIDs><ownerContactID>C1</ownerContactID></ownerContactIDs>
    <images><image modified="2024-01-01">https://media.example.com/1.jpg</image></images>
{extra}  </property>
"""

ROWS: dict[str, list[dict[str, str]]] = {
    "contacts": [
        {"contactID": "C1", "surname": "Smith", "roles": "landlord;vendor", "archived": "false",
         "dateCreated": "2020-01-01T10:00:00"},
        {"contactID": "C2", "forename": "Siân", "surname": "O'Brien", "roles": "applicant",
         "archived": "false", "dateCreated": "2021-03-04 09:30"},
        {"contactID": "C3", "companyName": "Reid Plumbing", "roles": "third-party supplier",
         "supplierTrade": "Plumber", "archived": "true", "dateCreated": "2019-05-06T08:00:00"},
    ],
    "applicants": [
        {"applicantID": "A1", "contactID": "C2", "department": "Lettings", "minPrice": "700",
         "maxPrice": "1000", "profileExpiryDate": "", "dateRegistered": "2024-01-01",
         "archived": "false", "email": "Sian@Example.com"},
    ],
    "tenancies": [
        {"tenancyID": "T1", "propertyID": "P1", "tenantContactIDs": "C2", "status": "Renewed",
         "startDate": "2023-01-01", "endDate": "2023-12-31", "termMonths": "12", "rent": "950"},
        {"tenancyID": "T2", "propertyID": "P1", "tenantContactIDs": "C2", "status": "Active",
         "startDate": "2024-01-01", "endDate": "2024-12-31", "termMonths": "12",
         "renewedFromTenancyID": "T1", "rent": "975.50"},
    ],
    "maintenance_notes": [
        {"noteID": "M1", "ownerType": "property", "ownerID": "P1", "date": "2024-02-02",
         "text": "Boiler serviced"},
        {"noteID": "M2", "ownerType": "landlord", "ownerID": "C1", "date": "2024-02-03",
         "text": "Prefers own contractors"},
    ],
    "todo_notes": [{"noteID": "TD1", "userID": "U01", "dueDate": "", "text": "Ring C1"}],
}  # fmt: skip


def write_csv(path: Path, header: list[str], rows: list[dict[str, str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(header)
        writer.writerows([row.get(name, "") for name in header] for row in rows)


def write_feed(path: Path, *properties: str) -> None:
    body = "".join(properties)
    path.write_text(f'<?xml version="1.0" encoding="UTF-8"?>\n<properties>\n{body}</properties>\n')


def prop(pid: str, department: str = "Lettings", availability: int = 5, extra: str = "") -> str:
    return PROPERTY.format(pid=pid, department=department, availability=availability, extra=extra)


def make_export(folder: Path, **tables: list[dict[str, str]]) -> JupixExport:
    """A small valid export (ROWS, overridden by `tables`), with its manifest."""
    folder.mkdir(parents=True, exist_ok=True)
    write_feed(folder / "properties.xml", prop("P1"), prop("P2", "Sales", 2))
    for spec in TABLES.values():
        if spec.file.endswith(".csv"):
            rows = tables.get(spec.name, ROWS.get(spec.name, []))
            write_csv(folder / spec.file, list(spec.names), rows)
    write_manifest(folder, agency="Acme Lettings", exported_at=datetime(2025, 6, 1, 18))
    return JupixExport(folder)


def located(export: JupixExport, table: str) -> list[tuple[str, object]]:
    return list(export.iter_located(table))


def messages(items: list[tuple[str, object]]) -> list[str]:
    return [str(item) for _, item in items if isinstance(item, RecordError)]


def test_a_valid_export_reads_back_typed_with_no_problems(tmp_path: Path) -> None:
    export = make_export(tmp_path)
    assert export.tables() == tuple(TABLES)
    assert export.check(rows=True) == []
    contacts = [row for row in export.iter_rows("contacts") if isinstance(row, dict)]
    assert contacts[0]["roles"] == ["landlord", "vendor"]
    assert contacts[1]["dateCreated"] == "2021-03-04T09:30:00"
    assert contacts[2]["archived"] is True
    assert contacts[2]["forename"] is None
    tenancy = list(export.iter_rows("tenancies.csv"))[1]
    assert isinstance(tenancy, dict)
    assert tenancy["rent"] == 975.5
    assert tenancy["termMonths"] == 12
    assert tenancy["renewedFromTenancyID"] == "T1"
    [first, _] = export.iter_rows("properties")
    assert isinstance(first, dict)
    assert first["ownerContactIDs"] == ["C1"]
    assert first["images"] == ["https://media.example.com/1.jpg"]
    assert first["floorplans"] == []
    assert first["availability"] == 5
    assert export.manifest().agency == "Acme Lettings"


@pytest.mark.req("J-03")
def test_a_bad_row_in_the_middle_is_located_and_the_rows_after_it_still_come(
    tmp_path: Path,
) -> None:
    rows = [dict(ROWS["tenancies"][0]), dict(ROWS["tenancies"][1], status="Moved out")]
    rows.append(dict(ROWS["tenancies"][0], tenancyID="T3"))
    export = make_export(tmp_path, tenancies=rows)
    items = located(export, "tenancies")
    assert [where for where, _ in items] == [
        "tenancies.csv:2",
        "tenancies.csv:3",
        "tenancies.csv:4",
    ]
    assert messages(items) == [
        "tenancies.csv:3 (record T2): status 'Moved out' is not one of Active, "
        "Active - Periodic, Moved Out, Renewed, Proposed, Cancelled (did you mean 'Moved Out'?)"
    ]
    assert isinstance(items[2][1], dict)
    assert items[2][1]["tenancyID"] == "T3"


def test_rows_with_too_few_or_too_many_cells_are_row_errors(tmp_path: Path) -> None:
    export = make_export(tmp_path)
    path = tmp_path / "todo_notes.csv"
    path.write_text("noteID,userID,dueDate,text\nTD1,U01\nTD2,U01,,a,b\nTD3,U01,,ok\n")
    items = located(export, "todo_notes")
    assert messages(items) == [
        "todo_notes.csv:2 (record TD1): the row has 2 cells but the header has 4 columns; "
        "put cells holding commas in double quotes",
        "todo_notes.csv:3 (record TD2): the row has 5 cells but the header has 4 columns; "
        "put cells holding commas in double quotes",
    ]
    assert items[2] == ("todo_notes.csv:4", {
        "noteID": "TD3", "userID": "U01", "dueDate": None, "text": "ok"
    })  # fmt: skip


def test_line_numbers_are_physical_lines_where_the_row_starts(tmp_path: Path) -> None:
    export = make_export(tmp_path)
    text = 'noteID,userID,dueDate,text\nTD1,U01,,"two\nlines"\n\nTD2,U01,31/01/2024,x\n'
    (tmp_path / "todo_notes.csv").write_text(text)
    items = located(export, "todo_notes")
    assert items[0] == ("todo_notes.csv:2", {
        "noteID": "TD1", "userID": "U01", "dueDate": None, "text": "two\nlines"
    })  # fmt: skip
    assert messages(items) == [
        "todo_notes.csv:5 (record TD2): dueDate '31/01/2024' is not a date; write YYYY-MM-DD, "
        "e.g. 2024-01-31 (did you mean '2024-01-31'?)"
    ]


def test_malformed_quoting_is_a_row_error(tmp_path: Path) -> None:
    export = make_export(tmp_path)
    text = 'noteID,userID,dueDate,text\nTD1,U01,,"a"b\nTD2,U01,,fine\nTD3,U01,,"never closed\n'
    (tmp_path / "todo_notes.csv").write_text(text)
    items = located(export, "todo_notes")
    found = messages(items)
    assert found[0].startswith("todo_notes.csv:2: malformed CSV (")
    assert items[1] == ("todo_notes.csv:3", {
        "noteID": "TD2", "userID": "U01", "dueDate": None, "text": "fine"
    })  # fmt: skip
    assert found[1] == (
        "todo_notes.csv:4 (record TD3): malformed CSV: a quoted cell opened on this line is "
        "never closed; add the closing '\"', or double a '\"' that is part of the text"
    )


# -- recovery from bad quoting: every line is in exactly one item ---------------------------

TODO_HEADER = "noteID,userID,dueDate,text\n"


def todo_items(tmp_path: Path, body: str) -> list[tuple[str, object]]:
    export = make_export(tmp_path)
    (tmp_path / "todo_notes.csv").write_text(TODO_HEADER + body)
    return located(export, "todo_notes")


def test_a_stray_quote_does_not_swallow_the_rows_after_it(tmp_path: Path) -> None:
    # Python's csv module alone reads this as ONE row whose text holds TD2 and TD3.
    body = 'TD1,U01,,"Ring him\nTD2,U01,,fine\nTD3,U01,,ok"\n'
    items = todo_items(tmp_path, body)
    assert [where for where, _ in items] == [f"todo_notes.csv:{n}" for n in (2, 3, 4)]
    assert messages(items) == [
        "todo_notes.csv:2 (record TD1): malformed CSV: a quoted cell opened on this line is "
        "not closed before line 3, which is a row of its own; add the closing '\"', or double "
        "a '\"' that is part of the text"
    ]
    assert items[1][1] == {"noteID": "TD2", "userID": "U01", "dueDate": None, "text": "fine"}
    assert items[2][1] == {"noteID": "TD3", "userID": "U01", "dueDate": None, "text": 'ok"'}


def test_a_quoted_cell_may_span_lines_holding_commas_and_quotes(tmp_path: Path) -> None:
    body = 'TD1,U01,,"Price agreed, 5% off.\nSaid ""fine"", call back\n\nMonday."\nTD2,U01,,x\n'
    items = todo_items(tmp_path, body)
    assert items == [
        ("todo_notes.csv:2", {"noteID": "TD1", "userID": "U01", "dueDate": None,
                              "text": 'Price agreed, 5% off.\nSaid "fine", call back\n\nMonday.'}),
        ("todo_notes.csv:6", {"noteID": "TD2", "userID": "U01", "dueDate": None, "text": "x"}),
    ]  # fmt: skip


def test_a_stray_quote_before_a_row_with_a_multi_line_cell(tmp_path: Path) -> None:
    # Read on, TD1's stray quote closes at TD2's opening one and makes a row of 4 cells.
    body = 'TD1,U01,"x\nTD2,U01,,",starts with a comma\n and goes on"\nTD3,U01,,y\n'
    items = todo_items(tmp_path, body)
    assert [where for where, _ in items] == [f"todo_notes.csv:{n}" for n in (2, 3, 5)]
    assert messages(items) == [
        "todo_notes.csv:2 (record TD1): malformed CSV: a quoted cell opened on this line is "
        "not closed before line 3, which is a row of its own; add the closing '\"', or double "
        "a '\"' that is part of the text"
    ]
    assert items[1][1] == {
        "noteID": "TD2", "userID": "U01", "dueDate": None,
        "text": ",starts with a comma\n and goes on",
    }  # fmt: skip


def test_a_span_that_closes_into_a_bad_row_gives_back_its_lines(tmp_path: Path) -> None:
    body = 'TD1,U01,,"stray\nTD2,U01\nmore" here\nTD3,U01,,x\nTD4,U01,,"a\nb",extra\n'
    items = todo_items(tmp_path, body)
    assert [where for where, _ in items] == [f"todo_notes.csv:{n}" for n in (2, 3, 4, 5, 6, 7)]
    found = messages(items)
    assert found[0] == (
        "todo_notes.csv:2 (record TD1): malformed CSV: a quoted cell opened on this line runs "
        "to line 4, and that row is not well-formed there (',' expected after '\"'); add the "
        "closing '\"', or double a '\"' that is part of the text; the next line is read as a new "
        "row"
    )
    assert found[1].startswith("todo_notes.csv:3 (record TD2): the row has 2 cells")
    assert found[2].startswith("todo_notes.csv:4: the row has 1 cells")
    assert items[3][1] == {"noteID": "TD3", "userID": "U01", "dueDate": None, "text": "x"}
    assert "runs to line 7, and that row has 5 cells where the header has 4" in found[3]
    assert found[4].startswith("todo_notes.csv:7: the row has 2 cells")


def test_a_quoted_cell_may_not_run_past_the_span_limit(tmp_path: Path) -> None:
    from adapters.jupix._csvrows import MAX_SPAN

    tail = "".join(f"line {n}\n" for n in range(MAX_SPAN))
    items = todo_items(tmp_path, 'TD1,U01,,"a long note\n' + tail + 'end"\n')
    assert len(items) == MAX_SPAN + 2
    assert f"is still open after {MAX_SPAN} lines" in messages(items)[0]
    fits = "".join(f"line {n}\n" for n in range(MAX_SPAN - 2))
    [(_, row)] = todo_items(tmp_path, 'TD1,U01,,"a long note\n' + fits + 'end"\n')
    assert isinstance(row, dict)
    assert str(row["text"]).count("\n") == MAX_SPAN - 1


def test_a_continuation_line_that_reads_as_a_row_is_reported_not_lost(tmp_path: Path) -> None:
    # Ambiguous on its face: the rule (docs/jupix-export.md) reads line 3 as a row.
    items = todo_items(tmp_path, 'TD1,U01,,"first\nTD9,U01,,second"\n')
    assert [where for where, _ in items] == ["todo_notes.csv:2", "todo_notes.csv:3"]
    assert "not closed before line 3, which is a row of its own" in messages(items)[0]
    assert items[1][1] == {"noteID": "TD9", "userID": "U01", "dueDate": None, "text": 'second"'}


@pytest.mark.parametrize(
    ("column", "value", "expected"),
    [
        ("startDate", "2024-02-30", "startDate '2024-02-30' is not a real date"),
        ("termMonths", "twelve", "termMonths 'twelve' is not a whole number; write digits only"),
        ("rent", "£1,250", "e.g. 950.00 (did you mean '1250'?)"),
        ("rent", "12.345", "rent '12.345' is not an amount"),
        ("tenantContactIDs", "C2;;C1", "has an empty item; separate items with a single ';'"),
        ("tenantContactIDs", "C2;C 1", "has item 'C 1', which is not an id"),
        ("propertyID", "", "propertyID is required but empty; fill it in"),
        ("status", " Active", "(did you mean 'Active'?)"),
        ("endDate", "2022-01-01", "endDate 2022-01-01 is before startDate 2023-01-01"),
    ],
)
def test_each_bad_value_names_the_column_the_value_and_the_fix(
    tmp_path: Path, column: str, value: str, expected: str
) -> None:
    export = make_export(tmp_path, tenancies=[dict(ROWS["tenancies"][0], **{column: value})])
    [message] = messages(located(export, "tenancies"))
    assert message.startswith("tenancies.csv:2")
    assert expected in message


@pytest.mark.parametrize(
    ("table", "changes", "expected"),
    [
        (
            "contacts",
            {"archived": "yes"},
            "archived 'yes' is not true or false (did you mean 'true'?)",
        ),
        ("contacts", {"roles": "landlord;vendr"}, "has item 'vendr', which is not one of"),
        ("contacts", {"surname": ""}, "a contact needs a surname or a companyName"),
        ("contacts", {"dateCreated": "2020-01-01"}, "a date alone is not enough"),
        ("applicants", {"minPrice": "2000"}, "minPrice 2000 is above maxPrice 1000; swap them"),
    ],
)
def test_row_rules_and_hints(
    tmp_path: Path, table: str, changes: dict[str, str], expected: str
) -> None:
    export = make_export(tmp_path, **{table: [dict(ROWS[table][0], **changes)]})
    [message] = messages(located(export, table))
    assert expected in message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "",
            "todo_notes.csv: empty; the first line must be the header: noteID,userID,dueDate,text",
        ),
        (
            "TD1,U01,,x\n",
            "todo_notes.csv:1: header row missing; the first line must be: "
            "noteID,userID,dueDate,text",
        ),
        (
            "noteID,userId,dueDate,text,text\n",
            "todo_notes.csv:1: unknown column 'userId' (did you mean 'userID'?); "
            "column 'text' appears twice; keep one; missing column 'userID'",
        ),
        ("noteID,userID,text\n", "todo_notes.csv:1: missing column 'dueDate'"),
    ],
)
def test_header_problems_stop_the_file(tmp_path: Path, text: str, expected: str) -> None:
    export = make_export(tmp_path)
    (tmp_path / "todo_notes.csv").write_text(text)
    with pytest.raises(ExportError) as raised:
        list(export.iter_rows("todo_notes"))
    assert str(raised.value) == expected
    assert expected in [str(problem) for problem in export.check()]


def test_a_utf8_bom_is_accepted(tmp_path: Path) -> None:
    export = make_export(tmp_path)
    (tmp_path / "todo_notes.csv").write_bytes(b"\xef\xbb\xbfnoteID,userID,dueDate,text\nT,U,,x\n")
    assert list(export.iter_rows("todo_notes")) == [
        {"noteID": "T", "userID": "U", "dueDate": None, "text": "x"}
    ]


def test_a_line_that_is_not_utf8_is_named(tmp_path: Path) -> None:
    export = make_export(tmp_path)
    text = "noteID,userID,dueDate,text\nTD1,U01,,fine\nTD2,U01,,caf\xe9\n".encode("latin-1")
    (tmp_path / "todo_notes.csv").write_bytes(text)
    rows = export.iter_rows("todo_notes")
    assert next(rows) == {"noteID": "TD1", "userID": "U01", "dueDate": None, "text": "fine"}
    with pytest.raises(
        ExportError,
        match=r"^todo_notes.csv:3: not UTF-8: byte 0xe9 at column 13; save the file as UTF-8$",
    ):
        next(rows)


def test_a_file_that_cannot_be_opened_is_an_export_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    export = make_export(tmp_path)
    real_open = Path.open

    def refuse(path: Path, *args: object, **kwargs: object) -> object:
        if path.name == "offers.csv":
            raise PermissionError(13, "Permission denied")
        return real_open(path, *args, **kwargs)  # type: ignore[call-overload]

    monkeypatch.setattr(Path, "open", refuse)
    with pytest.raises(ExportError, match=r"^offers.csv: cannot be read \(Permission denied\)$"):
        list(export.iter_rows("offers"))
    assert [str(p) for p in export.check()] == [
        "offers.csv: cannot be read (Permission denied)"
    ] * 2


def test_unknown_table_and_missing_folder(tmp_path: Path) -> None:
    export = make_export(tmp_path / "export")
    with pytest.raises(ExportError, match=r"tenancy: no such table \(did you mean 'tenancies'\?\)"):
        export.iter_rows("tenancy")
    with pytest.raises(ExportError, match="not a folder"):
        JupixExport(tmp_path / "nowhere")


# -- the XML feed -------------------------------------------------------------------------


def test_feed_records_are_located_and_a_bad_one_does_not_stop_the_rest(tmp_path: Path) -> None:
    export = make_export(tmp_path)
    bad = "    <dateLastModifed>2025-01-02</dateLastModifed>\n    <price>1</price>\n"
    wrong_code = prop("P3", "Sales", 6)
    write_feed(
        tmp_path / "properties.xml", prop("P1"), prop("P2", extra=bad), wrong_code, prop("P4")
    )
    items = located(export, "properties")
    assert [where for where, _ in items] == [
        "properties.xml:3",
        "properties.xml:17",
        "properties.xml:33",
        "properties.xml:47",
    ]
    assert messages(items) == [
        "properties.xml:17 (record P2): unknown element <dateLastModifed> (did you mean "
        "'dateLastModified'?); <price> appears more than once; keep one",
        "properties.xml:33 (record P3): availability 6 is not a Sales code: one of 1 On Hold, "
        "2 For Sale, 3 Under Offer, 4 Sold STC, 5 Sold, 7 Withdrawn",
    ]
    assert isinstance(items[3][1], dict)


def test_public_feed_elements_the_migration_ignores_are_accepted(tmp_path: Path) -> None:
    export = make_export(tmp_path)
    extra = (
        "    <mainSummary>Lovely</mainSummary>\n    <propertyFeature3>Garden</propertyFeature3>\n"
    )
    write_feed(tmp_path / "properties.xml", prop("P1", extra=extra))
    [row] = export.iter_rows("properties")
    assert isinstance(row, dict)
    assert "mainSummary" not in row


def test_xml_that_is_not_well_formed_names_line_and_column(tmp_path: Path) -> None:
    export = make_export(tmp_path)
    (tmp_path / "properties.xml").write_text(
        "<properties>\n<property>\n<propertyID>P1</propertyID>\n</propert>\n</properties>\n"
    )
    with pytest.raises(ExportError) as raised:
        list(export.iter_rows("properties"))
    assert str(raised.value) == (
        "properties.xml:4:2: not well-formed XML (mismatched tag); fix the markup"
    )


def test_an_xml_bomb_is_refused(tmp_path: Path) -> None:
    export = make_export(tmp_path)
    lol = "&lol;" * 10
    (tmp_path / "properties.xml").write_text(
        '<?xml version="1.0"?>\n<!DOCTYPE lolz [\n <!ENTITY lol "lol">\n'
        f' <!ENTITY lol2 "{lol}">\n]>\n<properties>&lol2;</properties>\n'
    )
    with pytest.raises(ExportError) as raised:
        list(export.iter_rows("properties"))
    assert str(raised.value).startswith("properties.xml:3: refused: the feed declares an entity")
    assert "XML bomb" in str(raised.value)


def test_a_feed_with_another_root_is_refused(tmp_path: Path) -> None:
    export = make_export(tmp_path)
    (tmp_path / "properties.xml").write_text("<listings>\n<property/>\n</listings>\n")
    with pytest.raises(ExportError, match="root element is <listings>"):
        list(export.iter_rows("properties"))


# -- whole-export checks ------------------------------------------------------------------


@pytest.mark.req("J-15")
def test_a_file_changed_after_the_export_is_named(tmp_path: Path) -> None:
    export = make_export(tmp_path)
    with (tmp_path / "contacts.csv").open("a", encoding="utf-8") as stream:
        stream.write("C9,,,Late,,,,,,,,,vendor,,false,2025-06-02T09:00:00\r\n")
    [problem] = export.check()
    assert isinstance(problem, ExportError)
    assert str(problem).startswith("contacts.csv: changed since the export was taken (SHA-256 ")
    assert "manifest.json says" in str(problem)


def test_missing_unknown_and_unlisted_files(tmp_path: Path) -> None:
    export = make_export(tmp_path)
    (tmp_path / "offers.csv").unlink()
    (tmp_path / "tenancy.csv").write_text("x\n")
    found = [str(problem) for problem in export.check()]
    assert "tenancy.csv: unknown file (did you mean 'tenancies.csv'?); rename or remove it" in found
    assert "offers.csv: missing; an export has every file (header only when there are no rows)" in (
        found
    )
    assert "manifest.json: lists offers.csv, but the file is missing" in found
    (tmp_path / "manifest.json").unlink()
    assert "manifest.json: missing; the export must include manifest.json" in [
        str(problem) for problem in export.check()
    ]


def test_a_bad_manifest_is_reported(tmp_path: Path) -> None:
    export = make_export(tmp_path)
    (tmp_path / "manifest.json").write_text('{"exported_at": "yesterday",\n "agency": 1, }')
    [problem] = [p for p in export.check() if "manifest.json" in str(p)]
    assert str(problem).startswith("manifest.json:2: not valid JSON")


def test_duplicate_ids_and_dangling_references(tmp_path: Path) -> None:
    tenancies = [
        ROWS["tenancies"][0],
        dict(ROWS["tenancies"][0], propertyID="P404", tenantContactIDs="C2;C404"),
        dict(ROWS["tenancies"][1], renewedFromTenancyID="T404"),
    ]
    notes = [dict(ROWS["maintenance_notes"][0], ownerID="C1"), ROWS["maintenance_notes"][1]]
    export = make_export(tmp_path, tenancies=tenancies, maintenance_notes=notes)
    assert [str(problem) for problem in export.check()] == [
        "tenancies.csv:3 (record T1): tenancyID 'T1' is already used at tenancies.csv:2; "
        "ids must be unique",
        "tenancies.csv:3 (record T1): propertyID 'P404' is not a propertyID in properties.xml",
        "tenancies.csv:3 (record T1): tenantContactIDs 'C404' is not a contactID in contacts.csv",
        "tenancies.csv:4 (record T2): renewedFromTenancyID 'T404' is not a tenancyID in "
        "tenancies.csv",
        "maintenance_notes.csv:2 (record M1): ownerID 'C1' is not a propertyID in properties.xml",
    ]


def test_a_bad_row_does_not_cascade_into_reference_errors(tmp_path: Path) -> None:
    contacts = [dict(ROWS["contacts"][0], archived="maybe"), *ROWS["contacts"][1:]]
    export = make_export(tmp_path, contacts=contacts)
    assert export.check() == []
    [problem] = export.check(rows=True)
    assert str(problem).startswith("contacts.csv:2 (record C1): archived 'maybe'")


# -- never a traceback --------------------------------------------------------------------

_TEXT = st.text(st.characters(exclude_categories=["Cs"]), max_size=40)


def _read_todo(body: bytes) -> list[object]:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "todo_notes.csv"
        path.write_bytes(b"noteID,userID,dueDate,text\r\n" + body)
        return list(JupixExport(folder).iter_rows("todo_notes"))


@settings(max_examples=150, deadline=None)
@given(cells=st.lists(_TEXT, min_size=4, max_size=4))
def test_any_quoted_cell_text_gives_one_typed_row_or_one_record_error(cells: list[str]) -> None:
    buffer = io.StringIO()
    csv.writer(buffer).writerow(cells)
    [item] = _read_todo(buffer.getvalue().encode("utf-8"))
    assert isinstance(item, dict | RecordError)
    if isinstance(item, dict):
        assert item["text"] == cells[3]


@settings(max_examples=150, deadline=None)
@given(cells=st.lists(_TEXT, min_size=1, max_size=6))
def test_any_raw_line_never_crashes_the_reader(cells: list[str]) -> None:
    items = _read_todo(",".join(cells).encode("utf-8"))
    assert all(isinstance(item, dict | RecordError) for item in items)


def test_the_documentation_names_every_file_and_column() -> None:
    doc = (Path(__file__).parents[2] / "docs" / "jupix-export.md").read_text(encoding="utf-8")
    for spec in TABLES.values():
        assert f"### `{spec.file}`" in doc
        for column in spec.columns:
            assert f"| `{column.name}` |" in doc, (spec.file, column.name)
            for value in column.allowed:
                assert f"`{value}`" in doc, (spec.file, column.name, value)


# -- every physical line in exactly one item, whatever the corruption (Hypothesis) ---------

_WORD = st.text(st.sampled_from("abXY09 -"), min_size=1, max_size=8).filter(
    lambda text: not text.isspace()
)
# Free text with commas, quotes and line breaks; each continuation line starts with a space,
# so it never reads as a row of its own (that ambiguity has its own test above).
_NOTE = (
    st.text(st.sampled_from('ab ,"\n'), min_size=1, max_size=30)
    .filter(lambda text: not text.isspace())
    .map(lambda text: text.replace("\n", "\n "))
)
Expected = list[tuple[int, dict[str, object] | None]]


def _corrupt(kind: str, cells: list[str], draw: st.DrawFn, end: str) -> str:
    """One single-line row of simple cells, broken the way `kind` says."""
    if kind == "stray":  # a quote opening a cell that is never closed
        at = draw(st.integers(0, 3))
        cells = [*cells[:at], '"' + cells[at], *cells[at + 1 :]]
        return ",".join(cells) + end
    if kind == "width":  # a comma too many or too few
        text = ",".join(cells)
        if draw(st.booleans()):
            at = draw(st.integers(0, len(text)))
            return text[:at] + "," + text[at:] + end
        commas = [index for index, char in enumerate(text) if char == ","]
        at = draw(st.sampled_from(commas))
        return text[:at] + text[at + 1 :] + end
    at = draw(st.integers(1, 2))  # "broken": a line break in the middle of the row
    split = draw(st.integers(0, len(cells[at])))
    cells = [*cells[:at], cells[at][:split] + end + cells[at][split:], *cells[at + 1 :]]
    return ",".join(cells) + end


@st.composite
def _todo_file(draw: st.DrawFn) -> tuple[str, Expected]:
    end = draw(st.sampled_from(["\n", "\r\n"]))
    body, line = "", 2
    expected: Expected = []
    for index in range(draw(st.integers(0, 10))):
        if draw(st.integers(0, 5)) == 0:
            body, line = body + end, line + 1
        kind = draw(st.sampled_from(["clean", "clean", "stray", "width", "broken"]))
        cells = [
            f"TD{index}",
            draw(st.sampled_from(["U1", "u-2"])),
            draw(st.sampled_from(["", "2024-01-31"])),
        ]
        if kind == "clean":
            cells.append(draw(_NOTE))
            buffer = io.StringIO()
            csv.writer(buffer, lineterminator=end).writerow(cells)
            written = buffer.getvalue()
            row = dict(zip(["noteID", "userID", "dueDate", "text"], cells, strict=True))
            expected.append((line, {**row, "dueDate": row["dueDate"] or None}))
        else:
            written = _corrupt(kind, [*cells, draw(_WORD)], draw, end)
            expected += [(line + n, None) for n in range(written.count("\n"))]
        body, line = body + written, line + written.count("\n")
    return body, expected


@settings(max_examples=200, deadline=None)
@given(file=_todo_file())
def test_every_line_is_in_one_item_and_every_good_row_survives(
    file: tuple[str, Expected],
) -> None:
    body, expected = file
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "todo_notes.csv").write_bytes(
            b"noteID,userID,dueDate,text\r\n" + body.encode()
        )
        items = list(JupixExport(folder).iter_located("todo_notes"))
    found = [
        (int(where.rsplit(":", 1)[1]), None if isinstance(item, RecordError) else item)
        for where, item in items
    ]
    assert found == expected
    assert all(
        str(item).startswith(f"{where} ") or str(item).startswith(f"{where}:")
        for where, item in items
        if isinstance(item, RecordError)
    )
