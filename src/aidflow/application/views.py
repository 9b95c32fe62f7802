"""Read views returned by the application service (pydantic, JSON-ready).

Field names follow DOSSIER.md's result contract; more fields may be added, never renamed.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict


class View(BaseModel):
    model_config = ConfigDict(frozen=True)


class PaymentView(View):
    ref: str
    amount: Decimal
    kind: str
    on: date


class DossierView(View):
    """One dossier's state: the application and, once signed, its convention."""

    reference: str
    scheme: str
    status: str
    beneficiary: str
    siren: str | None
    submitted_on: date
    requested: Decimal
    eligibility: dict[str, Any] | None = None
    size_at_signature: str | None = None
    awarded: Decimal | None = None
    split: dict[str, Decimal] | None = None
    decision: dict[str, Any] | None = None
    rejection: dict[str, Any] | None = None
    convention: str | None = None
    signed_on: date | None = None
    programme: dict[str, Any]
    programme_completed_on: date | None = None
    paid: Decimal = Decimal("0.00")
    repaid: Decimal = Decimal("0.00")
    payments: list[PaymentView] = []
    obligations: list[dict[str, Any]] = []
    clawback: dict[str, Any] | None = None
    recovery: dict[str, Any] | None = None
    advance: dict[str, Any] | None = None
    amendments: list[dict[str, Any]] = []


class HistoryEntry(View):
    """One recorded event: business date (``on``) and recording time (``recorded_at``)."""

    aggregate: str
    reference: str
    version: int
    event: str
    on: date | None
    recorded_at: datetime
    data: dict[str, Any]


class SchemeView(View):
    code: str
    title: str
    instruments: list[str]
    ceiling: Decimal | None
    regime: str
    admitted: list[str]
    innovation: bool
    legal_basis: list[str]
    opened_on: date
    closed_on: date | None
    in_store: bool
