"""The Jupix export format, as data: one `TableSpec` per file, one `Column` per field.

The export is a folder holding `properties.xml` (the Jupix Website Listing XML feed plus the
CRM fields the migration needs), eleven CSV files and `manifest.json`. `docs/jupix-export.md`
describes it for people; this module is what the reader checks against, and the generator
writes its headers in the order given here.

Example:
    >>> TABLES["tenancies"].column("status").allowed[:2]
    ('Active', 'Active - Periodic')
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

__all__ = [
    "AVAILABILITY",
    "FEED_RECORD",
    "FEED_ROOT",
    "IGNORED_FEED_ELEMENTS",
    "LIST_SEPARATOR",
    "MANIFEST",
    "TABLES",
    "Column",
    "ColumnType",
    "Reference",
    "TableSpec",
]

ColumnType = Literal["str", "int", "decimal", "date", "datetime", "bool", "list"]

LIST_SEPARATOR = ";"
"""Separates the items of a `list` cell in CSV (`applicant;vendor`)."""

MANIFEST = "manifest.json"
FEED_ROOT = "properties"
FEED_RECORD = "property"


@dataclass(frozen=True, slots=True)
class Column:
    """One CSV column or XML element.

    Attributes:
        name: The header name (CSV) or element name (XML), case-sensitive.
        type: How the text is read; see `docs/jupix-export.md` for each type's grammar.
        required: Whether an empty cell (or a missing element) is an error.
        allowed: The only values accepted, if not empty (for `list`, per item).
        key: Whether this is the table's id column (unique within the table).
        item: For an XML list, the name of the repeated child element.
        doc: One line for the documentation.
    """

    name: str
    type: ColumnType = "str"
    required: bool = False
    allowed: tuple[str, ...] = ()
    key: bool = False
    item: str | None = None
    doc: str = ""


@dataclass(frozen=True, slots=True)
class Reference:
    """A column whose values must be ids of another table (`when`: only if column = value)."""

    column: str
    table: str
    when: tuple[str, str] | None = None


@dataclass(frozen=True, slots=True)
class TableSpec:
    """One file of the export: its name, its columns and the ids it refers to."""

    name: str
    file: str
    columns: tuple[Column, ...]
    references: tuple[Reference, ...] = ()
    doc: str = ""
    _by_name: Mapping[str, Column] = field(init=False, repr=False, compare=False)
    _names: tuple[str, ...] = field(init=False, repr=False, compare=False)
    _key: Column = field(init=False, repr=False, compare=False)
    _ids: frozenset[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_name = MappingProxyType({column.name: column for column in self.columns})
        object.__setattr__(self, "_by_name", by_name)
        object.__setattr__(self, "_names", tuple(by_name))
        object.__setattr__(self, "_key", next(column for column in self.columns if column.key))
        ids = frozenset({self._key.name, *(ref.column for ref in self.references)})
        object.__setattr__(self, "_ids", ids)

    @property
    def key(self) -> Column:
        """The id column."""
        return self._key

    @property
    def names(self) -> tuple[str, ...]:
        """The column names, in file order."""
        return self._names

    @property
    def id_columns(self) -> frozenset[str]:
        """The columns holding ids: the key and every referring column."""
        return self._ids

    def column(self, name: str) -> Column:
        """The column called `name` (KeyError if there is none)."""
        return self._by_name[name]

    def has(self, name: str) -> bool:
        """Whether the table has a column called `name`."""
        return name in self._by_name


def _c(name: str, type_: ColumnType = "str", *, req: bool = False, doc: str = "") -> Column:
    return Column(name, type_, required=req, doc=doc)


def _enum(name: str, values: tuple[str, ...], *, doc: str = "", many: bool = False) -> Column:
    return Column(name, "list" if many else "str", required=True, allowed=values, doc=doc)


def _key(name: str) -> Column:
    return Column(name, "str", required=True, key=True, doc="Unique id of the row.")


def _xml_list(name: str, item: str, doc: str) -> Column:
    return Column(name, "list", item=item, doc=doc)


DEPARTMENTS = ("Sales", "Lettings")
CRM_STATUSES = (
    "Valuation",
    "Instructed - On Market",
    "Under Offer",
    "Sold STC",
    "Exchanged",
    "Completed",
    "Let Agreed",
    "Let",
    "Withdrawn",
    "Archived",
)
AVAILABILITY: Mapping[str, Mapping[int, str]] = MappingProxyType(
    {
        "Sales": MappingProxyType(
            {
                1: "On Hold",
                2: "For Sale",
                3: "Under Offer",
                4: "Sold STC",
                5: "Sold",
                7: "Withdrawn",
            }
        ),
        "Lettings": MappingProxyType(
            {
                1: "On Hold",
                2: "To Let",
                3: "References Pending",
                4: "Let Agreed",
                5: "Let",
                6: "Withdrawn",
            }
        ),
    }
)
"""The feed's `availability` codes by department (Jupix Website Listing XML specification)."""

