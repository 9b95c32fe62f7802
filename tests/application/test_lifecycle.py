"""The application service's lifecycle, on every store (memory, SQLite, PostgreSQL).

Data: the example dossier of DOSSIER.md (``tests/helpers.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from uuid import UUID, uuid5

import attrs
import pytest

from aidflow.application.errors import AlreadyExists, InputError
from aidflow.application.service import Aidflow
from aidflow.domain.errors import CeilingExceeded, DomainRuleViolation, InvalidTransition
from aidflow.domain.identity import application_id, convention_id, scheme_id
from aidflow.domain.scheme import InstrumentCeiling
from aidflow.domain.values import Instrument, Money
from helpers import (
    CONVENTION,
    REFERENCE,
    SIREN,
    another_company,
    award_step,
    complete_step,
    make_eligible,
    pay_step,
    reject_step,
    sign_step,
    submit_command,
    withdraw_step,
)

NAMESPACE = UUID("6f1c1f5e-8d0a-5b9e-9c51-a1d0f10e2022")
"""ADR 0002's namespace, restated: a change to it would orphan every stored aggregate."""


def signed(app: Aidflow, reference: str = REFERENCE, convention: str = CONVENTION) -> None:
    """Submit, award and sign the example dossier (under ``reference``/``convention``)."""
    app.submit(submit_command(reference=reference))
    make_eligible(app, reference)
    app.award(reference, award_step())
    app.sign(reference, sign_step(convention=convention))


def test_example_dossier_from_submission_to_completion(app: Aidflow) -> None:
    assert app.event_count() == 0
    app.submit(submit_command())
    view = app.dossier(REFERENCE)
    assert (view.status, view.scheme, view.siren, view.requested) == (
        "submitted", "CEA", "732829320", Decimal("250000.00"))
    assert view.programme == {"start": date(2024, 3, 1), "end": date(2025, 12, 31),
                              "investment": Decimal("900000.00"), "jobs": 12}

    make_eligible(app)
    assert app.dossier(REFERENCE).status == "eligible"
    app.award(REFERENCE, award_step())
    view = app.dossier(REFERENCE)
    assert view.status == "awarded"
    assert view.awarded == Decimal("250000.00")
    assert view.split == {"grant": Decimal("200000.00"), "advance": Decimal("50000.00")}
    assert view.decision == {"body": "commission permanente", "deliberation": "CP/2024-03/12.04",
                             "on": date(2024, 3, 14)}

    app.sign(REFERENCE, sign_step())
    view = app.dossier(REFERENCE)
    assert (view.status, view.convention, view.signed_on) == ("signed", CONVENTION, date(2024, 4, 2))
    assert view.size_at_signature == "small"  # 42 staff, 6.2 M€ turnover (RULES.md §1)

    assert app.pay(REFERENCE, pay_step()) is True
    app.complete_programme(REFERENCE, complete_step())
    view = app.dossier(CONVENTION)  # a convention number finds the same dossier
    assert view.reference == REFERENCE
    assert view.paid == Decimal("75000.00")
    assert [(p.ref, p.amount, p.kind, p.on) for p in view.payments] == [
        ("P1", Decimal("75000.00"), "advance", date(2024, 4, 15))]
    assert view.programme_completed_on == date(2025, 12, 31)

    history = app.history(REFERENCE)
    events = [(e.aggregate, e.event, e.on) for e in history]
    # In recording order; the application's and the convention's signature events share one commit.
    assert [e.recorded_at for e in history] == sorted(e.recorded_at for e in history)
    assert sorted(events) == sorted([
        ("application", "Submitted", date(2024, 1, 15)),
        ("application", "EligibilityChecked", date(2024, 2, 1)),
        ("application", "Awarded", date(2024, 3, 14)),
        ("application", "ConventionSigned", date(2024, 4, 2)),
        ("convention", "Signed", date(2024, 4, 2)),
        ("convention", "PaymentRecorded", date(2024, 4, 15)),
        ("convention", "ProgrammeCompleted", date(2025, 12, 31)),
    ])
    days = [on for _, _, on in events if on is not None]
    assert days == sorted(days)
    assert len(days) == len(events)
    # Besides the dossier's own events: the catalogue scheme, stored with the first application
    # made under it, and the company's history (the self-diagnosis).
    company = app.company(SIREN)
    assert company is not None
    assert app.event_count() == 1 + company.version + len(events)


