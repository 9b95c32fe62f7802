"""Company aggregate: E1 self-diagnoses (baseline, progress, module) and the state-aid ledger.

Given/when/then on the aggregate: a command either records the expected event or raises a
named error and records nothing.
"""


from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest
from eventsourcing.application import Application
from eventsourcing.persistence import JSONTranscoder, Transcoding

from aidflow.domain.company import (
    AXES,
    Company,
    DiagnosisModule,
    GrantedAid,
    ImpactScores,
    ModuleMismatch,
    SelfDiagnosis,
    de_minimis_exposure,
    de_minimis_window_contains,
    required_module,
)
from aidflow.domain.errors import DateOutOfOrder, DomainRuleViolation, InvalidValue
from aidflow.domain.identity import company_id
from aidflow.domain.values import Money, StateAidRegime

SIREN = "732829320"
SCORES = {
    "impact_strategy": 55,
    "social_impact": 60,
    "ecological_impact": 40,
    "power_sharing": 35,
    "value_sharing": 50,
}


def company() -> Company:
    registered = Company.register(SIREN, "Atelier Garonne SAS", date(2024, 1, 2))
    registered.collect_events()
    return registered


def scores(**changes: int) -> dict[str, int]:
    return {**SCORES, **changes}


# ------------------------------------------------------------------ identity


def test_company_id_is_derived_from_the_siren() -> None:
    created = Company.register(SIREN, "Atelier Garonne SAS", date(2024, 1, 2))
    assert created.id == company_id(SIREN) == Company.create_id(SIREN)
    assert [type(e).__name__ for e in created.collect_events()] == ["Registered"]


def test_company_with_invalid_siren_is_refused() -> None:
    with pytest.raises(InvalidValue, match="Luhn"):
        Company.register("732829321", "X", date(2024, 1, 2))


def test_company_with_empty_name_is_refused() -> None:
    with pytest.raises(InvalidValue, match="name"):
        Company.register(SIREN, "  ", date(2024, 1, 2))


# ----------------------------------------------------------- E1 self-diagnosis


def test_E1_first_self_diagnosis_is_the_baseline() -> None:
    given = company()
    given.record_self_diagnosis(date(2024, 1, 20), "full", SCORES, staff=42)
    events = given.collect_events()
    assert [type(e).__name__ for e in events] == ["SelfDiagnosed"]
    assert given.baseline == SelfDiagnosis(date(2024, 1, 20), DiagnosisModule.FULL, ImpactScores(**SCORES))
    assert given.latest == given.baseline


def test_E1_progress_compares_latest_with_baseline_axis_by_axis() -> None:
    """L3397: "au regard de son auto-évaluation initiale"."""
    given = company()
    given.record_self_diagnosis(date(2024, 1, 20), "full", SCORES, staff=42)
    given.record_self_diagnosis(date(2025, 1, 20), "full", scores(ecological_impact=55), staff=42)
    given.record_self_diagnosis(
        date(2026, 1, 20), "full", scores(ecological_impact=70, power_sharing=30), staff=42
    )
    progress = given.progress()
    assert progress is not None
    assert progress.baseline.on == date(2024, 1, 20)
    assert progress.latest.on == date(2026, 1, 20)
    assert {a.axis: a.delta for a in progress.axes} == {
        "impact_strategy": 0,
        "social_impact": 0,
        "ecological_impact": 30,
        "power_sharing": -5,
        "value_sharing": 0,
    }
    assert progress.improved_axes == ("ecological_impact",)
    assert progress.regressed_axes == ("power_sharing",)
    assert progress.total_delta == 25


def test_E1_progress_as_of_a_date_uses_the_diagnosis_known_then() -> None:
    given = company()
    given.record_self_diagnosis(date(2024, 1, 20), "full", SCORES, staff=42)
    given.record_self_diagnosis(date(2025, 1, 20), "full", scores(ecological_impact=55), staff=42)
    progress = given.progress(on=date(2024, 12, 31))
    assert progress is not None
    assert progress.total_delta == 0
    assert given.progress(on=date(2023, 1, 1)) is None


def test_E1_progress_without_diagnosis_is_none() -> None:
    assert company().progress() is None


