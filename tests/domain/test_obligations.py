# Copyright (C) 2026 aidflow developers. SPDX-License-Identifier: MIT
"""Obligation windows, monitoring facts and the declaration calendar (RULES.md §4)."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given

from aidflow.domain.dates import add_years
from aidflow.domain.errors import InvalidValue
from aidflow.domain.obligations import (
    OBLIGATIONS,
    ConventionTerms,
    DeclarationState,
    FactKind,
    MonitoringFact,
    ObligationId,
    Wording,
    declarations_due,
    obligation_windows,
    window_of,
)
from aidflow.domain.values import CompanySize, Money
from aidflow.testing import strategies as ast


def terms(**changes: object) -> ConventionTerms:
    values: dict[str, object] = {
        "signed_on": date(2024, 4, 2),
        "size_at_signature": CompanySize.SMALL,
        "programme_start": date(2024, 3, 1),
        "programme_end": date(2025, 12, 31),
        "jobs": 12,
        "investment": Money.of("900000.00"),
        "innovation": False,
    }
    values.update(changes)
    return ConventionTerms(**values)  # type: ignore[arg-type]  # loosely typed overrides, validated by attrs


# ------------------------------------------------------------------ catalogue


def test_every_obligation_cites_the_deliberation_with_its_source_lines():
    for obligation in OBLIGATIONS.values():
        assert obligation.references
        assert obligation.references[0].title == "Délibération AP/2022-11/03 — SRDEII, Action 27"
        assert obligation.references[0].article == f"002_8b3eb659ad96bcac.txt {obligation.lines}"


def test_only_o4_o5_o6_are_discretionary():
    discretionary = {o.id for o in OBLIGATIONS.values() if o.wording is Wording.DISCRETIONARY}
    assert discretionary == {ObligationId.O4, ObligationId.O5, ObligationId.O6}


def test_jobs_obligation_cites_lines_3420_to_3424():
    reference = OBLIGATIONS[ObligationId.O2].references[0]
    assert reference.article == "002_8b3eb659ad96bcac.txt L3420-3424"


# ------------------------------------------------------------------ windows


def test_dossier_example_windows():
    windows = {w.id: w for w in obligation_windows(terms())}

    assert set(windows) == {
        ObligationId.O1,
        ObligationId.O2,
        ObligationId.O3,
        ObligationId.O4,
        ObligationId.O5,
    }
    assert (windows[ObligationId.O2].start, windows[ObligationId.O2].until) == (
        date(2024, 3, 1),
        date(2028, 12, 31),
    )
    assert windows[ObligationId.O1].until == date(2028, 12, 31)
    assert (windows[ObligationId.O3].start, windows[ObligationId.O3].until) == (
        date(2024, 4, 2),
        date(2032, 4, 2),
    )
    assert windows[ObligationId.O4].until == windows[ObligationId.O5].until == date(2032, 4, 2)


@pytest.mark.parametrize(
    ("size", "until"),
    [
        (CompanySize.MICRO, date(2028, 12, 31)),
        (CompanySize.SMALL, date(2028, 12, 31)),
        (CompanySize.MEDIUM, date(2028, 12, 31)),
        (CompanySize.ETI, date(2030, 12, 31)),
        (CompanySize.LARGE, date(2030, 12, 31)),
    ],
)
def test_jobs_and_investment_windows_run_3_years_for_pme_and_5_for_eti_and_large(size, until):
    windows = {w.id: w for w in obligation_windows(terms(size_at_signature=size))}

    assert windows[ObligationId.O1].until == until
    assert windows[ObligationId.O2].until == until


def test_innovation_schemes_add_o6_over_the_programme_and_o7_over_eight_years():
    windows = {w.id: w for w in obligation_windows(terms(innovation=True))}

    assert (windows[ObligationId.O6].start, windows[ObligationId.O6].until) == (
        date(2024, 3, 1),
        date(2025, 12, 31),
    )
    assert windows[ObligationId.O6].wording is Wording.DISCRETIONARY
    assert (windows[ObligationId.O7].start, windows[ObligationId.O7].until) == (
        date(2024, 4, 2),
        date(2032, 4, 2),
    )
    assert windows[ObligationId.O7].wording is Wording.MANDATORY


def test_non_innovation_schemes_have_no_o6_or_o7():
    assert window_of(terms(), ObligationId.O6) is None
    assert window_of(terms(), ObligationId.O7) is None


def test_leap_day_signature_keeps_29_february_eight_years_later_in_a_leap_year():
    # 2032 is a leap year: "adding N years keeps month and day" gives 29 February.
    window = window_of(terms(signed_on=date(2024, 2, 29)), ObligationId.O3)

    assert window is not None
    assert window.until == date(2032, 2, 29)
    assert window.contains(date(2032, 2, 29))
    assert not window.contains(date(2032, 3, 1))


def test_leap_day_signature_ends_on_28_february_when_the_target_year_is_not_leap():
    window = window_of(
        terms(signed_on=date(2092, 2, 29), programme_start=date(2092, 3, 1), programme_end=date(2093, 1, 1)),
        ObligationId.O3,
    )

    assert window is not None
    assert window.until == date(2100, 2, 28)  # 2100 is not a leap year


def test_leap_day_programme_end_moves_jobs_window_end_to_28_february():
    window = window_of(
        terms(programme_start=date(2023, 3, 1), programme_end=date(2024, 2, 29)), ObligationId.O2
    )

    assert window is not None
    assert window.until == date(2027, 2, 28)
    assert window.contains(date(2027, 2, 28))
    assert not window.contains(date(2027, 3, 1))


def test_windows_include_both_ends():
    window = window_of(terms(), ObligationId.O2)

    assert window is not None
    assert window.contains(date(2024, 3, 1))
    assert window.contains(date(2028, 12, 31))
    assert not window.contains(date(2024, 2, 29))
    assert not window.contains(date(2029, 1, 1))
    assert window.days == (date(2028, 12, 31) - date(2024, 3, 1)).days


@given(ast.convention_terms())
def test_o1_o2_window_follows_only_the_size_at_signature(t):
    years = 3 if t.size_at_signature.is_sme else 5
    windows = {w.id: w for w in obligation_windows(t)}

    assert windows[ObligationId.O2].until == add_years(t.programme_end, years)
    assert windows[ObligationId.O1].until == windows[ObligationId.O2].until
    assert windows[ObligationId.O3].until == add_years(t.signed_on, 8)
    assert (ObligationId.O7 in windows) is t.innovation


# ------------------------------------------------------------------ terms and facts


def test_terms_reject_a_programme_ending_before_it_starts():
    with pytest.raises(InvalidValue, match="programme_end 2024-02-01 is before programme_start 2024-03-01"):
        terms(programme_end=date(2024, 2, 1))


def test_terms_reject_negative_jobs():
    with pytest.raises(InvalidValue, match="jobs must be a non-negative whole number, got -1"):
        terms(jobs=-1)


def test_terms_parse_iso_dates_and_decimal_strings():
    parsed = terms(signed_on="2024-04-02", investment="900000.00", size_at_signature="small")

    assert parsed == terms()


def test_headcount_requires_jobs():
    with pytest.raises(InvalidValue, match="jobs is required for a headcount declaration"):
        MonitoringFact(FactKind.HEADCOUNT, date(2027, 3, 1))


def test_disposal_requires_a_value():
    with pytest.raises(InvalidValue, match="value is required for an investment disposal"):
        MonitoringFact(FactKind.INVESTMENT_DISPOSED, date(2027, 3, 1))


def test_destination_only_for_a_relocation():
    with pytest.raises(InvalidValue, match="destination is only meaningful for a relocation"):
        MonitoringFact(FactKind.ACTIVITY_CEASED, date(2027, 3, 1), destination="Lyon")


def test_fact_points_to_its_obligation():
    fact = MonitoringFact("relocated", "2027-03-01", destination="Lyon")

    assert fact.obligation is ObligationId.O5
    assert fact.on == date(2027, 3, 1)


def test_negative_jobs_are_rejected():
    with pytest.raises(InvalidValue, match="got -3"):
        MonitoringFact(FactKind.HEADCOUNT, date(2027, 3, 1), jobs=-3)


# ------------------------------------------------------------------ declaration calendar


def test_small_company_owes_three_yearly_declarations_after_the_programme():
    calendar = declarations_due(terms(), [], date(2026, 1, 15))

    assert [(d.anniversary, d.due_by) for d in calendar] == [
        (date(2026, 12, 31), date(2027, 3, 31)),
        (date(2027, 12, 31), date(2028, 3, 31)),
        (date(2028, 12, 31), date(2029, 3, 31)),
    ]
    assert all(d.state is DeclarationState.UPCOMING for d in calendar)


def test_eti_owes_five_yearly_declarations():
    calendar = declarations_due(terms(size_at_signature=CompanySize.ETI), [], date(2026, 1, 15))

    assert len(calendar) == 5
    assert calendar[-1].anniversary == date(2030, 12, 31)


def test_declaration_states_at_a_date():
    calendar = declarations_due(terms(), [date(2027, 3, 1)], date(2028, 4, 1))

    assert [d.state for d in calendar] == [
        DeclarationState.MADE,
        DeclarationState.OVERDUE,
        DeclarationState.UPCOMING,
    ]
    assert calendar[0].made_on == date(2027, 3, 1)
    assert calendar[1].is_overdue


def test_a_declaration_is_due_from_the_anniversary_to_the_last_day_of_grace():
    on_anniversary = declarations_due(terms(), [], date(2026, 12, 31))[0]
    last_day = declarations_due(terms(), [], date(2027, 3, 31))[0]
    day_after = declarations_due(terms(), [], date(2027, 4, 1))[0]

    assert on_anniversary.state is DeclarationState.DUE
    assert last_day.state is DeclarationState.DUE
    assert day_after.state is DeclarationState.OVERDUE


@pytest.mark.parametrize(
    ("declared", "state"),
    [
        (date(2026, 12, 30), DeclarationState.OVERDUE),  # before the anniversary: information only
        (date(2026, 12, 31), DeclarationState.MADE),
        (date(2027, 3, 31), DeclarationState.MADE),
        (date(2027, 4, 1), DeclarationState.OVERDUE),  # late: does not satisfy it
    ],
)
def test_a_declaration_counts_only_within_anniversary_and_due_by(declared, state):
    calendar = declarations_due(terms(), [declared], date(2027, 6, 30))

    assert calendar[0].state is state


def test_a_declaration_dated_after_the_evaluation_date_is_not_yet_known():
    calendar = declarations_due(terms(), [date(2027, 3, 1)], date(2027, 2, 1))

    assert calendar[0].state is DeclarationState.DUE


def test_leap_day_programme_end_keeps_29_february_in_leap_years():
    calendar = declarations_due(
        terms(
            programme_start=date(2023, 3, 1),
            programme_end=date(2024, 2, 29),
            size_at_signature=CompanySize.ETI,
        ),
        [],
        date(2024, 3, 1),
    )

    assert [d.anniversary for d in calendar] == [
        date(2025, 2, 28),
        date(2026, 2, 28),
        date(2027, 2, 28),
        date(2028, 2, 29),
        date(2029, 2, 28),
    ]
    assert calendar[0].due_by == date(2025, 5, 28)


def test_grace_period_clamps_to_month_end():
    calendar = declarations_due(terms(programme_end=date(2025, 11, 30)), [], date(2025, 12, 1))

    assert calendar[0].due_by == date(2027, 2, 28)


@given(ast.convention_terms())
def test_calendar_ends_with_the_o2_window(t):
    calendar = declarations_due(t, [], t.programme_end)
    window = window_of(t, ObligationId.O2)

    assert window is not None
    assert calendar[-1].anniversary == window.until
    assert len(calendar) == t.retention_years
