"""Reading a Fixflo issue the lifecycle way: the declared fields of ``GET /Issue/{Id}`` plus
the parts, each from its own endpoint, against the fake Fixflo serving a lifecycle world."""

from __future__ import annotations

import asyncio
import copy
import json
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters.errors import (
    ConfigError,
    DocumentNotFoundError,
    NotFoundError,
    ProtocolError,
    RateLimitedError,
    ServerError,
)
from adapters.fixflo import ISSUE_PARTS, PART_NEEDS, FixfloAdapter, FixfloAuth, FixfloDocuments
from adapters.fixflo._issues import FieldTree, _plain
from engine.language.lifecycle import Lifecycle
from engine.language.load import load_ruleset
from simulator.fake import FakeFixflo, FakeTransport, Faults, parse_faults
from simulator.fake._fixflo_issues import media_pdf
from simulator.lifecycle.simulation import Simulation
from simulator.lifecycle.worlds import FixfloWorld
from tests.adapters.fakes import FAST, MODES, base_url, client

PREFIX = "/api/v2"
V2 = Path(__file__).parents[2] / "rulesets" / "alto-fixflo" / "v2.yaml"
ALL_PARTS = frozenset(ISSUE_PARTS)
# The fields of the v2 ruleset's source fixflo.issues (design 14 section 2), parts included.
FIELDS = (
    "Id", "Status", "StatusChanged", "Created", "IssueType", "IsPlannedMaintenance",
    "FaultPriority", "Title", "FaultNotes", "Firstname", "Surname", "EmailAddress",
    "Address.AddressLine1", "Address.AddressLine2", "Address.Town", "Address.PostCode",
    "TenantId", "ExternalRefTenancyAgreement", "CloseReason", "Quotes[].id", "Quotes[].Status",
    "Job.id", "Job.IssueId", "Job.StartDate", "Job.CreatedDate", "Job.JobberNotes",
    "Job.JobCompleted", "Job.JobInvoiceNumber", "Job.PriceAgencyPayableNet",
    "Job.PriceAgencyPayableTax", "Job.PriceAgencyPayableGross",
    "Job.QuotedPriceAgencyPayableGross", "Job.AppointmentDescription", "Job.AppointmentRange",
    "Job.Contractor.Id", "Job.Contractor.ExternalRef", "Job.Contractor.DisplayName",
    "FixfloProperty.id", "FixfloProperty.ExternalPropertyRef", "FixfloTenant.id",
    "FixfloTenant.ExternalRef", "InvoiceDetails[].InvoiceNumber", "InvoiceDetails[].InvoiceDate",
    "InvoiceDetails[].LineItems[].Total", "CompletionDocs[].Id",
    "CompletionDocs[].ShortDescription", "CompletionDocs[].MediaTypeDescription",
    "CompletionDetails.FeedbackToAgent", "CompletionDetails.JobCompletionDate",
    "Certificates[].Id", "Certificates[].ShortDescription",
)  # fmt: skip

HOME = {"AddressLine1": "12 Mill Lane", "AddressLine2": None, "Town": "Leeds",
        "County": None, "PostCode": "LS6 2AB", "Country": "GB"}  # fmt: skip


def _media(media_id: str, name: str, kind: str) -> dict[str, Any]:
    return {"Id": media_id, "ShortDescription": name, "ContentType": "application/pdf",
            "MediaType": "Document", "MediaTypeDescription": kind,
            "URL": f"https://fixflo.test/media/{media_id}"}  # fmt: skip


