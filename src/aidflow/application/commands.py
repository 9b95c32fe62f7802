"""Input models at the boundary (pydantic, ``extra="forbid"``; ADR 0001).

These models are both the application service's command set and the vocabulary
of dossier files (DOSSIER.md): a dossier step is one of the ``*Step`` models.
They check types and shapes; the domain checks the rules.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

from aidflow.domain.errors import InvalidValue
from aidflow.domain.values import (
    CENT,
    BeneficiaryKind,
    PaymentKind,
    Siren,
    Siret,
)

MAX_REFERENCE_LENGTH = 64
MAX_TEXT_LENGTH = 2000
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_REFERENCE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/\-]*$")


def _parse_amount(value: object) -> Decimal:
    if isinstance(value, bool | float):
        msg = f'amount must be a decimal string such as "1234.50", not the number {value!r}'
        raise ValueError(msg)  # noqa: TRY004 - pydantic reports ValueError as a field error
    if isinstance(value, int):
        value = Decimal(value)
    if isinstance(value, str):
        try:
            value = Decimal(value.strip())
        except InvalidOperation:
            msg = f"{value!r} is not a decimal amount"
            raise ValueError(msg) from None
    if not isinstance(value, Decimal):
        msg = f"amount must be a decimal string, not {type(value).__name__}"
        raise ValueError(msg)  # noqa: TRY004 - pydantic turns ValueError into a field error
    if not value.is_finite():
        msg = f"{value} is not a finite amount"
        raise ValueError(msg)
    if value != value.quantize(CENT):
        msg = f"{value} has more than 2 decimal places (EUR cents)"
        raise ValueError(msg)
    if value < 0:
        msg = f"{value} is negative"
        raise ValueError(msg)
    if value >= Decimal("1e12"):
        msg = f"{value} is beyond any regional aid (≥ 1 000 000 000 000 €)"
        raise ValueError(msg)
    return value.quantize(CENT)


def _parse_signed_amount(value: object) -> Decimal:
    """Like an amount, but may be negative (equity, self-financing capacity)."""
    if isinstance(value, str) and value.strip().startswith("-"):
        return -_parse_amount(value.strip()[1:])
    if isinstance(value, int | Decimal) and not isinstance(value, bool) and value < 0:
        return -_parse_amount(-value)
    return _parse_amount(value)


def _parse_date(value: object) -> date:
    if isinstance(value, date) and not hasattr(value, "hour"):
        return value
    if isinstance(value, str) and _ISO_DATE.match(value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            msg = f"{value!r} is not a calendar date"
            raise ValueError(msg) from None
    msg = "date must be an ISO date YYYY-MM-DD"
    raise ValueError(msg)


def _check_reference(value: str) -> str:
    if not _REFERENCE.match(value):
        msg = "references use letters, digits and . _ / - only, starting with a letter or digit"
        raise ValueError(msg)
    return value


def _check_siren(value: str) -> str:
    try:
        return Siren(value).value
    except InvalidValue as error:
        raise ValueError(error.message) from None


def _check_siret(value: str) -> str:
    try:
        return Siret(value).value
    except InvalidValue as error:
        raise ValueError(error.message) from None


Amount = Annotated[Decimal, BeforeValidator(_parse_amount)]
"""EUR amount: a decimal string (or integer), at most 2 places, never negative, never a float."""
SignedAmount = Annotated[Decimal, BeforeValidator(_parse_signed_amount)]
"""EUR figure that may be negative (equity, CAF): a decimal string, at most 2 places."""
Day = Annotated[date, BeforeValidator(_parse_date)]
"""A business date, ISO ``YYYY-MM-DD``."""
Reference = Annotated[
    str, Field(min_length=1, max_length=MAX_REFERENCE_LENGTH), AfterValidator(_check_reference)
]
Text = Annotated[str, Field(min_length=1, max_length=MAX_TEXT_LENGTH)]
SirenText = Annotated[str, Field(max_length=20), AfterValidator(_check_siren)]
SiretText = Annotated[str, Field(max_length=20), AfterValidator(_check_siret)]
Jobs = Annotated[int, Field(ge=0, le=1_000_000, strict=True)]


class Model(BaseModel):
    """Base of every input model: unknown fields are errors, instances are frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class BeneficiaryIn(Model):
    kind: BeneficiaryKind
    name: Text
    siren: SirenText | None = None
    staff: Annotated[Decimal, Field(ge=0, le=10_000_000)] | None = None
    turnover: Amount | None = None
    balance_sheet: Amount | None = None


class SiteIn(Model):
    commune: Text
    department: Annotated[str, Field(pattern=r"^(\d{2}|2A|2B|97\d)$")]
    siret: SiretText | None = None


class ProgrammeIn(Model):
    start: Day
    end: Day
    investment: Amount
    jobs: Jobs


class Step(Model):
    """A dated step of a dossier (DOSSIER.md)."""

    on: Day


class SubmitStep(Step):
    do: Literal["submit"] = "submit"
    requested: Amount
    programme: ProgrammeIn


Score = Annotated[int, Field(ge=0, le=100, strict=True)]


class ScoresIn(Model):
    """The five Impact Score axes (002_8b3eb659ad96bcac.txt L3333-3337), 0-100 each."""

    impact_strategy: Score
    social_impact: Score
    ecological_impact: Score
    power_sharing: Score
    value_sharing: Score


