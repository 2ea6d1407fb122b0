"""The Runtime lifecycle policy, as code.

- A Runtime line (all releases `3.3-n`) is maintained as a whole, from the release date of its first
  non-preview release: patch releases inherit the line's dates, as on Astro.
- Stable lines: maintained for 6 months, or until 3 months after the next line's first release,
  whichever is longer.
- LTS lines: maintained for 18 months, or until 6 months after the next LTS line's first release,
  whichever is longer.
- Maintenance ends on the last day of a month. Basic support (answers, no new fixes) goes on for
  6 more months, again to the end of a month.
- Dates written in the catalog win over computed ones.
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass
from enum import Enum

STABLE_MONTHS = 6
STABLE_AFTER_NEXT_MONTHS = 3
LTS_MONTHS = 18
LTS_AFTER_NEXT_MONTHS = 6
BASIC_SUPPORT_MONTHS = 6


class SupportStatus(str, Enum):
    SUPPORTED = "supported"
    MAINTENANCE_ENDED = "maintenance ended"
    SUPPORT_ENDED = "support ended"
    YANKED = "yanked"


@dataclass(frozen=True)
class Lifecycle:
    end_of_maintenance: dt.date
    end_of_basic_support: dt.date


def end_of_month(day: dt.date) -> dt.date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def add_months(day: dt.date, months: int) -> dt.date:
    """The same day `months` later, clamped to the month's last day (Jan 31 + 1 = Feb 28/29)."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def end_of_maintenance(
    line_start: dt.date, *, lts: bool, next_line_start: dt.date | None, next_lts_start: dt.date | None
) -> dt.date:
    """When maintenance of a line that started on `line_start` ends, given what came after it."""
    if lts:
        candidates = [add_months(line_start, LTS_MONTHS)]
        if next_lts_start is not None:
            candidates.append(add_months(next_lts_start, LTS_AFTER_NEXT_MONTHS))
    else:
        candidates = [add_months(line_start, STABLE_MONTHS)]
        if next_line_start is not None:
            candidates.append(add_months(next_line_start, STABLE_AFTER_NEXT_MONTHS))
    return end_of_month(max(candidates))


def end_of_basic_support(maintenance_end: dt.date) -> dt.date:
    return end_of_month(add_months(maintenance_end, BASIC_SUPPORT_MONTHS))


def support_status(lifecycle: Lifecycle, *, yanked: bool, on: dt.date) -> SupportStatus:
    """A release's status on a given day."""
    if yanked:
        return SupportStatus.YANKED
    if on <= lifecycle.end_of_maintenance:
        return SupportStatus.SUPPORTED
    if on <= lifecycle.end_of_basic_support:
        return SupportStatus.MAINTENANCE_ENDED
    return SupportStatus.SUPPORT_ENDED
