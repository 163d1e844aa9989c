"""The named types facts.json refers to but does not spell out, from alto.md and fixflo.md.

Each entry is either fields in facts.json's own notation (copied from the contract's prose:
the section is named beside it), ``("op", key, part)`` for the shape of another operation
(``part`` ``response``, ``request`` or ``items``: the items of a list response), or `OPEN`
where the contract names the type without listing its members (any object passes).
"""

from __future__ import annotations

from typing import Final

__all__ = ["NAMED", "OPEN"]

OPEN: Final = "open"

_PLACE: Final = ("subDwelling", "street", "locality", "town", "county", "postcode")


def _strings(*names: str) -> dict[str, object]:
    return dict.fromkeys(names, "string?")


_FIXFLO_ADDRESS: Final = dict.fromkeys(
    ("AddressLine1", "AddressLine2", "Town", "County", "PostCode"), "string"
) | {"Country": "string (ISO2)"}

NAMED: Final[dict[str, dict[str, object]]] = {
    "alto": {
        # alto.md section 2: Inventory.Address; SDK Address; section 4: PM Address.
        "InventoryAddress": _strings(*_PLACE, "nameNo", "countryCode"),
        "SdkAddress": _strings(*_PLACE, "nameNumber", "countryCode", "uprn"),
        "PmAddress": _strings(*_PLACE, "nameNo", "country"),
        "ReqAddress": OPEN,
        "InventoryDetailItem": ("op", "inventory_get", "response"),
        "Contact": ("op", "contacts_get", "response"),
        "TenancyListItem": ("op", "tenancies_list", "items"),
        "Supplier": ("op", "supplier_get", "response"),
        "WorkOrder": ("op", "work_order_get", "response"),
        "PropertyCharge": ("op", "charge_property", "response"),
        "DocumentItem": ("op", "documents_list", "items"),
        "ManagementEvent": OPEN,
    },
    "fixflo": {
        # fixflo.md section 1: Address, AssignedAgent, AssignedTeam; 4: Contractor;
        # 6: Job approvals; 7: InvoiceDetails, LineItem, Media.
        "Address": _FIXFLO_ADDRESS,
        "Brand": {"Id": "uuid", "Name": "string"},
        "AssignedAgent": {
            "Id": "int64",
            "ExternalRef": "string",
            "EmailAddress": "string",
            "DisplayName": "string",
            "ContactNo": "string",
            "IsDeleted": "bool",
            "Brand": "Brand",
            "UpdateDate": "date-time",
        },
        "Team": {"id": "string", "Name": "string", "IsDeleted": "bool"},
        "JobQuoteApproval": {
            "ApprovalNameTyped": "string",
            "Approved": "bool",
            "ApprovedDate": "date-time",
            "QuoteAmount": "number",
            "RequestedDate": "date-time",
            "QuoteId": "string",
            "PriceAgencyReceivable{Gross,Net,Tax}": "number",
        },
        "InvoiceDetails": ("op", "invoice_details_save", "request"),
        "SubmitInvoice": ("op", "invoice_submit", "request"),
        "Media": ("op", "completion_doc_get", "response"),
        "Property": ("op", "property_get", "response"),
        "Tenant": ("op", "tenant_get", "response"),
        "Landlord": ("op", "landlord_get", "response"),
        "Contractor": ("op", "contractor_get", "response"),
        "LandlordProperty": ("op", "landlord_property_get", "response"),
        "LandlordPropertyJoin": ("op", "landlord_property_join_get", "response"),
        "TenantProperty": ("op", "tenant_property_link", "request"),
        "Issue": ("op", "issue_get", "response"),
        # fixflo.md section 6: IssueSummary (property issue lists).
        "IssueSummary": {
            "id": "string",
            "IssueId": "string",
            "StatusId": "number",
            "Status": "string",
            "StatusChanged": "date-time",
            "Created": "date-time",
            "IssueTitle": "string",
            "Address": "Address",
        },
        "ContractorService": {"id": "int", "Name": "string", "NameAndSynonyms": "string[]"},
        "Warranty": OPEN,
        "Block": OPEN,
        "Quote": OPEN,
    },
}