ROLES = (
    "applicant",
    "vendor",
    "landlord",
    "potential landlord",
    "estate agent",
    "third-party supplier",
)
TENANCY_STATUSES = ("Active", "Active - Periodic", "Moved Out", "Renewed", "Proposed", "Cancelled")
APPLICATION_STATUSES = (
    "Offer Pending",
    "Offer Accepted",
    "Proposed Tenancy",
    "Referencing",
    "Rejected",
    "Withdrawn",
)
OFFER_STATUSES = ("Pending", "Accepted", "Rejected", "Withdrawn")
SALE_STATUSES = ("Current", "Completed", "FallenThrough")
MAINTENANCE_OWNERS = ("property", "landlord")

PROPERTIES = TableSpec(
    "properties",
    "properties.xml",
    (
        _key("propertyID"),
        _c("branchID", req=True, doc="Branch id."),
        _enum("department", DEPARTMENTS),
        _c("referenceNumber", doc="The agency's own reference."),
        _c("addressName", doc="House name."),
        _c("addressNumber", doc="House or flat number, e.g. 12a."),
        _c("addressStreet", req=True),
        _c("address2"),
        _c("address3", doc="Usually the town."),
        _c("address4", doc="Usually the county."),
        _c("addressPostcode"),
        _c("displayAddress", req=True),
        _c("propertyBedrooms", "int"),
        _c("price", "decimal", req=True, doc="Asking price (Sales) or rent (Lettings), pounds."),
        _c("availability", "int", req=True, doc="Feed code; allowed codes depend on department."),
        _c("dateLastModified", "date", req=True),
        _enum("crmStatus", CRM_STATUSES, doc="Status in the Jupix CRM (not in the public feed)."),
        _c("archived", "bool", req=True, doc="Archived in the Jupix CRM."),
        _xml_list("ownerContactIDs", "ownerContactID", "Owners (vendors or landlords)."),
        _xml_list("images", "image", "Photo URLs."),
        _xml_list("floorplans", "floorplan", "Floor plan URLs."),
        _xml_list("brochures", "brochure", "Brochure (PDF) URLs."),
    ),
    (Reference("ownerContactIDs", "contacts"),),
    "The property feed: one <property> element per property.",
)

CONTACTS = TableSpec(
    "contacts",
    "contacts.csv",
    (
        _key("contactID"),
        _c("title"),
        _c("forename"),
        _c("surname", doc="Required unless companyName is given."),
        _c("companyName", doc="Required unless surname is given."),
        _c("email"),
        _c("phone"),
        _c("addressLine1"),
        _c("addressLine2"),
        _c("town"),
        _c("county"),
        _c("postcode"),
        _enum("roles", ROLES, many=True, doc="Every role the contact has in Jupix."),
        _c("supplierTrade", doc="Trade of a third-party supplier, e.g. Plumber."),
        _c("archived", "bool", req=True),
        _c("dateCreated", "datetime", req=True),
    ),
    doc="Every person or company: applicants, owners, tenants, buyers, agents, suppliers.",
)

APPLICANTS = TableSpec(
    "applicants",
    "applicants.csv",
    (
        _key("applicantID"),
        _c("contactID", req=True),
        _enum("department", DEPARTMENTS),
        _c("minPrice", "int"),
        _c("maxPrice", "int"),
        _c("bedrooms", "int", doc="Minimum bedrooms wanted."),
        _c("profileExpiryDate", "date", doc="Date Profile Expires; empty = never."),
        _c("dateRegistered", "date", req=True),
        _c("archived", "bool", req=True),
        _c("forename", doc="Match field: the contact's forename as registered."),
        _c("surname", doc="Match field: the contact's surname as registered."),
        _c("email", doc="Match field, raw (not normalised)."),
        _c("phone", doc="Match field, raw (not normalised)."),
        _c("postcode", doc="Match field, raw (not normalised)."),
    ),
    (Reference("contactID", "contacts"),),
    "Applicant search profiles, with the raw fields that decide whether two of them match.",
)

TENANCIES = TableSpec(
    "tenancies",
    "tenancies.csv",
    (
        _key("tenancyID"),
        _c("propertyID", req=True),
        Column("tenantContactIDs", "list", required=True, doc="Tenants, semicolon-separated."),
        _enum("status", TENANCY_STATUSES),
        _c("startDate", "date", req=True),
        _c("endDate", "date", doc="Empty for a periodic tenancy with no end."),
        _c("termMonths", "int"),
        _c("renewedFromTenancyID", doc="The tenancy this one renewed."),
        _c("rent", "decimal", req=True, doc="Monthly rent, pounds."),
    ),
    (
        Reference("propertyID", "properties"),
        Reference("tenantContactIDs", "contacts"),
        Reference("renewedFromTenancyID", "tenancies"),
    ),
    "Tenancies, current and past.",
)

