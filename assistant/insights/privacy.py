"""Small-number suppression: the one place where a count becomes something to show.

A rare red flag on a quiet day could point at a patient, so no count under
``SMALL_NUMBER`` (5; ``INSIGHTS_SMALL_NUMBER`` may raise it, never lower it) is shown:
it reads "fewer than 5". Zero is under 5 too, so "none" and "a few" look the same.

Every number the insights show passes through here: ``load_summary`` turns raw counts
into ``Count`` cells before anything else sees them, so the page, the CSV and the command
line cannot show a raw small number by mistake. Two more rules keep suppressed cells
from being worked out from others:

* A share (``Share``) is shown only when both its numerator and its denominator are.
* In a partition of a shown total (web / kiosk / other; the days of the period; the hours
  of the week), a single suppressed cell could be recovered as the total minus the rest.
  So when exactly one cell of a partition is suppressed, the smallest other cell is
  suppressed as well ("complementary suppression").
"""

import os
from dataclasses import dataclass
from typing import Dict, Hashable, Mapping, Optional, TypeVar

K = TypeVar("K", bound=Hashable)
MINIMUM = 5
SMALL_NUMBER = max(MINIMUM, int(os.environ.get("INSIGHTS_SMALL_NUMBER", str(MINIMUM))))


@dataclass(frozen=True)
class Count:
    """A count as it may be shown: ``value`` is None when suppressed."""

    value: Optional[int]

    @property
    def suppressed(self) -> bool:
        return self.value is None

    def __str__(self) -> str:
        return f"fewer than {SMALL_NUMBER}" if self.value is None else f"{self.value:,}"

    def plain(self) -> str:
        """For the CSV: digits without separators, or the suppression wording."""
        return f"fewer than {SMALL_NUMBER}" if self.value is None else str(self.value)


@dataclass(frozen=True)
class Share:
    """A share of a total, shown only when both counts are."""

    part: Count
    whole: Count

    @property
    def value(self) -> Optional[float]:
        if self.part.value is None or self.whole.value is None or self.whole.value == 0:
            return None
        return self.part.value / self.whole.value

    def __str__(self) -> str:
        value = self.value
        return "not shown" if value is None else f"{value * 100:.1f} %"


def count(raw: int) -> Count:
    """One count cell, suppressed under the threshold."""
    return Count(None if raw < SMALL_NUMBER else int(raw))


def partition(raw: Mapping[K, int]) -> Dict[K, Count]:
    """Cells that add up to a shown total, with complementary suppression.

    The extra cell is chosen by size among the shown cells, then by key order, so which
    one is hidden says nothing more than the shown numbers already do.
    """
    cells = {key: count(value) for key, value in raw.items()}
    hidden = [key for key, cell in cells.items() if cell.suppressed]
    shown = [key for key, cell in cells.items() if not cell.suppressed]
    if len(hidden) == 1 and shown:
        smallest = min(shown, key=lambda key: (raw[key], str(key)))
        cells[smallest] = Count(None)
    return cells
