"""Calendar arithmetic used by the rules (RULES.md §4)."""

from __future__ import annotations

from datetime import date

from dateutil.relativedelta import relativedelta


def add_years(day: date, years: int) -> date:
    """Return ``day`` plus ``years`` calendar years, keeping month and day.

    29 February maps to 28 February in a non-leap target year (RULES.md §4:
    "Adding N years to a date keeps month and day (29 February → 28 February)").
    """
    return day + relativedelta(years=years)


def add_months(day: date, months: int) -> date:
    """Return ``day`` plus ``months`` months, clamping to the month's last day."""
    return day + relativedelta(months=months)
