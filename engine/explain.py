"""What a decision rests on: `Because` entries and the `Decision` for one record.

Every include, skip and archive carries the rule that decided it, the field it read, the
value it found and what the rule expected, e.g.
``P-02: managementType = 'LetOnly', not in [Managed, PartManaged]``.

`in_words` says the same for an agency, without operators or Python reprs
(``management type is LetOnly, not one of Managed or PartManaged``), and
`condition_in_words` renders a rule's condition text (`Rule.text`) likewise.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol

from engine._words import because_words, condition_words

__all__ = [
    "Because",
    "Decision",
    "Explainer",
    "RuleReasons",
    "condition_in_words",
    "in_words",
    "render_value",
]

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


class Because:
    """One reason: rule `rule` read `field`, found `value`, and expected `expected`.

    `held` says whether the expectation was met. Immutable by convention (a plain class
    with slots: a decision may build dozens, so no frozen dataclass's `__setattr__` cost);
    equal when every part is equal.

    Example:
        >>> str(Because("P-01", "recordType", "Sale", "= 'Rent'", False))
        "P-01: recordType = 'Sale', not = 'Rent'"
    """

    __slots__ = ("expected", "field", "held", "rule", "value")
    __match_args__ = ("rule", "field", "value", "expected", "held")

    rule: str
    field: str
    value: Any
    expected: str
    held: bool

    def __init__(self, rule: str, field: str, value: Any, expected: str, held: bool) -> None:
        self.rule = rule
        self.field = field
        self.value = value
        self.expected = expected
        self.held = held

    def _parts(self) -> tuple[str, str, Any, str, bool]:
        return (self.rule, self.field, self.value, self.expected, self.held)

    def __eq__(self, other: object) -> bool:
        if type(other) is not Because:
            return NotImplemented
        return self._parts() == other._parts()

    def __hash__(self) -> int:
        return hash(self._parts())

    def __repr__(self) -> str:
        return (
            f"Because(rule={self.rule!r}, field={self.field!r}, value={self.value!r}, "
            f"expected={self.expected!r}, held={self.held!r})"
        )

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


class Explainer(Protocol):
    """What builds a decision's reasons when they are first read (`RuleReasons`)."""

    def reasons(self, record: Any, context: Any, deciding: int) -> tuple[Because, ...]:
        """The reasons of the include rules up to `deciding` (-1: all of them)."""
        ...


Explain = Callable[[Any, Any], "tuple[bool, list[Because]]"]
_Pending = tuple[Explainer, Any, Any, int]
"""A lazy decision's reasons still to build: the explainer, the record, the context and
the position of the deciding rule (`Explainer.reasons`'s arguments)."""


class RuleReasons:
    """The reasons of an entity's decisions, from its include rules' `explain` closures
    (the reference): each rule in turn, up to and including the first that fails.

    Example:
        >>> def p01(record, context):
        ...     found = record.get("recordType")
        ...     return found == "Rent", [Because("P-01", "recordType", found, "= 'Rent'", False)]
        >>> [str(item) for item in RuleReasons((p01,)).reasons({"recordType": "Sale"}, None, 0)]
        ["P-01: recordType = 'Sale', not = 'Rent'"]
    """

    __slots__ = ("explains",)

    def __init__(self, explains: tuple[Explain, ...]) -> None:
        self.explains = explains

    def reasons(self, record: Any, context: Any, deciding: int) -> tuple[Because, ...]:
        """What the rules read for `record`, up to the first that fails; `deciding` (the
        failing rule's position, -1 for none) is the code generator's verdict, which the
        closures' own must match (a differential test holds them to it)."""
        found: list[Because] = []
        for explain in self.explains:
            held, because = explain(record, context)
            found.extend(because)
            if not held:
                break
        return tuple(found)


class Decision:
    """The outcome of evaluating one record for one entity.

    Attributes:
        entity: the entity evaluated.
        key: the record's key (its source's key field), as text.
        included: True when every include rule holds.
        fields: the mapped target fields (empty when not included).
        because: for an included record, every rule with what it read; for a skipped
            record, the rules up to the first that failed, with what they read.

    A decision made by `Entity.evaluate` records which rule decided and builds `because`
    from the record and the context on first access (then keeps it and lets the record
    go), so reasons cost nothing until read; the record must not change in between. Such a
    decision is built with `because` None and `pending` the explainer, record, context and
    deciding position packed in one tuple (one slot store, not four).
    Immutable by convention.

    Example:
        >>> reason = Because("P-01", "recordType", "Sale", "= 'Rent'", False)
        >>> decision = Decision("property", "1", False, {}, (reason,))
        >>> decision.deciding_rules
        ('P-01',)
    """

    __slots__ = ("_because", "_pending", "entity", "fields", "included", "key")

    entity: str
    key: str | None
    included: bool
    fields: Mapping[str, Any]

    def __init__(
        self,
        entity: str,
        key: str | None,
        included: bool,
        fields: Mapping[str, Any] | None = None,
        because: tuple[Because, ...] | None = (),
        pending: _Pending | None = None,
    ) -> None:
        self.entity = entity
        self.key = key
        self.included = included
        self.fields = {} if fields is None else fields
        self._because = because
        self._pending = pending

    @property
    def because(self) -> tuple[Because, ...]:
        """The reasons (see the class); built from the record on first access."""
        found = self._because
        if found is None:
            pending = self._pending
            found = () if pending is None else pending[0].reasons(*pending[1:])
            self._because = found
            self._pending = None
        return found

    @property
    def deciding_rules(self) -> tuple[str, ...]:
        """The ids of the rules that decided (for a skip: the rules that failed)."""
        rules = [item.rule for item in self.because if item.held == self.included]
        return tuple(dict.fromkeys(rules))

    def _parts(self) -> tuple[Any, ...]:
        return (self.entity, self.key, self.included, self.fields, self.because)

    def __eq__(self, other: object) -> bool:
        if type(other) is not Decision:
            return NotImplemented
        return self._parts() == other._parts()

    def __hash__(self) -> int:
        return hash((self.entity, self.key, self.included, self.because))

    def __repr__(self) -> str:
        return (
            f"Decision(entity={self.entity!r}, key={self.key!r}, included={self.included!r}, "
            f"fields={self.fields!r}, because={self.because!r})"
        )


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