def _closed_issue() -> dict[str, Any]:
    """Issue 1042: closed after a contractor completed the job, with every part."""
    return {
        "Id": "1042", "Status": "Closed", "StatusChanged": "2026-11-09T09:00:00Z",
        "Created": "2026-11-04T08:00:00Z", "IssueType": "Reactive",
        "IsPlannedMaintenance": False, "FaultPriority": "3", "Title": "Dripping kitchen tap",
        "FaultNotes": "Drips all night", "Firstname": "Ann", "Surname": "Occupier",
        "EmailAddress": "ann@example.com", "Address": dict(HOME), "TenantId": "FT1",
        "ExternalRefTenancyAgreement": None, "CloseReason": "Completed",
        "Quotes": [{"id": "Q1", "Status": "Accepted", "PriceAgencyPayableGross": "120"}],
        "Job": {
            "id": "J-1042", "IssueId": "1042", "StartDate": "2026-11-05T09:00:00",
            "CreatedDate": "2026-11-05T08:00:00Z", "JobberNotes": "Washer replaced",
            "JobCompleted": "2026-11-07T15:00:00Z", "JobInvoiceNumber": "INV-9",
            "PriceAgencyPayableNet": 100, "PriceAgencyPayableTax": 20,
            "PriceAgencyPayableGross": 120, "QuotedPriceAgencyPayableGross": 120,
            "AppointmentDescription": "At", "AppointmentRange": "2026-11-06T10:00:00",
            "Contractor": {"Id": "FC1", "ExternalRef": "S1/OS1", "DisplayName": "Tap & Co"},
        },
        "FixfloProperty": {"id": "FP1", "ExternalPropertyRef": "P1/OP1", "Address": dict(HOME)},
        "FixfloTenant": {"id": "FT1", "ExternalRef": "C1", "FirstName": "Ann",
                         "Surname": "Occupier"},
        "InvoiceDetails": [{"InvoiceDate": "2026-11-07T00:00:00Z",
                            "DueDate": "2026-12-07T00:00:00Z",
                            "InvoiceNumber": "INV-9", "LineItems": [
                                {"LineType": 0, "Description": "Labour", "Quantity": 1,
                                 "UnitPrice": 100, "Net": 100, "Tax": 20, "Total": 120}]}],
        "CompletionDocs": [
            _media("0b6f0d3e-0000-4000-8000-000000000001", "gas-safety-certificate.pdf",
                   "Certificate"),
            _media("0b6f0d3e-0000-4000-8000-000000000002", "invoice-1042.pdf", "Invoice"),
        ],
        "CompletionDetails": {"PurchaseOrderNumber": "PO-1", "JobCompletionDate":
                              "2026-11-07T15:00:00", "JobDuration": "1h",
                              "FeedbackToAgent": "All fixed"},
        "Certificates": [_media("0b6f0d3e-0000-4000-8000-000000000003", "cp12-2026.pdf",
                                "Gas safety")],
    }  # fmt: skip


def _earlier_issue() -> dict[str, Any]:
    """Issue 1001 at the same property, its job (and certificate) done before 1042's began."""
    issue = _closed_issue()
    issue.update(Id="1001", Created="2026-10-01T08:00:00Z", StatusChanged="2026-10-04T09:00:00Z",
                 Title="Boiler service", TenantId=None, FixfloTenant=None)  # fmt: skip
    issue["Job"] = {
        **issue["Job"],
        "id": "J-1001",
        "IssueId": "1001",
        "CreatedDate": "2026-10-02T08:00:00Z",
        "JobCompleted": "2026-10-03T10:00:00Z",
    }
    issue["CompletionDocs"] = []
    issue["Certificates"] = [_media("0b6f0d3e-0000-4000-8000-000000000004", "cp12-2025.pdf",
                                    "Gas safety")]  # fmt: skip
    return issue


def _reported_issue() -> dict[str, Any]:
    """Issue 1050: just reported by someone Fixflo knows no tenant for, at no known property."""
    return {
        "Id": "1050", "Status": "Reported", "StatusChanged": "2026-11-08T08:00:00Z",
        "Created": "2026-11-08T08:00:00Z", "IssueType": "Reactive",
        "IsPlannedMaintenance": False, "FaultPriority": "0", "Title": "No heating",
        "FaultNotes": None, "Firstname": "Bo", "Surname": "Visitor",
        "EmailAddress": "bo@example.com",
        "Address": {**HOME, "AddressLine1": "99 Nowhere Road"}, "TenantId": None,
        "ExternalRefTenancyAgreement": "TA-7", "CloseReason": None, "Quotes": [], "Job": None,
        "FixfloProperty": None, "FixfloTenant": None, "InvoiceDetails": [],
        "CompletionDocs": [], "CompletionDetails": None, "Certificates": [],
    }  # fmt: skip


