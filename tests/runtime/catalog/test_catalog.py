"""Lifecycle dates and lookups over a whole (literal) catalog."""

from __future__ import annotations

from datetime import date

import pytest

from astronomer_runtime.catalog import SupportStatus, parse_catalog
from astronomer_runtime.errors import UnknownReleaseError
from tests.runtime.conftest import release_yaml


@pytest.mark.parametrize(
    ("name", "maintenance", "basic_support"),
    [
        ("3.1-1", date(2026, 9, 30), date(2027, 3, 31)),  # 6 months beat 3.2's start + 3 months
        ("3.2-1", date(2027, 12, 31), date(2028, 6, 30)),  # LTS: 18 months
        ("3.3-1", date(2027, 2, 28), date(2027, 8, 31)),  # the line starts with 3.3-1 ...
        ("3.3-2", date(2027, 2, 28), date(2027, 8, 31)),  # ... and 3.3-2 inherits its dates
    ],
)
def test_lifecycle_per_release(small_catalog_text: str, name: str, maintenance: date, basic_support: date) -> None:
    catalog = parse_catalog(small_catalog_text, "versions.yaml")
    lifecycle = catalog.lifecycle(catalog.get(name))
    assert (lifecycle.end_of_maintenance, lifecycle.end_of_basic_support) == (maintenance, basic_support)


def test_explicit_dates_win(small_catalog_text: str) -> None:
    text = small_catalog_text.replace(
        "release_date: 2026-03-18", "release_date: 2026-03-18\n    end_of_maintenance: 2026-12-31"
    )
    catalog = parse_catalog(text, "versions.yaml")
    lifecycle = catalog.lifecycle(catalog.get("3.1-1"))
    assert lifecycle.end_of_maintenance == date(2026, 12, 31)
    assert lifecycle.end_of_basic_support == date(2027, 6, 30)


def test_status_on_a_date(small_catalog_text: str) -> None:
    catalog = parse_catalog(small_catalog_text, "versions.yaml")
    on = date(2026, 11, 28)
    assert catalog.status(catalog.get("3.1-1"), on) is SupportStatus.MAINTENANCE_ENDED
    assert catalog.status(catalog.get("3.3-2"), on) is SupportStatus.SUPPORTED


def test_newest_stable_skips_yanked_and_previews(small_catalog_text: str) -> None:
    text = small_catalog_text + release_yaml("3.3-3", "3.3.2", "2026-10-01", yanked=True) + release_yaml(
        "3.4-1", "3.4.0", "2026-10-20", channel="beta"
    )
    catalog = parse_catalog(text, "versions.yaml")
    assert catalog.newest_stable().name == "3.3-2"
    assert catalog.newest_stable("3.11").name == "3.3-2"
    with pytest.raises(UnknownReleaseError):
        catalog.newest_stable("3.9")


def test_unknown_release_lists_the_known_ones(small_catalog_text: str) -> None:
    catalog = parse_catalog(small_catalog_text, "versions.yaml")
    with pytest.raises(UnknownReleaseError) as raised:
        catalog.get("3.9-1")
    assert str(raised.value) == "unknown release '3.9-1'; known releases: 3.1-1, 3.2-1, 3.3-1, 3.3-2"