class SelfDiagnosisStep(Step):
    do: Literal["self_diagnosis"] = "self_diagnosis"
    module: Literal["full", "simplified"]
    scores: ScoresIn


class EligibilityStep(Step):
    do: Literal["eligibility"] = "eligibility"
    tax_and_social_compliant: Annotated[bool, Field(strict=True)]
    equity: SignedAmount
    court_proceedings: Annotated[bool, Field(strict=True)]
    real_estate: Annotated[bool, Field(strict=True)]
    commitments: Annotated[
        list[Literal["environmental_footprint", "non_discrimination", "decent_work", "career_development"]],
        Field(max_length=4),
    ]
    environmental_measures: Annotated[str, Field(max_length=MAX_TEXT_LENGTH)]
    land_take_measures: Annotated[str, Field(max_length=MAX_TEXT_LENGTH)] | None = None


class AppraiseStep(Step):
    do: Literal["appraise"] = "appraise"
    financial_income: Amount
    dividends_paid: Amount
    self_financing_capacity: SignedAmount
    shareholder_dividends: Amount
    executive_total_pay: Amount
    requested_grant: Amount | None = None
    eligible_expenses: Amount | None = None


class WithdrawStep(Step):
    do: Literal["withdraw"] = "withdraw"
    reason: Text | None = None


class AwardStep(Step):
    do: Literal["award"] = "award"
    amount: Amount
    grant: Amount | None = None
    advance: Amount | None = None
    loan: Amount | None = None
    equity: Amount | None = None
    body: Text
    deliberation: Text


class RejectStep(Step):
    do: Literal["reject"] = "reject"
    body: Text
    deliberation: Text
    reasons: Annotated[list[Text], Field(min_length=1, max_length=50)]


class SignStep(Step):
    do: Literal["sign"] = "sign"
    convention: Reference


class PayStep(Step):
    do: Literal["pay"] = "pay"
    ref: Reference
    amount: Amount
    kind: PaymentKind


class CompleteProgrammeStep(Step):
    do: Literal["complete_programme"] = "complete_programme"
    investment_realised: Amount | None = None
    jobs_created: Jobs | None = None


class DeclareHeadcountStep(Step):
    do: Literal["declare_headcount"] = "declare_headcount"
    jobs: Jobs


class DisposeInvestmentStep(Step):
    do: Literal["dispose_investment"] = "dispose_investment"
    value: Amount


class CeaseActivityStep(Step):
    do: Literal["cease_activity"] = "cease_activity"


class RelocateStep(Step):
    do: Literal["relocate"] = "relocate"
    destination: Text | None = None


class ChangeControlStep(Step):
    do: Literal["change_control"] = "change_control"


class RdOutsideRegionStep(Step):
    do: Literal["rd_outside_region"] = "rd_outside_region"


class RenounceExploitationStep(Step):
    do: Literal["renounce_exploitation"] = "renounce_exploitation"


FactStep = (
    DeclareHeadcountStep
    | DisposeInvestmentStep
    | CeaseActivityStep
    | RelocateStep
    | ChangeControlStep
    | RdOutsideRegionStep
    | RenounceExploitationStep
)


class DecideBreachStep(Step):
    do: Literal["decide_breach"] = "decide_breach"
    obligation: Literal["O4", "O5", "O6"]
    amount: Amount | None = None
    waive: Annotated[bool, Field(strict=True)] = False


class AssessClawbackStep(Step):
    do: Literal["assess_clawback"] = "assess_clawback"


class IssueRecoveryOrderStep(Step):
    do: Literal["issue_recovery_order"] = "issue_recovery_order"
    ref: Reference
    amount: Amount


class RepayStep(Step):
    do: Literal["repay"] = "repay"
    ref: Reference
    amount: Amount


class WaiveStep(Step):
    """A remise decided by the Region on what recovery orders still claim."""

    do: Literal["waive"] = "waive"
    amount: Amount
    deliberation: Text


class CloseStep(Step):
    do: Literal["close"] = "close"


class ScheduleRepaymentStep(Step):
    """Repayable advance: instalments after a deferral (RULES.md §5)."""

    do: Literal["schedule_repayment"] = "schedule_repayment"
    first_due: Day
    instalments: Annotated[int, Field(ge=1, le=240, strict=True)]
    every_months: Annotated[int, Field(ge=1, le=24, strict=True)] = 12


class ReceiveInstalmentStep(Step):
    do: Literal["receive_instalment"] = "receive_instalment"
    ref: Reference
    amount: Amount


class SubmitApplication(SubmitStep):
    """Everything needed to submit an application (the dossier header plus its submit step)."""

    reference: Reference
    scheme: Annotated[str, Field(min_length=1, max_length=MAX_REFERENCE_LENGTH)]
    beneficiary: BeneficiaryIn
    site: SiteIn


def parse(model: type[Model], data: Model | dict[str, Any]) -> Any:  # noqa: ANN401 - returns model
    """Validate ``data`` into ``model`` (pass instances through)."""
    if isinstance(data, model):
        return data
    if isinstance(data, BaseModel):
        data = data.model_dump()
    return model.model_validate(data)