def test_E1_simplified_module_for_fewer_than_10_employees() -> None:
    given = company()
    given.record_self_diagnosis(date(2024, 1, 20), "simplified", SCORES, staff=Decimal("9.5"))
    assert given.latest is not None
    assert given.latest.module is DiagnosisModule.SIMPLIFIED


@pytest.mark.parametrize(
    ("module", "staff"),
    [("simplified", 10), ("simplified", 42), ("full", 9), ("full", 0)],
)
def test_E1_module_mismatching_staff_raises_module_mismatch(module: str, staff: int) -> None:
    given = company()
    with pytest.raises(ModuleMismatch, match=f"{staff} staff") as raised:
        given.record_self_diagnosis(date(2024, 1, 20), module, SCORES, staff=staff)
    assert raised.value.field == "module"
    assert given.collect_events() == []


def test_E1_required_module_threshold_is_10() -> None:
    assert required_module(9) is DiagnosisModule.SIMPLIFIED
    assert required_module(Decimal("9.99")) is DiagnosisModule.SIMPLIFIED
    assert required_module(10) is DiagnosisModule.FULL


@pytest.mark.parametrize("axis", AXES)
@pytest.mark.parametrize("bad", [-1, 101, 50.0, "50", True, None])
def test_E1_axis_score_out_of_range_names_the_axis(axis: str, bad: Any) -> None:
    given = company()
    with pytest.raises(InvalidValue, match=axis) as raised:
        given.record_self_diagnosis(date(2024, 1, 20), "full", scores(**{axis: bad}), staff=42)
    assert raised.value.field == f"scores.{axis}"
    assert given.collect_events() == []


def test_E1_missing_or_unknown_axis_is_named() -> None:
    given = company()
    partial = {k: v for k, v in SCORES.items() if k != "power_sharing"}
    with pytest.raises(InvalidValue, match="power_sharing"):
        given.record_self_diagnosis(date(2024, 1, 20), "full", partial, staff=42)
    with pytest.raises(InvalidValue, match="happiness"):
        given.record_self_diagnosis(date(2024, 1, 20), "full", {**SCORES, "happiness": 3}, staff=42)


def test_E1_unknown_module_is_refused() -> None:
    with pytest.raises(InvalidValue, match="module"):
        company().record_self_diagnosis(date(2024, 1, 20), "partial", SCORES, staff=42)


def test_E1_self_diagnosis_before_the_latest_is_out_of_order() -> None:
    given = company()
    given.record_self_diagnosis(date(2024, 6, 1), "full", SCORES, staff=42)
    given.collect_events()
    with pytest.raises(DateOutOfOrder):
        given.record_self_diagnosis(date(2024, 5, 31), "full", SCORES, staff=42)
    assert given.collect_events() == []


def test_E1_scores_at_bounds_are_accepted() -> None:
    low = ImpactScores(0, 0, 0, 0, 0)
    high = ImpactScores(100, 100, 100, 100, 100)
    assert low.lowest == 0
    assert high.lowest == 100


# ---------------------------------------------------------- state-aid ledger


def test_CAP_DE_MINIMIS_ledger_records_aids_granted() -> None:
    given = company()
    given.record_aid_granted(date(2024, 3, 14), Money.of("200000"), "de_minimis", "CP/2024-03/12.04")
    given.record_aid_granted(date(2024, 5, 2), Money.of("50000"), StateAidRegime.GBER, "CP/2024-05/01")
    assert [type(e).__name__ for e in given.collect_events()] == ["AidGranted", "AidGranted"]
    assert given.aids_granted[0] == GrantedAid(
        date(2024, 3, 14), Money.of("200000"), StateAidRegime.DE_MINIMIS, "CP/2024-03/12.04"
    )
    assert given.de_minimis_granted_within(date(2024, 12, 31)) == Money.of("200000")


def test_CAP_DE_MINIMIS_same_reference_twice_has_no_second_effect() -> None:
    given = company()
    given.record_aid_granted(date(2024, 3, 14), Money.of("1000"), "de_minimis", "A1")
    given.collect_events()
    given.record_aid_granted(date(2024, 3, 14), Money.of("1000"), "de_minimis", "A1")
    assert given.collect_events() == []
    with pytest.raises(DomainRuleViolation, match="A1"):
        given.record_aid_granted(date(2024, 3, 14), Money.of("2000"), "de_minimis", "A1")