def issue_world() -> FixfloWorld:
    """A world of three issues; property FP2 shares FP1's address (in other case and
    spacing) but holds none of them, so only /Property/Issues tells them apart."""
    world = FixfloWorld()
    for issue in (_earlier_issue(), _closed_issue(), _reported_issue()):
        world.save(issue)
    decoy = _reported_issue()
    decoy.update(Id="1060", Address={**HOME, "PostCode": "ls6 2ab"}, Status="Closed")
    decoy["FixfloProperty"] = {"id": "FP2", "ExternalPropertyRef": "P2",
                               "Address": {**HOME, "AddressLine1": "12  MILL lane"}}  # fmt: skip
    world.save(decoy)
    return world


def projected(value: Any, paths: tuple[str, ...]) -> Any:
    """The test's own projection of a record to dotted paths (``[]`` for lists)."""
    heads: dict[str, list[str]] = {}
    for path in paths:
        head, _, rest = path.partition(".")
        heads.setdefault(head, []).extend([rest] if rest else [])
    out: dict[str, Any] = {}
    for head, rests in heads.items():
        name, many = head.removesuffix("[]"), head.endswith("[]")
        held = value.get(name) if isinstance(value, Mapping) else None
        if held is None or not rests:
            out[name] = copy.deepcopy(held)
        elif many:
            out[name] = [projected(item, tuple(rests)) for item in held]
        else:
            out[name] = projected(held, tuple(rests))
    return out


def _fake(world: FixfloWorld | None = None, faults: str = "") -> FakeFixflo:
    made = Faults(parse_faults(faults), retry_after=0.001, delay=0.001)
    return FakeFixflo(20, seed=3, world=world or issue_world(), faults=made, page_size=2)


def _run(fake: FakeFixflo, use: Callable[[FixfloAdapter], Any], mode: str = "asgi",
         transport: httpx.AsyncBaseTransport | None = None, **options: Any) -> Any:  # fmt: skip
    async def run() -> Any:
        with base_url(mode, fake.app, PREFIX) as (url, served):
            async with client(url, transport or served, FixfloAuth(fake.token)) as http:
                adapter = FixfloAdapter(http, retry=FAST, page_size=2, **options)
                return await use(adapter)

    return asyncio.run(run())


@pytest.mark.req("W-05")
@pytest.mark.parametrize("mode", MODES)
def test_an_issue_read_with_every_part_is_the_world_record_projected(mode: str) -> None:
    fake = _fake()

    async def use(fixflo: FixfloAdapter) -> list[dict[str, Any]]:
        return [await fixflo.read_issue(key, ALL_PARTS) for key in fake.world.issues]  # type: ignore[union-attr]

    read = _run(fake, use, mode, issue_fields=FIELDS)
    expected = [projected(record, FIELDS) for record in fake.world.issues.values()]  # type: ignore[union-attr]
    assert read == expected
    assert read[1]["FixfloProperty"] == {"id": "FP1", "ExternalPropertyRef": "P1/OP1"}
    assert [c["ShortDescription"] for c in read[1]["Certificates"]] == ["cp12-2026.pdf"]
    assert read[2]["FixfloProperty"] is None
    assert read[2]["FixfloTenant"] is None
    assert list(fake.recorder.violations) == []  # not even a pending one


def test_the_v2_rulesets_source_reads_the_world_record_projected() -> None:
    source = load_ruleset(V2).sources["fixflo.issues"]
    fake = _fake()

    async def use(fixflo: FixfloAdapter) -> dict[str, Any]:
        issue = await fixflo.read_issue("1050")
        return await fixflo.read_parts(
            await fixflo.read_issue("1042", parts_for=_lifecycle().parts_read),
            set(),
        ) | {"reported": await fixflo.read_parts(issue, ALL_PARTS)}

    read = _run(fake, use, issue_fields=source.fields)
    listed = tuple(_listed(path, source.list_fields) for path in source.fields)
    assert {k: v for k, v in read.items() if k != "reported"} == projected(_closed_issue(), listed)
    assert read["reported"] == projected(_reported_issue(), listed)
    assert read["Quotes"] == [{"id": "Q1", "Status": "Accepted", "Contractor": None,
                               "PriceAgencyPayableGross": "120"}]  # fmt: skip