def test_submitting_the_same_reference_twice_is_refused(app: Aidflow) -> None:
    app.submit(submit_command())
    before = app.event_count()
    with pytest.raises(AlreadyExists) as raised:
        app.submit(submit_command())
    assert raised.value.field == "reference"
    assert REFERENCE in str(raised.value)
    assert app.event_count() == before


def test_withdrawal(app: Aidflow) -> None:
    app.submit(submit_command())
    app.withdraw(REFERENCE, withdraw_step())
    view = app.dossier(REFERENCE)
    assert view.status == "withdrawn"
    assert [e.event for e in app.history(REFERENCE)][-1] == "Withdrawn"
    assert app.application(REFERENCE).withdrawal_reason == "project postponed"
    before = app.event_count()
    with pytest.raises(InvalidTransition) as raised:
        app.award(REFERENCE, award_step())
    assert raised.value.field == "do"
    assert app.event_count() == before


def test_rejection_keeps_its_reasons(app: Aidflow) -> None:
    app.submit(submit_command())
    app.reject(REFERENCE, reject_step())
    view = app.dossier(REFERENCE)
    assert view.status == "rejected"
    assert view.awarded is None
    assert view.rejection == {
        "body": "commission permanente", "deliberation": "CP/2024-03/12.05", "on": date(2024, 3, 14),
        "reasons": ["programme not eligible", "financing plan incomplete"],
    }
    with pytest.raises(InvalidTransition):
        app.sign(REFERENCE, sign_step())


@pytest.mark.parametrize(("reasons", "field"), [([], "reasons"), (["  "], "reasons.0")])
def test_a_rejection_needs_a_reason(app: Aidflow, reasons: list[str], field: str) -> None:
    app.submit(submit_command())
    before = app.event_count()
    with pytest.raises(InputError) as raised:
        app.reject(REFERENCE, reject_step(reasons=reasons))
    assert raised.value.field == field
    assert app.event_count() == before
    assert app.dossier(REFERENCE).status == "submitted"


def test_a_renamed_scheme_keeps_its_identity(app: Aidflow) -> None:
    app.submit(submit_command())
    identity = app.scheme("CEA").id
    app.rename_scheme("CEA", "Contrat Entreprise d'avenir 2025", date(2025, 1, 1))

    scheme = app.scheme("CEA")
    assert scheme.id == identity == scheme_id("CEA")
    assert scheme.title == "Contrat Entreprise d'avenir 2025"
    assert scheme.former_titles == [(date(2025, 1, 1), "Contrat Entreprise d'avenir")]
    assert [e.event for e in app.scheme_history("CEA")] == ["Opened", "Renamed"]
    # Applications made under the former title still belong to the scheme, and new ones join it.
    assert app.dossier(REFERENCE).scheme == "CEA"
    app.submit(submit_command(reference="2025-CEA-0001", on="2025-02-01"))
    assert app.application("2025-CEA-0001").scheme_code == "CEA"
    assert [v.title for v in app.schemes() if v.code == "CEA"] == ["Contrat Entreprise d'avenir 2025"]


def test_amended_terms_do_not_change_earlier_awards(app: Aidflow) -> None:
    signed(app)
    for index, reference in enumerate(("2024-CEA-0043", "2024-CEA-0044"), start=1):
        # Other companies: the example company's rolling de minimis cap is nearly used up.
        app.submit(another_company(index, submit_command(reference=reference)))
        make_eligible(app, reference)
    opening_terms = app.scheme("CEA").terms
    stricter = attrs.evolve(
        opening_terms,
        instrument_ceilings=(InstrumentCeiling(Instrument.GRANT, Money("100000.00")),),
    )
    app.amend_scheme("CEA", stricter, date(2024, 6, 1), "grant ceiling lowered")

    # The award decided under the opening terms stands, and its convention is paid in full.
    assert app.dossier(REFERENCE).awarded == Decimal("250000.00")
    assert app.convention(CONVENTION).award.grant == Money("200000.00")
    assert app.pay(REFERENCE, pay_step(ref="P2", amount="175000.00", kind="interim", on="2024-07-01"))
    # A decision dated before the amendment's effect is judged under the opening terms …
    app.award("2024-CEA-0043", award_step(on="2024-05-31"))
    assert app.dossier("2024-CEA-0043").split == {"grant": Decimal("200000.00"),
                                                  "advance": Decimal("50000.00")}
    # … and one dated on or after it under the amended terms.
    before = app.event_count()
    with pytest.raises(CeilingExceeded) as raised:
        app.award("2024-CEA-0044", award_step(on="2024-06-01"))
    assert raised.value.field == "grant"
    assert app.event_count() == before
    app.award("2024-CEA-0044", award_step(on="2024-06-01", grant="100000.00", advance="150000.00"))
    assert app.scheme("CEA").terms_on(date(2024, 5, 31)) == opening_terms
    assert app.scheme("CEA").terms_on(date(2024, 6, 1)) == stricter


