"""Money as the TUI shows it everywhere: pounds with a thousands separator and two pence.

Alto's charges hold amounts as numbers in pure simulation and as form text over HTTP
(``"100.00"``), Fixflo's jobs and quotes as numbers or numeric text; all of them go through
`money`, so ``120.0``, ``"120"`` and ``Decimal("120.00")`` read alike as ``£120.00``.

Example:
    >>> money(1234.5), money("-5"), money(None)
    ('£1,234.50', '-£5.00', 'None')
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Context, Decimal, InvalidOperation
from typing import Any, Final

__all__ = ["amount", "money"]

_PENNY: Final = Decimal("0.01")
_LARGEST: Final = 40
"""The largest power of ten shown as money; a larger number is shown as given."""
_CONTEXT: Final = Context(prec=_LARGEST + 4)


def amount(value: Any) -> Decimal | None:
    """`value` as an exact decimal amount, or None when it is not a finite number.

    Booleans are not amounts; text is read as written (``" 12.5 "`` is 12.5), a float by
    its shortest repr (``0.1`` is 0.1, not its binary expansion).

    Example:
        >>> amount("100.00"), amount(True), amount("n/a")
        (Decimal('100.00'), None, None)
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, Decimal):
        found = value
    elif isinstance(value, int | float):
        found = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    elif isinstance(value, str):
        try:
            found = Decimal(value.strip().replace(",", ""))
        except InvalidOperation:
            return None
    else:
        return None
    return found if found.is_finite() else None


def money(value: Any) -> str:
    """`value` in pounds rounded half up to the penny (``£1,234.50``, ``-£5.00``); anything
    that is not a number is shown as it is (``str(value)``), never an error.

    Example:
        >>> money(0.005), money("1e3"), money("about 40")
        ('£0.01', '£1,000.00', 'about 40')
    """
    found = amount(value)
    if found is None:
        return str(value)
    if found.adjusted() > _LARGEST:
        return str(value)  # not an amount anyone is charged: shown as given
    pence = found.quantize(_PENNY, rounding=ROUND_HALF_UP, context=_CONTEXT)
    sign = "-" if pence < 0 else ""
    return f"{sign}£{abs(pence):,.2f}"