def test_the_v2_rulesets_parts_are_the_adapters_and_declare_what_they_need() -> None:
    ruleset = load_ruleset(V2)
    assert {name: part.read for name, part in _lifecycle().parts.items()} == dict(ISSUE_PARTS)
    fields = set(ruleset.sources["fixflo.issues"].fields)
    assert {need for needs in PART_NEEDS.values() for need in needs} <= fields


def _lifecycle() -> Lifecycle:
    lifecycle = load_ruleset(V2).lifecycle
    assert lifecycle is not None
    return lifecycle


def _listed(path: str, lists: frozenset[str]) -> str:
    """A compiled path with ``[]`` after each step that is a list."""
    steps, out = path.split("."), []
    for end, step in enumerate(steps):
        out.append(step + ("[]" if ".".join(steps[: end + 1]) in lists else ""))
    return ".".join(out)


def test_without_declared_fields_the_issue_is_as_sent_and_holds_no_part_key() -> None:
    fake = _fake()
    issue = _run(fake, lambda fixflo: fixflo.read_issue("1042"))
    assert issue["Job"]["Contractor"]["ExternalRef"] == "S1/OS1"
    assert not set(issue) & ALL_PARTS
    assert issue["Address"] == HOME


def test_parts_for_reads_the_parts_the_status_needs_after_the_issue() -> None:
    fake = _fake()
    asked: list[Any] = []

    def parts_for(status: Any) -> frozenset[str]:
        asked.append(status)
        return frozenset({"InvoiceDetails"}) if status == "Closed" else frozenset()

    async def use(fixflo: FixfloAdapter) -> tuple[dict[str, Any], dict[str, Any]]:
        closed = await fixflo.read_issue("1042", frozenset({"FixfloTenant"}), parts_for=parts_for)
        reported = await fixflo.read_issue("1050", parts_for=parts_for)
        return closed, reported

    closed, reported = _run(fake, use, issue_fields=FIELDS)
    assert asked == ["Closed", "Reported"]
    assert set(closed) & ALL_PARTS == {"FixfloTenant", "InvoiceDetails"}
    assert closed["InvoiceDetails"] == [{"InvoiceNumber": "INV-9",
                                         "InvoiceDate": "2026-11-07T00:00:00Z",
                                         "LineItems": [{"Total": 120}]}]  # fmt: skip
    assert not set(reported) & ALL_PARTS
    assert not fake.log.matching("GET", f"{PREFIX}/issue/1050")


def test_read_parts_adds_parts_to_a_record_read_before() -> None:
    fake = _fake()

    async def use(fixflo: FixfloAdapter) -> dict[str, Any]:
        issue = await fixflo.read_issue("1042")
        return await fixflo.read_parts(issue, {"Certificates", "CompletionDetails"})

    issue = _run(fake, use, issue_fields=FIELDS)
    world = projected(_closed_issue(), FIELDS)
    assert issue == {k: v for k, v in world.items() if k not in ALL_PARTS} | {
        "Certificates": world["Certificates"],
        "CompletionDetails": world["CompletionDetails"],
    }


def test_read_parts_names_the_field_a_part_needs_that_was_not_declared() -> None:
    fake = _fake()
    fields = tuple(f for f in FIELDS if f != "Job.CreatedDate")

    async def use(fixflo: FixfloAdapter) -> Any:
        return await fixflo.read_parts(await fixflo.read_issue("1042"), {"Certificates"})

    with pytest.raises(ConfigError) as caught:
        _run(fake, use, issue_fields=fields)
    assert "Certificates" in str(caught.value)
    assert "Job.CreatedDate" in str(caught.value)


def test_an_unknown_part_is_refused_with_the_known_ones() -> None:
    with pytest.raises(KeyError, match="did you mean 'Certificates'"):
        _run(_fake(), lambda fixflo: fixflo.read_issue("1042", frozenset({"Certificate"})))