def test_a_payment_reference_is_recorded_once(app: Aidflow) -> None:
    signed(app)
    assert app.pay(REFERENCE, pay_step()) is True
    after_first = app.event_count()
    assert app.pay(REFERENCE, pay_step()) is False
    assert app.pay(CONVENTION, pay_step()) is False
    assert app.event_count() == after_first
    assert app.dossier(REFERENCE).paid == Decimal("75000.00")


def test_a_payment_reference_reused_for_another_amount_is_refused(app: Aidflow) -> None:
    signed(app)
    app.pay(REFERENCE, pay_step())
    before = app.event_count()
    with pytest.raises(DomainRuleViolation) as raised:
        app.pay(REFERENCE, pay_step(amount="75000.01"))
    assert raised.value.field == "ref"
    assert "P1" in str(raised.value)
    assert app.event_count() == before
    assert app.dossier(REFERENCE).paid == Decimal("75000.00")


@pytest.mark.parametrize(
    ("amounts", "total"),
    [
        pytest.param(["75000.00", "175000.00", "0.01"], "250000.00", id="exactly-then-one-cent"),
        pytest.param(["250000.01"], "0.00", id="first-payment-over"),
        pytest.param(["100000.00", "100000.00", "50000.01", "50000.00"], "250000.00", id="over-then-exactly"),
    ],
)
def test_total_paid_never_exceeds_the_award(app: Aidflow, amounts: list[str], total: str) -> None:
    signed(app)
    awarded = Decimal("250000.00")
    accepted = Decimal("0.00")
    for index, amount in enumerate(amounts):
        paid = app.dossier(REFERENCE).paid
        before = app.event_count()
        step = pay_step(ref=f"P{index + 1}", amount=amount, kind="interim")
        if paid + Decimal(amount) > awarded:
            with pytest.raises(CeilingExceeded) as raised:
                app.pay(REFERENCE, step)
            assert raised.value.field == "amount"
            assert amount in str(raised.value)
            assert app.event_count() == before
        else:
            assert app.pay(REFERENCE, step) is True
            accepted += Decimal(amount)
        assert app.dossier(REFERENCE).paid == accepted <= awarded
    assert accepted == Decimal(total)


def test_identities_are_uuid5_of_the_references(app: Aidflow) -> None:
    application = app.submit(submit_command())
    make_eligible(app)
    app.award(REFERENCE, award_step())
    convention = app.sign(REFERENCE, sign_step())
    assert application == uuid5(NAMESPACE, f"application:{REFERENCE}") == application_id(REFERENCE)
    assert convention == uuid5(NAMESPACE, f"convention:{CONVENTION}") == convention_id(CONVENTION)
    assert app.scheme("CEA").id == uuid5(NAMESPACE, "scheme:CEA")
    assert app.application(REFERENCE).id == application
    assert app.convention(CONVENTION).id == convention


def test_identities_do_not_depend_on_the_store(app: Aidflow) -> None:
    elsewhere = Aidflow(store="memory:")
    try:
        assert app.submit(submit_command()) == elsewhere.submit(submit_command())
    finally:
        elsewhere.close()


def test_a_reopened_store_holds_the_same_state(app: Aidflow, reopen: Callable[[], Aidflow]) -> None:
    signed(app)
    app.pay(REFERENCE, pay_step())
    app.rename_scheme("CEA", "Contrat Entreprise d'avenir 2025", date(2025, 1, 1))
    expected = app.dossier(REFERENCE)
    expected_history = app.history(REFERENCE)
    count = app.event_count()
    app.close()

    again = reopen()
    assert again.event_count() == count
    assert again.dossier(REFERENCE) == expected
    assert again.history(REFERENCE) == expected_history
    assert again.scheme("CEA").title == "Contrat Entreprise d'avenir 2025"
    # Reopened, the store goes on: the recorded payment stays recorded once, a new one adds.
    assert again.pay(REFERENCE, pay_step()) is False
    assert again.pay(REFERENCE, pay_step(ref="P2", amount="25000.00", kind="interim")) is True
    assert again.dossier(REFERENCE).paid == Decimal("100000.00")
    assert reopen().event_count() == count + 1
