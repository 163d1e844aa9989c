"""`rulebridge migrate --since`: the catch-up against what was loaded (J-16), from a generated
export migrated once, then a second export edited by hand as an agency's data moves on."""

from __future__ import annotations

import json
import re
import shutil
import stat
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import click.testing
import pytest
from click.testing import CliRunner

from adapters.jupix import write_manifest
from rulebridge._exits import ExitCode
from rulebridge.cli import main
from rulebridge.cli._since_baseline import BaselineError, read_collection
from simulator.jupix import write_jupix_export
from tests.rulesets.jupix import RULESET_PATH

AS_OF = "2025-06-02"
AGENCY = "Acme Lettings"


def invoke(jupix: Path, out: Path, *extra: str | Path) -> click.testing.Result:
    """`rulebridge migrate` through the command group, as a user runs it."""
    args = ["--ruleset", RULESET_PATH, "--jupix", jupix, "--as-of", AS_OF, "--out", out, *extra]
    return CliRunner().invoke(main, ["migrate", *(str(arg) for arg in args)])


def read(path: Path) -> Any:
    return json.loads(path.read_text("utf-8"))


def ids(path: Path) -> list[str]:
    return [record["id"] for record in read(path)]


def keys(items: list[dict[str, Any]]) -> set[tuple[str, str]]:
    return {(item["collection"], item["id"]) for item in items}


@dataclass(frozen=True)
class World:
    """The first export and what was loaded from it; the second export and what changed."""

    first: Path
    loaded: Path
    second: Path
    expired: str
    expired_contact: str
    removed_contact: str
    repriced: str
    new_price: str
    old_price: float


def _csv_rows(path: Path) -> list[str]:
    return path.read_text("utf-8").splitlines(keepends=True)


def _pick_expiring_applicant(loaded: Path, export: Path) -> tuple[str, str]:
    """A searching applicant that merged none into itself (so expiring it moves only it)."""
    merged_into = {
        item["detail"].split()[2]
        for item in read(loaded / "reconciliation.json")["differences"]
        if item["change"] == "merged"
    }
    searching = {record["id"]: record for record in read(loaded / "applicants.json")}
    for line in _csv_rows(export / "applicants.csv")[1:]:
        applicant, contact = line.split(",")[:2]
        if applicant in searching and applicant not in merged_into:
            return applicant, contact
    raise AssertionError("the generated export has no plain searching applicant")


def _pick_lone_contact(export: Path) -> str:
    """A contact no other file names: removing its row removes only it."""
    others = "".join(
        path.read_text("utf-8") for path in export.iterdir() if path.name != "contacts.csv"
    )
    for line in _csv_rows(export / "contacts.csv")[1:]:
        contact = line.split(",")[0]
        if not re.search(rf"\b{contact}\b", others):
            return contact
    raise AssertionError("the generated export has no contact that nothing names")


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    root = tmp_path_factory.mktemp("since")
    first = root / "first"
    write_jupix_export(first, 30, 5, agency=AGENCY)
    loaded = root / "loaded"
    result = invoke(first, loaded)
    assert result.exit_code == 0, result.output
    second = root / "second"
    shutil.copytree(first, second)
    expired, expired_contact = _pick_expiring_applicant(loaded, first)
    removed_contact = _pick_lone_contact(first)
    rows = _csv_rows(second / "applicants.csv")
    header = rows[0].rstrip("\n").split(",")
    for number, line in enumerate(rows):
        cells = line.rstrip("\n").split(",")
        if cells[0] == expired:
            cells[header.index("profileExpiryDate")] = "2025-03-01"
            rows[number] = ",".join(cells) + "\n"
    (second / "applicants.csv").write_text("".join(rows), "utf-8")
    contacts = [
        row for row in _csv_rows(second / "contacts.csv") if row.split(",")[0] != removed_contact
    ]
    (second / "contacts.csv").write_text("".join(contacts), "utf-8")
    xml = (second / "properties.xml").read_text("utf-8")
    repriced = "P3"
    block = re.search(rf"<propertyID>{repriced}</propertyID>.*?</property>", xml, re.S)
    assert block is not None
    old_price = re.search(r"<price>([^<]*)</price>", block[0])
    assert old_price is not None
    new_price = f"{float(old_price[1]) + 125:.2f}"
    edited = block[0].replace(old_price[0], f"<price>{new_price}</price>")
    (second / "properties.xml").write_text(xml.replace(block[0], edited), "utf-8")
    with (second / "todo_notes.csv").open("a", encoding="utf-8") as todo:
        todo.write("TD99,U01,2025-06-20,Ring the new landlord about the inventory.\n")
    write_manifest(second, agency=AGENCY, exported_at=datetime(2025, 6, 8, 18))
    return World(
        first,
        loaded,
        second,
        expired,
        expired_contact,
        removed_contact,
        repriced,
        new_price,
        float(old_price[1]),
    )