def test_the_part_table_is_the_rulesets_read_text() -> None:
    assert dict(ISSUE_PARTS) == {
        "FixfloProperty": "GET /Property/Issues?ExternalPropertyRef=",
        "FixfloTenant": "GET /Tenant?Id=",
        "InvoiceDetails": "GET /issue/{issueid}/invoicedetails",
        "CompletionDocs": "GET /issue/{issueid}/completiondocs",
        "CompletionDetails": "GET /Issue/{issueid}/jobcompletiondetails",
        "Certificates": "GET /Medias/PropertyCertificate",
    }
    assert set(PART_NEEDS) == set(ISSUE_PARTS)


# -- the property (gap.issue-property) ------------------------------------------------------


@pytest.mark.req("W-05")
def test_of_two_properties_at_the_address_the_one_listing_the_issue_wins() -> None:
    world = issue_world()
    fake = _fake(world)
    read = _run(fake, lambda f: f.read_issue("1060", frozenset({"FixfloProperty"})))
    assert read["FixfloProperty"]["id"] == "FP2"  # its address differs in case and spaces
    # 1042's postcode search finds FP1 and FP2; FP2's issue list does not hold 1042.
    read = _run(fake, lambda f: f.read_issue("1042", frozenset({"FixfloProperty"})))
    assert read["FixfloProperty"]["id"] == "FP1"
    world.issues["1042"]["FixfloProperty"] = None  # no property lists it any more
    read = _run(fake, lambda f: f.read_issue("1042", frozenset({"FixfloProperty", "Certificates"})))
    assert read["FixfloProperty"] is None
    assert read["Certificates"] == []


@given(st.text(alphabet=" abcMILNE12", max_size=12), st.booleans())
def test_address_candidates_ignore_case_and_spaces(line: str, shout: bool) -> None:
    other = " ".join(line.upper() if shout else line.lower()).replace("  ", " ")
    assert _plain(line) == _plain(other)


# -- edge cases and faults of each part ----------------------------------------------------


class Rigged(httpx.AsyncBaseTransport):
    """The fake, except that one path answers as given."""

    def __init__(self, fake: FakeFixflo, path: str, answer: httpx.Response) -> None:
        self.inner, self.path, self.answer = FakeTransport(fake.app), path, answer

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == PREFIX + self.path:
            return httpx.Response(self.answer.status_code, headers=self.answer.headers,
                                  content=self.answer.content)  # fmt: skip
        return await self.inner.handle_async_request(request)


PART_PATHS = {
    "FixfloTenant": "/Tenant",
    "InvoiceDetails": "/issue/1042/invoicedetails",
    "CompletionDocs": "/issue/1042/completiondocs",
    "CompletionDetails": "/Issue/1042/jobcompletiondetails",
    "FixfloProperty": "/Property/Issues",
    "Certificates": "/Medias/PropertyCertificate",
}


def _rigged_read(part: str, answer: httpx.Response) -> Any:
    fake = _fake()
    rigged = Rigged(fake, PART_PATHS[part], answer)
    return _run(fake, lambda f: f.read_issue("1042", frozenset({part})), transport=rigged)


@pytest.mark.parametrize(
    ("part", "expected"),
    [("FixfloTenant", None), ("InvoiceDetails", []), ("CompletionDetails", None)],
)
def test_a_missing_optional_part_is_empty(part: str, expected: Any) -> None:
    missing = httpx.Response(404, json={"Message": "not found"})
    assert _rigged_read(part, missing)[part] == expected


def test_missing_completion_documents_are_an_error_naming_issue_and_part() -> None:
    with pytest.raises(NotFoundError) as caught:
        _rigged_read("CompletionDocs", httpx.Response(404, json={"Message": "gone"}))
    assert "Fixflo issue 1042, part CompletionDocs" in str(caught.value)


def test_an_issue_without_tenant_id_reads_no_tenant() -> None:
    fake = _fake()
    read = _run(fake, lambda f: f.read_issue("1050", frozenset({"FixfloTenant"})))
    assert read["FixfloTenant"] is None
    assert not fake.log.matching("GET", f"{PREFIX}/Tenant")


