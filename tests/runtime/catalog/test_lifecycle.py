"""The lifecycle policy with literal dates."""

from __future__ import annotations

from datetime import date

import pytest

from astronomer_runtime.catalog.lifecycle import (
    Lifecycle,
    SupportStatus,
    add_months,
    end_of_basic_support,
    end_of_maintenance,
    end_of_month,
    support_status,
)


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (date(2026, 1, 31), 1, date(2026, 2, 28)),
        (date(2028, 1, 31), 1, date(2028, 2, 29)),
        (date(2026, 8, 20), 6, date(2027, 2, 20)),
        (date(2026, 11, 15), 18, date(2028, 5, 15)),
        (date(2026, 12, 1), 1, date(2027, 1, 1)),
    ],
)
def test_add_months(day: date, months: int, expected: date) -> None:
    assert add_months(day, months) == expected


@pytest.mark.parametrize(
    ("day", "expected"),
    [(date(2026, 2, 3), date(2026, 2, 28)), (date(2028, 2, 3), date(2028, 2, 29)), (date(2026, 12, 31), date(2026, 12, 31))],
)
def test_end_of_month(day: date, expected: date) -> None:
    assert end_of_month(day) == expected


@pytest.mark.parametrize(
    ("start", "lts", "next_line", "next_lts", "expected"),
    [
        # stable, no successor yet: 6 months, to the end of that month
        (date(2026, 8, 20), False, None, None, date(2027, 2, 28)),
        # stable, successor early: 6 months still win
        (date(2026, 3, 18), False, date(2026, 6, 8), None, date(2026, 9, 30)),
        # stable, successor late: 3 months after it win
        (date(2026, 3, 18), False, date(2026, 8, 20), None, date(2026, 11, 30)),
        # LTS, no next LTS: 18 months
        (date(2026, 6, 8), True, date(2026, 8, 20), None, date(2027, 12, 31)),
        # LTS, next LTS 15 months later: 6 months after it (21 months) win
        (date(2026, 6, 8), True, None, date(2027, 9, 1), date(2028, 3, 31)),
        # LTS, next LTS soon: 18 months still win
        (date(2026, 6, 8), True, None, date(2026, 9, 1), date(2027, 12, 31)),
        # an LTS line ignores a next non-LTS line
        (date(2026, 6, 8), True, date(2027, 10, 1), None, date(2027, 12, 31)),
    ],
)
def test_end_of_maintenance(
    start: date, lts: bool, next_line: date | None, next_lts: date | None, expected: date
) -> None:
    assert end_of_maintenance(start, lts=lts, next_line_start=next_line, next_lts_start=next_lts) == expected


def test_basic_support_runs_six_more_months() -> None:
    assert end_of_basic_support(date(2027, 2, 28)) == date(2027, 8, 31)
    assert end_of_basic_support(date(2026, 9, 30)) == date(2027, 3, 31)


LIFECYCLE = Lifecycle(end_of_maintenance=date(2027, 2, 28), end_of_basic_support=date(2027, 8, 31))


@pytest.mark.parametrize(
    ("on", "yanked", "expected"),
    [
        (date(2026, 11, 28), False, SupportStatus.SUPPORTED),
        (date(2027, 2, 28), False, SupportStatus.SUPPORTED),
        (date(2027, 3, 1), False, SupportStatus.MAINTENANCE_ENDED),
        (date(2027, 8, 31), False, SupportStatus.MAINTENANCE_ENDED),
        (date(2027, 9, 1), False, SupportStatus.SUPPORT_ENDED),
        (date(2026, 11, 28), True, SupportStatus.YANKED),
    ],
)
def test_support_status(on: date, yanked: bool, expected: SupportStatus) -> None:
    assert support_status(LIFECYCLE, yanked=yanked, on=on) is expected