def test_catch_up_sorts_each_change_into_its_category(world: World, tmp_path: Path) -> None:
    """J-16: added, changed (with the field), removed, no longer wanted (with its rule), and
    only the new manual action; the collection files hold only what to load."""
    out = tmp_path / "catch-up"
    result = invoke(world.second, out, "--since", world.loaded)
    assert result.exit_code == 0, result.output
    assert "0 added, " in result.output
    assert "1 removed from Jupix, 1 no longer wanted" in result.output
    assert "manual actions: 1 new, 0 changed, 0 no longer needed" in result.output
    report = read(out / "catch-up.json")
    assert report["baseline"] == "output"
    assert report["baseline_as_of"] == AS_OF
    assert report["added"] == []
    changed = {(item["collection"], item["id"]): item for item in report["changed"]}
    # the expired applicant's contact may change too (how it is typed when no profile searches)
    assert set(changed) - {("contacts", world.expired_contact)} == {("inventory", world.repriced)}
    price = changed[("inventory", world.repriced)]
    assert price["fields"] == ["price"]
    assert price["shown"] == [
        {"field": "price", "old": world.old_price, "new": float(world.new_price)}
    ]
    assert keys(report["removed"]) == {("contacts", world.removed_contact)}
    (wanted,) = report["no_longer_wanted"]
    assert (wanted["collection"], wanted["id"], wanted["rule"]) == (
        "applicants",
        world.expired,
        "J-01",
    )
    assert "expire" in wanted["summary"]
    surname = next(
        line.split(",")[10]
        for line in _csv_rows(world.first / "applicants.csv")
        if line.startswith(f"{world.expired},")
    )
    assert surname in wanted["label"]
    assert "2025-03-01" in wanted["reason"]
    assert "=" not in wanted["reason"]  # said in words, not as a comparison
    assert "'" not in wanted["reason"]
    assert [item["id"] for item in report["new_manual_actions"]] == ["todo/TD99"]
    assert report["changed_manual_actions"] == report["no_longer_needed"] == []
    # the collection files are the delta to load
    assert ids(out / "inventory.json") == [world.repriced]
    assert ids(out / "applicants.json") == []
    assert set(ids(out / "contacts.json")) <= {world.expired_contact}
    assert [item["id"] for item in read(out / "manual-actions.json")["actions"]] == ["todo/TD99"]
    counts = report["counts"]
    assert counts["inventory"]["changed"] == 1
    assert counts["inventory"]["unchanged"] == len(read(world.loaded / "inventory.json")) - 1
    assert counts["manual-actions"] == {
        "new": 1,
        "unchanged": len(read(world.loaded / "manual-actions.json")["actions"]),
    }


def test_catch_up_markdown_says_what_to_do_for_each_record(world: World, tmp_path: Path) -> None:
    out = tmp_path / "catch-up"
    assert invoke(world.second, out, "--since", world.loaded).exit_code == 0
    text = (out / "catch-up.md").read_text("utf-8")
    assert f"since {world.loaded}" in text
    assert "## Added in Jupix since (0)" in text
    assert (
        f"- inventory: `{world.repriced}`: price {world.old_price} -> {float(world.new_price)}"
        in text
    )
    assert "## Removed from Jupix (1): delete or archive in Alto" in text
    assert f"- contacts: `{world.removed_contact}`" in text
    assert "## No longer wanted (1): by rule" in text
    # the applicant's name (its source's label) before its id, then the rule and its summary
    wanted = rf"- applicants: [^`\n]+ `{world.expired}` \(J-01: Only profiles that expire"
    assert re.search(wanted, text), text
    assert "## New manual actions (1)" in text
    assert "`todo/TD99`" in text
    assert "## No longer needed (0)" in text
    for name in ("catch-up.md", "catch-up.json", "contacts.json", "manual-actions.json"):
        assert stat.S_IMODE((out / name).stat().st_mode) == 0o600