SHAPES = {
    "FixfloTenant": ["a", "list"],
    "InvoiceDetails": {"InvoiceNumber": "INV-9"},
    "CompletionDocs": [{"Id": "x"}, "text"],
    "CompletionDetails": [1, 2],
    "FixfloProperty": {"Items": "none"},
    "Certificates": {"Items": [7]},
}


@pytest.mark.parametrize("part", sorted(PART_PATHS))
def test_a_part_of_the_wrong_shape_is_a_protocol_error_naming_issue_part_endpoint(
    part: str,
) -> None:
    with pytest.raises(ProtocolError) as caught:
        _rigged_read(part, httpx.Response(200, json=SHAPES[part]))
    assert f"Fixflo issue 1042, part {part}" in str(caught.value)
    assert caught.value.path.startswith(PART_PATHS[part])


@pytest.mark.parametrize("part", sorted(PART_PATHS))
def test_garbage_on_a_part_is_a_protocol_error_not_a_traceback(part: str) -> None:
    junk = httpx.Response(200, headers={"content-type": "application/json"}, content=b"{oops")
    with pytest.raises(ProtocolError, match=f"part {part}"):
        _rigged_read(part, junk)


@pytest.mark.parametrize(("kind", "error"), [("429", RateLimitedError), ("500", ServerError)])
@pytest.mark.parametrize("part", sorted(PART_PATHS))
def test_a_part_that_keeps_failing_raises_its_typed_error(
    part: str, kind: str, error: type[Exception]
) -> None:
    fake = _fake(faults=f"{kind}@GET {PREFIX}{PART_PATHS[part]}=1")
    with pytest.raises(error) as caught:
        _run(fake, lambda f: f.read_issue("1042", frozenset({part})))
    assert f"Fixflo issue 1042, part {part}" in str(caught.value)
    assert len(fake.log.matching("GET", PREFIX + PART_PATHS[part])) >= 2  # it was retried


def test_parts_come_through_transient_faults() -> None:
    fake = _fake(faults=f"all@GET {PREFIX}/=0.3")
    read = _run(fake, lambda f: f.read_issue("1042", ALL_PARTS), issue_fields=FIELDS)
    assert read == projected(_closed_issue(), FIELDS)
    assert fake.log.faults()


@pytest.mark.contract_violation_expected("Job: a str where the contract has an object")
def test_a_job_that_is_not_an_object_names_the_field() -> None:
    world = issue_world()
    world.issues["1042"]["Job"] = "J-1042"
    fake = FakeFixflo(20, seed=3, world=world)
    with pytest.raises(ProtocolError, match=r"issue 1042\.Job is not an object"):
        _run(fake, lambda f: f.read_issue("1042"), issue_fields=FIELDS)


# -- documents ---------------------------------------------------------------------------------


def _documents(fake: FakeFixflo, wanted: list[tuple[str, str]], transport: Any = None) -> Any:
    async def use(fixflo: FixfloAdapter) -> Any:
        documents = FixfloDocuments(fixflo)
        return await asyncio.gather(*(documents.fetch("1042", k, n) for k, n in wanted))

    return _run(fake, use, transport=transport)


@pytest.mark.req("W-09")
def test_documents_are_downloaded_by_media_id_each_part_read_once() -> None:
    fake = _fake()
    record = _closed_issue()
    wanted = [("CompletionDocs", m["ShortDescription"]) for m in record["CompletionDocs"]] * 2
    wanted += [("Certificates", "cp12-2026.pdf"), ("IssueReport", "issue-1042.pdf")]
    got = _documents(fake, wanted)
    media = [*record["CompletionDocs"] * 2, *record["Certificates"]]
    assert [a.content for a in got[:-1]] == [media_pdf(m) for m in media]
    assert [a.name for a in got] == [name for _, name in wanted]
    assert got[-1].content.startswith(b"%PDF")
    assert b"1042" in got[-1].content
    assert len(fake.log.matching("GET", f"{PREFIX}/issue/1042/completiondocs")) == 1
    assert len(fake.log.matching("GET", f"{PREFIX}/Medias/PropertyCertificate")) == 1


