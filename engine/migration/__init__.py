"""The one-off migration of a Jupix export into Alto, and its report.

`migrate` runs a compiled ruleset over every source record; its `MigrationReport` accounts
for each one (migrated, merged, manual, not migrated, unreadable) and explains every count
difference by rule and record.

Example:
    >>> from datetime import date
    >>> from engine import load_ruleset
    >>> ruleset = load_ruleset("rulesets/jupix-alto/v1.yaml")
    >>> records = {"jupix.contacts": [{"contactID": "C1", "roles": ["landlord"]}]}
    >>> result = migrate(ruleset, records, as_of=date(2025, 6, 2))
    >>> print(result.reconciliation.to_markdown().splitlines()[0])
    # MigrationReport: jupix-alto, migrated as of 2025-06-02
"""

from engine.migration._migrate import Emit, Migration, fingerprint, migrate
from engine.migration.report import (
    Difference,
    EntityCount,
    Journal,
    MigrationReport,
    Outcome,
    listing_line,
    listing_markdown,
)

__all__ = [
    "Difference",
    "Emit",
    "EntityCount",
    "Journal",
    "Migration",
    "MigrationReport",
    "Outcome",
    "fingerprint",
    "listing_line",
    "listing_markdown",
    "migrate",
]