def test_reconciliation_still_accounts_for_every_record_of_the_new_export(
    world: World, tmp_path: Path
) -> None:
    """J-16: the catch-up output's reconciliation is the full one, every record once."""
    assert invoke(world.second, tmp_path / "catch-up", "--since", world.loaded).exit_code == 0
    assert invoke(world.second, tmp_path / "full").exit_code == 0
    delta = read(tmp_path / "catch-up" / "reconciliation.json")
    full = read(tmp_path / "full" / "reconciliation.json")
    assert delta["sources"] == full["sources"]
    assert len(delta["records"]) == len(full["records"])


def test_an_unchanged_export_gives_an_empty_catch_up(world: World, tmp_path: Path) -> None:
    out = tmp_path / "again"
    result = invoke(world.first, out, "--since", world.loaded)
    assert result.exit_code == 0, result.output
    report = read(out / "catch-up.json")
    for section in (
        "added",
        "changed",
        "removed",
        "no_longer_wanted",
        "new_manual_actions",
        "changed_manual_actions",
        "no_longer_needed",
    ):
        assert report[section] == [], section
    for name in ("contacts", "applicants", "inventory", "tenancies", "timeline", "media"):
        assert read(out / f"{name}.json") == [], name
    assert read(out / "manual-actions.json")["actions"] == []
    assert sum(found.get("unchanged", 0) for found in report["counts"].values()) > 100


def test_an_earlier_export_is_re_migrated_as_the_weaker_baseline(
    world: World, tmp_path: Path
) -> None:
    out = tmp_path / "from-export"
    result = invoke(world.second, out, "--since", world.first)
    assert result.exit_code == 0, result.output
    report = read(out / "catch-up.json")
    assert report["baseline"] == "export"
    assert report["baseline_exported_at"] == "2025-06-01T18:00:00"
    assert keys(report["removed"]) == {("contacts", world.removed_contact)}
    assert [item["id"] for item in report["no_longer_wanted"]] == [world.expired]
    assert [item["id"] for item in report["new_manual_actions"]] == ["todo/TD99"]
    assert "not with what was loaded" in (out / "catch-up.md").read_text("utf-8")


@pytest.mark.parametrize(
    ("edit", "where"),
    [
        (lambda lines: [*lines[:2], "{not json\n", *lines[3:]], "contacts.json:3"),
        (lambda lines: lines[:-1], "contacts.json:"),
        (lambda lines: [lines[0], lines[1].rstrip(",\n") + "\n", *lines[2:]], "contacts.json:3"),
        (lambda lines: ['{"records": ' + lines[0], *lines[1:]], "contacts.json:1"),
    ],
    ids=["garbage-line", "truncated", "missing-comma", "not-the-format"],
)
def test_a_corrupted_baseline_is_refused_with_its_file_and_line(
    world: World, tmp_path: Path, edit: Any, where: str
) -> None:
    broken = tmp_path / "broken"
    shutil.copytree(world.loaded, broken)
    path = broken / "contacts.json"
    path.write_text("".join(edit(path.read_text("utf-8").splitlines(keepends=True))), "utf-8")
    result = invoke(world.second, tmp_path / "out", "--since", broken)
    assert result.exit_code == ExitCode.FAILURE, result.output
    assert where in result.output
    assert "restore the folder you loaded" in result.output
    assert "Traceback" not in result.output
    assert isinstance(result.exception, SystemExit)
    assert not (tmp_path / "out").exists()


def test_a_catch_up_output_is_refused_as_a_baseline(world: World, tmp_path: Path) -> None:
    first = tmp_path / "first-catch-up"
    assert invoke(world.second, first, "--since", world.loaded).exit_code == 0
    result = invoke(world.second, tmp_path / "out", "--since", first)
    assert result.exit_code == ExitCode.USAGE, result.output
    assert "is itself a catch-up" in result.output
    assert "Give the full output you first loaded" in result.output