def test_a_document_the_part_lacks_is_not_found_with_what_it_holds() -> None:
    with pytest.raises(DocumentNotFoundError) as caught:
        _documents(_fake(), [("CompletionDocs", "photo.jpg")])
    assert "gas-safety-certificate.pdf, invoice-1042.pdf" in str(caught.value)
    assert caught.value.status == 404


def test_an_unknown_document_kind_suggests_the_closest() -> None:
    with pytest.raises(KeyError, match="did you mean 'CompletionDocs'"):
        _documents(_fake(), [("CompletionDoc", "x.pdf")])


@pytest.mark.parametrize("body", [b"", b"<html>oops</html>"])
def test_an_undecodable_download_is_a_protocol_error(body: bytes) -> None:
    fake = _fake()
    media_id = _closed_issue()["CompletionDocs"][1]["Id"]
    rigged = Rigged(fake, f"/Media/{media_id}/Download", httpx.Response(200, content=body))
    with pytest.raises(ProtocolError, match=r"invoice-1042\.pdf"):
        _documents(fake, [("CompletionDocs", "invoice-1042.pdf")], rigged)


# -- the projection ------------------------------------------------------------------------

_NAMES = st.sampled_from(["Id", "Job", "Address", "Items", "Total"])
_JSON = st.recursive(
    st.none() | st.integers() | st.text(max_size=3),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_NAMES, inner, max_size=4),
    max_leaves=12,
)
_PATHS = st.lists(
    st.lists(st.tuples(_NAMES, st.booleans()), min_size=1, max_size=3).map(
        lambda steps: ".".join(name + ("[]" if many else "") for name, many in steps)
    ),
    min_size=1,
    max_size=5,
)


@given(st.dictionaries(_NAMES, _JSON, max_size=5), _PATHS)
def test_a_projection_holds_exactly_the_declared_names_and_is_idempotent(
    body: dict[str, Any], paths: list[str]
) -> None:
    tree = FieldTree.of(paths)
    try:
        once = tree.project(body, "issue")
    except ValueError as exc:
        refused = str(exc)  # a declared object or list that is something else
        assert refused.endswith(("is not an object", "is not a list"))
        return
    assert set(once) == {p.split(".")[0].removesuffix("[]") for p in paths}
    assert tree.project(once, "issue") == once
    assert json.loads(json.dumps(once)) == once


def _paths(tree: FieldTree, trail: str = "") -> Iterator[str]:
    for name, child in tree.children.items():
        here = f"{trail}{name}{'[]' if child.many else ''}"
        yield from _paths(child, here + ".") if child.children else [here]


def test_a_name_declared_whole_stays_whole() -> None:
    tree = FieldTree.of(["Job.Contractor.Id", "Job", "Quotes[].id"])
    assert sorted(_paths(tree)) == ["Job", "Quotes[].id"]


@pytest.mark.req("W-09")
@pytest.mark.parametrize("mode", MODES)
def test_a_simulated_world_reads_back_through_the_adapter(mode: str) -> None:
    """The simulator's own records (default event details): a completed and closed issue, a
    job cancelled before completion, an issue just reported, read with the v2 fields."""
    ruleset = load_ruleset(V2)
    sim = Simulation(ruleset)
    for issue_id, events in {"I1": ["report", "instruct", "complete_job", "close"],
                             "I2": ["report", "instruct", "cancel_job"],
                             "I3": ["report"]}.items():  # fmt: skip
        for event in events:
            sim.perform(event, issue_id)
    source = ruleset.sources["fixflo.issues"]
    fake = FakeFixflo(20, seed=3, world=sim.fixflo)

    async def use(fixflo: FixfloAdapter) -> list[dict[str, Any]]:
        return [await fixflo.read_issue(key, ALL_PARTS) async for key in fixflo.issue_ids()]

    read = _run(fake, use, mode, issue_fields=source.fields)
    listed = tuple(_listed(path, source.list_fields) for path in source.fields)
    assert read == [projected(record, listed) for record in sim.fixflo.issues.values()]
    assert read[0]["Certificates"][0]["ShortDescription"] == "gas-safety-record-I1.pdf"
    assert list(fake.recorder.violations) == []
