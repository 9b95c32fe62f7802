"""Bad input is refused with a named error naming the field and the value, and records nothing.

Every case runs on every store (memory, SQLite, PostgreSQL). A case brings the
dossier to a stage (nothing, awarded, signed, paid), then sends one bad command.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from aidflow.application.errors import ConventionNotFound, InputError, SchemeNotFound
from aidflow.application.service import Aidflow
from aidflow.domain.errors import (
    AidflowError,
    CeilingExceeded,
    DateOutOfOrder,
    InvalidValue,
)
from helpers import (
    OTHER_COMPANY_SIRET,
    REFERENCE,
    award_step,
    make_eligible,
    pay_step,
    sign_step,
    submit_command,
    with_value,
    without,
)


def nothing(app: Aidflow) -> None:
    del app


def submitted(app: Aidflow) -> None:
    app.submit(submit_command())


def eligible(app: Aidflow) -> None:
    submitted(app)
    make_eligible(app)


def awarded(app: Aidflow) -> None:
    eligible(app)
    app.award(REFERENCE, award_step())


def signed(app: Aidflow) -> None:
    awarded(app)
    app.sign(REFERENCE, sign_step())


def paid(app: Aidflow) -> None:
    signed(app)
    app.pay(REFERENCE, pay_step())


@dataclass(frozen=True)
class Case:
    stage: Callable[[Aidflow], None]
    command: Callable[[Aidflow], Any]
    error: type[AidflowError]
    field: str
    value: str
    """Text the message must contain: the offending value (for a missing field, its name)."""


def submit(data: dict[str, Any]) -> Callable[[Aidflow], Any]:
    return lambda app: app.submit(data)


def award(data: dict[str, Any]) -> Callable[[Aidflow], Any]:
    return lambda app: app.award(REFERENCE, data)


def pay(data: dict[str, Any]) -> Callable[[Aidflow], Any]:
    return lambda app: app.pay(REFERENCE, data)


CASES = {
    "invalid-siren": Case(
        nothing, submit(with_value(submit_command(), "beneficiary.siren", "732829321")),
        InputError, "beneficiary.siren", "732829321"),
    "invalid-siret": Case(
        nothing, submit(with_value(submit_command(), "site.siret", "73282932000075")),
        InputError, "site.siret", "73282932000075"),
    "siret-of-another-siren": Case(
        nothing, submit(with_value(submit_command(), "site.siret", OTHER_COMPANY_SIRET)),
        InvalidValue, "site.siret", OTHER_COMPANY_SIRET),
    "negative-amount": Case(
        nothing, submit(submit_command(requested="-1.00")), InputError, "requested", "-1.00"),
    "three-decimals": Case(
        nothing, submit(submit_command(requested="250000.001")), InputError, "requested", "250000.001"),
    "float-amount": Case(
        nothing, submit(submit_command(requested=250000.5)), InputError, "requested", "250000.5"),
    "payment-over-the-award": Case(
        paid, pay(pay_step(ref="P2", amount="175000.01", kind="interim")),
        CeilingExceeded, "amount", "175000.01"),
    "payment-before-signature": Case(
        awarded, pay(pay_step()), ConventionNotFound, "reference", REFERENCE),
    "payment-dated-before-signature": Case(
        signed, pay(pay_step(on="2024-04-01")), DateOutOfOrder, "on", "2024-04-01"),
    "unknown-scheme": Case(
        nothing, submit(submit_command(scheme="NO-SUCH-SCHEME")), SchemeNotFound, "scheme", "NO-SUCH-SCHEME"),
    "award-over-the-request": Case(
        eligible, award(award_step(amount="250000.01", advance="50000.01")),
        CeilingExceeded, "amount", "250000.01"),
    "award-over-the-cea-grant-ceiling": Case(
        eligible, award(award_step(grant="200000.01", advance="49999.99")),
        CeilingExceeded, "grant", "200000.01"),
    "unknown-field": Case(
        nothing, submit(submit_command(colour="blue")), InputError, "colour", "blue"),
    "unknown-nested-field": Case(
        nothing, submit(with_value(submit_command(), "programme.budget", "1.00")),
        InputError, "programme.budget", "1.00"),
    "missing-field": Case(
        nothing, submit(without(submit_command(), "requested")), InputError, "requested", "requested"),
    "missing-nested-field": Case(
        nothing, submit(without(submit_command(), "beneficiary.name")),
        InputError, "beneficiary.name", "beneficiary.name"),
    "impossible-date": Case(
        nothing, submit(submit_command(on="2024-02-30")), InputError, "on", "2024-02-30"),
    "impossible-award-date": Case(
        eligible, award(award_step(on="2024-02-30")), InputError, "on", "2024-02-30"),
    "programme-end-before-start": Case(
        nothing, submit(with_value(submit_command(), "programme.end", "2024-02-01")),
        InvalidValue, "programme.end", "2024-02-01"),
    "reference-too-long": Case(
        nothing, submit(submit_command(reference="R" * 65)), InputError, "reference", "R" * 65),
    "convention-number-too-long": Case(
        awarded, lambda app: app.sign(REFERENCE, sign_step(convention="C" * 65)),
        InputError, "convention", "C" * 65),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_bad_input_is_refused_and_records_nothing(app: Aidflow, case: Case) -> None:
    case.stage(app)
    before = app.event_count()
    dossier_before = app.dossier(REFERENCE) if before else None

    with pytest.raises(AidflowError) as raised:
        case.command(app)

    assert type(raised.value) is case.error, raised.value
    assert raised.value.field == case.field, raised.value
    assert case.value in str(raised.value)
    assert app.event_count() == before
    if dossier_before is not None:
        assert app.dossier(REFERENCE) == dossier_before


def test_a_refused_step_leaves_the_dossier_usable(app: Aidflow) -> None:
    """After a refusal, the same dossier takes a correct command as if nothing happened."""
    signed(app)
    with pytest.raises(CeilingExceeded):
        app.pay(REFERENCE, pay_step(amount="250000.01"))
    assert app.pay(REFERENCE, pay_step()) is True
    assert str(app.dossier(REFERENCE).paid) == "75000.00"