def test_a_check_output_is_refused_as_a_baseline(world: World, tmp_path: Path) -> None:
    house = tmp_path / "house"
    args = ["migrate", "--ruleset", str(RULESET_PATH), "--jupix", str(world.first)]
    args += ["--as-of", AS_OF, "--check", "--out", str(house)]
    assert CliRunner().invoke(main, args).exit_code in (ExitCode.NOTHING, ExitCode.ATTENTION)
    result = invoke(world.second, tmp_path / "out", "--since", house)
    assert result.exit_code == ExitCode.USAGE, result.output
    assert "this output holds no records" in result.output


def test_a_folder_that_is_neither_output_nor_export_is_refused(
    world: World, tmp_path: Path
) -> None:
    (tmp_path / "empty").mkdir()
    result = invoke(world.second, tmp_path / "out", "--since", tmp_path / "empty")
    assert result.exit_code == ExitCode.USAGE, result.output
    assert "neither an output folder of rulebridge migrate" in result.output


def test_read_collection_streams_the_writers_format(tmp_path: Path) -> None:
    path = tmp_path / "things.json"
    path.write_text('[\n{"id": "1"},\n{"id": "2", "x": "a,\\nb"}\n]\n', "utf-8")
    assert [(line, record["id"]) for line, record in read_collection(path)] == [
        (2, "1"),
        (3, "2"),
    ]
    path.write_text("[]\n", "utf-8")
    assert list(read_collection(path)) == []
    path.write_text('[\n{"id": "1"},\n[1]\n]\n', "utf-8")
    with pytest.raises(BaselineError, match=r"things.json:3: not a JSON record"):
        list(read_collection(path))
    listed = tmp_path / "manual-actions.json"
    listed.write_text('{\n  "as_of": "2025-06-02",\n  "actions": [\n  ]\n}\n', "utf-8")
    assert list(read_collection(listed, "actions")) == []


def test_a_record_whose_row_is_now_unreadable_is_noted_not_just_removed(
    world: World, tmp_path: Path
) -> None:
    """A row the reader rejects is not gone from Jupix: the catch-up says to fix the row."""
    third = tmp_path / "third"
    shutil.copytree(world.first, third)
    rows = _csv_rows(third / "contacts.csv")
    cells = rows[-1].rstrip("\n").split(",")
    cells[-1] = "not a date"
    rows[-1] = ",".join(cells) + "\n"
    (third / "contacts.csv").write_text("".join(rows), "utf-8")
    write_manifest(third, agency=AGENCY, exported_at=datetime(2025, 6, 8, 18))
    out = tmp_path / "out"
    result = invoke(third, out, "--since", world.loaded)
    assert result.exit_code in (ExitCode.NOTHING, ExitCode.ATTENTION), result.output
    (removed,) = read(out / "catch-up.json")["removed"]
    assert (removed["collection"], removed["id"]) == ("contacts", cells[0])
    assert "unreadable in the new export" in removed["note"]
    assert "fix the row rather than delete" in (out / "catch-up.md").read_text("utf-8")


def test_loading_the_catch_up_onto_what_was_loaded_gives_the_full_migration(
    world: World, tmp_path: Path
) -> None:
    """J-16: loaded + (added and changed) - (removed and no longer wanted) is exactly what a
    full migration of the new export writes, collection by collection and for manual
    actions: nothing is missed, nothing extra."""
    delta, full = tmp_path / "delta", tmp_path / "full"
    assert invoke(world.second, delta, "--since", world.loaded).exit_code == 0
    assert invoke(world.second, full).exit_code == 0
    report = read(delta / "catch-up.json")
    gone = keys(report["removed"]) | keys(report["no_longer_wanted"])
    collections = {path.stem for path in full.glob("[a-z]*.json")} - {
        "reconciliation",
        "manual-actions",
        "catch-up",
        "housekeeping",
        "readiness",
    }
    for name in collections:
        state = {item["id"]: item for item in read(world.loaded / f"{name}.json")}
        state.update({item["id"]: item for item in read(delta / f"{name}.json")})
        for collection, record in gone:
            if collection == name:
                del state[record]
        assert state == {item["id"]: item for item in read(full / f"{name}.json")}, name

    def actions(folder: Path) -> dict[str, Any]:
        return {item["id"]: item for item in read(folder / "manual-actions.json")["actions"]}

    manual = actions(world.loaded) | actions(delta)
    for item in report["no_longer_needed"]:
        del manual[item["id"]]
    assert manual == actions(full)
