"""What a decision rests on: `Because` entries and the `Decision` for one record.

Every include, skip and archive carries the rule that decided it, the field it read, the
value it found and what the rule expected, e.g.
``P-02: managementType = 'LetOnly', not in [Managed, PartManaged]``.

`in_words` says the same for an agency, without operators or Python reprs
(``management type is LetOnly, not one of Managed or PartManaged``), and
`condition_in_words` renders a rule's condition text (`Rule.text`) likewise.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from engine._words import because_words, condition_words

__all__ = ["Because", "Decision", "condition_in_words", "in_words", "render_value"]

_MAX_SHOWN = 6


def render_value(value: Any) -> str:
    """A short, readable rendering of a value read from a record.

    Example:
        >>> render_value(["Plumbing", "Gas"])
        "['Plumbing', 'Gas']"
    """
    if isinstance(value, list) and len(value) > _MAX_SHOWN:
        shown = ", ".join(repr(item) for item in value[:_MAX_SHOWN])
        return f"[{shown}, ... {len(value) - _MAX_SHOWN} more]"
    text = repr(value)
    return text if len(text) <= 120 else text[:117] + "..."


@dataclass(frozen=True, slots=True)
class Because:
    """One reason: rule `rule` read `field`, found `value`, and expected `expected`.

    `held` says whether the expectation was met.
    """

    rule: str
    field: str
    value: Any
    expected: str
    held: bool

    def __str__(self) -> str:
        verdict = "" if self.held else "not "
        return f"{self.rule}: {self.field} = {render_value(self.value)}, {verdict}{self.expected}"

    def to_json(self) -> dict[str, Any]:
        """The JSON form used in plans: ``{rule, field, value, expected, held}``."""
        return {
            "rule": self.rule,
            "field": self.field,
            "value": self.value,
            "expected": self.expected,
            "held": self.held,
        }


@dataclass(frozen=True, slots=True)
class Decision:
    """The outcome of evaluating one record for one entity.

    Attributes:
        entity: the entity evaluated.
        key: the record's key (its source's key field), as text.
        included: True when every include rule holds.
        fields: the mapped target fields (empty when not included).
        because: for an included record, every rule with what it read; for a skipped
            record, the first rule that failed, with what it read.
    """

    entity: str
    key: str | None
    included: bool
    fields: Mapping[str, Any] = field(default_factory=dict)
    because: tuple[Because, ...] = ()

    @property
    def deciding_rules(self) -> tuple[str, ...]:
        """The ids of the rules that decided (for a skip: the rules that failed)."""
        rules = [item.rule for item in self.because if item.held == self.included]
        return tuple(dict.fromkeys(rules))


def in_words(because: Because) -> str:
    """`because` in plain words for an agency: no ``=``/``!=``, no brackets, no reprs.

    Yes/no for true/false, lists as "A, B or C", dates as given, the run's date as "the
    migration date". Never raises: an `expected` text it does not know is cleaned of
    operators and brackets and said as it is.

    Example:
        >>> when = "after as_of (2025-06-02)"
        >>> expiry = Because("J-01", "profileExpiryDate", "2025-03-01", when, False)
        >>> in_words(expiry)
        'profile expiry date 2025-03-01 is not after the migration date (2025-06-02)'
        >>> in_words(Because("J-01.archived", "archived", True, "= True", True))
        'archived is yes'
    """
    said = because_words(
        str(because.field), because.value, str(because.expected), bool(because.held)
    )
    return said.strip()  # an empty operand ("< " with nothing after it) leaves a space


def condition_in_words(text: str) -> str:
    """A rule's condition text (`Rule.text`, `Check.text`) in plain words; text of another
    shape is cleaned of operators and brackets (never an error).

    Example:
        >>> condition_in_words("archived != True and status in [Active, Active - Periodic]")
        'archived is not yes and status is one of Active or Active - Periodic'
    """
    return condition_words(str(text).strip())