TENANCY_APPLICATIONS = TableSpec(
    "tenancy_applications",
    "tenancy_applications.csv",
    (
        _key("applicationID"),
        _c("propertyID", req=True),
        _c("applicantContactID", req=True),
        _enum("status", APPLICATION_STATUSES),
        _c("offerAmount", "decimal", doc="Monthly rent offered, pounds."),
        _c("dateCreated", "date", req=True),
    ),
    (Reference("propertyID", "properties"), Reference("applicantContactID", "contacts")),
    "Applications to rent a property.",
)

OFFERS = TableSpec(
    "offers",
    "offers.csv",
    (
        _key("offerID"),
        _c("propertyID", req=True),
        _c("applicantContactID", req=True),
        _c("amount", "int", req=True, doc="Pounds."),
        _enum("status", OFFER_STATUSES),
        _c("date", "date", req=True),
    ),
    (Reference("propertyID", "properties"), Reference("applicantContactID", "contacts")),
    "Offers to buy a property.",
)

SALES = TableSpec(
    "sales",
    "sales.csv",
    (
        _key("saleID"),
        _c("propertyID", req=True),
        _c("buyerContactID", req=True),
        _enum("status", SALE_STATUSES),
        _c("agreedDate", "date", req=True),
        _c("agreedPrice", "int", doc="Pounds."),
    ),
    (Reference("propertyID", "properties"), Reference("buyerContactID", "contacts")),
    "Sales agreed (sales progression).",
)

PROPERTY_NOTES = TableSpec(
    "property_notes",
    "property_notes.csv",
    (
        _key("noteID"),
        _c("propertyID", req=True),
        _c("date", "date", req=True),
        _c("priority", "bool", req=True),
        _c("author"),
        _c("text", req=True),
    ),
    (Reference("propertyID", "properties"),),
    "Notes on a property.",
)

MAINTENANCE_NOTES = TableSpec(
    "maintenance_notes",
    "maintenance_notes.csv",
    (
        _key("noteID"),
        _enum("ownerType", MAINTENANCE_OWNERS),
        _c("ownerID", req=True, doc="A propertyID or a (landlord's) contactID, per ownerType."),
        _c("date", "date", req=True),
        _c("text", req=True),
    ),
    (
        Reference("ownerID", "properties", when=("ownerType", "property")),
        Reference("ownerID", "contacts", when=("ownerType", "landlord")),
    ),
    "Property and landlord maintenance notes.",
)

TODO_NOTES = TableSpec(
    "todo_notes",
    "todo_notes.csv",
    (
        _key("noteID"),
        _c("userID", req=True, doc="The Jupix user; users are not exported."),
        _c("dueDate", "date"),
        _c("text", req=True),
    ),
    doc="Personal To Do notes from the Home screen / Diary.",
)

SALE_CHAIN_NOTES = TableSpec(
    "sale_chain_notes",
    "sale_chain_notes.csv",
    (_key("noteID"), _c("saleID", req=True), _c("date", "date", req=True), _c("text", req=True)),
    (Reference("saleID", "sales"),),
    "Sale chain notes against a sale.",
)

PROGRESSION_MILESTONES = TableSpec(
    "progression_milestones",
    "progression_milestones.csv",
    (
        _key("milestoneID"),
        _c("saleID", req=True),
        _c("name", req=True),
        _c("completedDate", "date", doc="Empty while the milestone is outstanding."),
    ),
    (Reference("saleID", "sales"),),
    "Sales progression milestones.",
)

TABLES: Mapping[str, TableSpec] = MappingProxyType(
    {
        spec.name: spec
        for spec in (
            PROPERTIES,
            CONTACTS,
            APPLICANTS,
            TENANCIES,
            TENANCY_APPLICATIONS,
            OFFERS,
            SALES,
            PROPERTY_NOTES,
            MAINTENANCE_NOTES,
            TODO_NOTES,
            SALE_CHAIN_NOTES,
            PROGRESSION_MILESTONES,
        )
    }
)
"""Every table of the export by name, in documentation order."""

IGNORED_FEED_ELEMENTS = frozenset(
    {
        "clientName", "branchName", "country", "propertyBathrooms", "propertyEnsuites",
        "propertyReceptionRooms", "propertyKitchens", "displayPropertyType", "propertyType",
        "propertyStyle", "propertyAge", "floorArea", "floorAreaUnits",
        *(f"propertyFeature{n}" for n in range(1, 11)),
        "forSalePOA", "priceQualifier", "propertyTenure", "saleBy", "developmentOpportunity",
        "investmentOpportunity", "estimatedRentalIncome", "rentFrequency", "mainSummary",
        "fullDescription", "featuredProperty", "regionID", "latitude", "longitude", "flags",
        "epcGraphs", "epcFrontPages", "virtualTours", "externalLinks",
    }
)  # fmt: skip
"""Public feed elements the migration does not use: accepted and dropped, not errors."""
