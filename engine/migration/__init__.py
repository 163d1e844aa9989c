"""The one-off migration of a Jupix export into Alto, and its report.

`migrate` runs a compiled ruleset over every source record; its `MigrationReport` accounts
for each one (migrated, merged, manual, not migrated, unreadable) and explains every count
difference by rule and record.

Example:
    >>> result = migrate(ruleset, records, as_of=date(2025, 6, 2))  # doctest: +SKIP
    >>> print(result.reconciliation.to_markdown())  # doctest: +SKIP
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