def test_CAP_DE_MINIMIS_aid_needs_a_reference_and_a_known_regime() -> None:
    given = company()
    with pytest.raises(InvalidValue, match="reference"):
        given.record_aid_granted(date(2024, 3, 14), Money.of("1000"), "de_minimis", " ")
    with pytest.raises(InvalidValue, match="regime"):
        given.record_aid_granted(date(2024, 3, 14), Money.of("1000"), "notified", "A2")


def test_CAP_DE_MINIMIS_rolling_window_is_open_at_its_start() -> None:
    """(end − 3 years, end]: exactly 3 years old is out; 3 years minus 1 day is in."""
    end = date(2027, 3, 14)
    assert de_minimis_window_contains(end, date(2024, 3, 15))
    assert not de_minimis_window_contains(end, date(2024, 3, 14))
    assert not de_minimis_window_contains(end, date(2024, 3, 13))
    assert de_minimis_window_contains(end, end)
    assert not de_minimis_window_contains(end, date(2027, 3, 15))


def test_CAP_DE_MINIMIS_aid_3_years_and_1_day_old_no_longer_counts() -> None:
    given = company()
    given.record_aid_granted(date(2021, 3, 13), Money.of("100000"), "de_minimis", "OLD")
    given.record_aid_granted(date(2021, 3, 15), Money.of("20000"), "de_minimis", "RECENT")
    given.record_aid_granted(date(2022, 1, 1), Money.of("7000"), "gber", "NOT-DE-MINIMIS")
    # 2024-03-14 − 3 years = 2021-03-14: OLD (3 years + 1 day old) is out, RECENT is in.
    assert given.de_minimis_granted_within(date(2024, 3, 14)) == Money.of("20000")
    assert given.de_minimis_granted_within(date(2024, 3, 12)) == Money.of("120000")


def test_CAP_DE_MINIMIS_window_from_29_february() -> None:
    """3 years before 29 February 2028 is 28 February 2025 (dates.add_years)."""
    assert not de_minimis_window_contains(date(2028, 2, 29), date(2025, 2, 28))
    assert de_minimis_window_contains(date(2028, 2, 29), date(2025, 3, 1))


def test_CAP_DE_MINIMIS_exposure_looks_at_later_windows_too() -> None:
    """An aid dated after the award day (recorded late) shares windows with it."""
    aids = [
        GrantedAid(date(2022, 1, 10), Money.of("100000"), "de_minimis", "A"),
        GrantedAid(date(2024, 6, 1), Money.of("150000"), "de_minimis", "LATER"),
    ]
    exposure, window_end = de_minimis_exposure(aids, date(2024, 3, 1))
    assert exposure == Money.of("250000")
    assert window_end == date(2024, 6, 1)
    exposure, _ = de_minimis_exposure(aids, date(2025, 1, 11))
    assert exposure == Money.of("150000")


# ------------------------------------------------------------- persistence


class _DateAsISO(Transcoding):
    type = date
    name = "date_iso"

    def encode(self, obj: date) -> str:
        return obj.isoformat()

    def decode(self, data: str) -> date:
        return date.fromisoformat(data)


class _MoneyAsStr(Transcoding):
    type = Money
    name = "money"

    def encode(self, obj: Money) -> str:
        return str(obj)

    def decode(self, data: str) -> Money:
        return Money.of(data)


class _Companies(Application[UUID]):
    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        transcoder.register(_DateAsISO())
        transcoder.register(_MoneyAsStr())


def test_company_events_round_trip_with_date_and_money_transcodings_only() -> None:
    """Company events carry primitives, date and Money: nothing else needs a transcoding."""
    app = _Companies()
    given = Company.register(SIREN, "Atelier Garonne SAS", date(2024, 1, 2))
    given.record_self_diagnosis(date(2024, 1, 20), "simplified", SCORES, staff=4)
    given.record_aid_granted(date(2024, 3, 14), Money.of("10000"), "de_minimis", "A1")
    app.save(given)
    replayed: Company = app.repository.get(given.id)
    assert replayed.diagnoses == given.diagnoses
    assert replayed.aids_granted == given.aids_granted
    assert replayed.de_minimis_granted_within(date(2024, 12, 31)) == Money.of("10000")
