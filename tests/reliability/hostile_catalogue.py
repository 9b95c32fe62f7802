"""The hostile-input catalogue: a valid example of every dossier step, and bad variants of it.

``VALID_STEPS`` holds, for each ``do`` of DOSSIER.md, the steps that bring a dossier to a
point where that step is allowed (``prefix``) and one valid step. :func:`mutations` derives
bad variants of a valid step from its pydantic model: a missing required field, a value of
the wrong type, an unknown field, and for each kind of field the values that must be
refused (negative or 3-decimal amounts, impossible dates, references too long…).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from enum import Enum
from types import UnionType
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, TypeAdapter

from aidflow.application import commands as c
from aidflow.application.dossier import AnyStep
from helpers import DOSSIER_EXAMPLE

_EXAMPLE = {step["do"]: step for step in DOSSIER_EXAMPLE["steps"]}
HEADER = {k: v for k, v in DOSSIER_EXAMPLE.items() if k != "steps"}


def _steps(*names: str) -> list[dict[str, Any]]:
    return [copy.deepcopy(_EXAMPLE[name]) for name in names]


SIGNED = ("submit", "self_diagnosis", "eligibility", "award", "sign")
PAID = (*SIGNED, "pay")
COMPLETED = (*PAID, "complete_programme")
ASSESSED = (*COMPLETED, "declare_headcount", "assess_clawback")
RECOVERY_ORDER = {"on": "2027-07-01", "do": "issue_recovery_order", "ref": "T-2027-1", "amount": "18750.00"}
SCHEDULE = {"on": "2024-05-01", "do": "schedule_repayment", "first_due": "2027-01-01", "instalments": 4}


@dataclass(frozen=True)
class ValidStep:
    prefix: list[dict[str, Any]]
    step: dict[str, Any]
    scheme: str = "CEA"

    def header(self) -> dict[str, Any]:
        return copy.deepcopy(HEADER) | {"scheme": self.scheme}


VALID_STEPS: dict[str, ValidStep] = {
    "submit": ValidStep([], _steps("submit")[0]),
    "self_diagnosis": ValidStep(_steps("submit"), _steps("self_diagnosis")[0]),
    "eligibility": ValidStep(_steps("submit", "self_diagnosis"), _steps("eligibility")[0]),
    "appraise": ValidStep(_steps("submit", "self_diagnosis", "eligibility"), {
        "on": "2024-02-10", "do": "appraise", "financial_income": "0.00", "dividends_paid": "0.00",
        "self_financing_capacity": "100000.00", "shareholder_dividends": "0.00",
        "executive_total_pay": "96000.00", "eligible_expenses": "900000.00"}),
    "award": ValidStep(_steps("submit", "self_diagnosis", "eligibility"), _steps("award")[0]),
    "reject": ValidStep(_steps("submit", "self_diagnosis", "eligibility"), {
        "on": "2024-03-14", "do": "reject", "body": "commission permanente",
        "deliberation": "CP/2024-03/12.05", "reasons": ["financing plan incomplete"]}),
    "withdraw": ValidStep(_steps("submit"), {"on": "2024-02-10", "do": "withdraw", "reason": "postponed"}),
    "sign": ValidStep(_steps(*SIGNED[:-1]), _steps("sign")[0]),
    "pay": ValidStep(_steps(*SIGNED), _steps("pay")[0]),
    "amend": ValidStep(_steps(*PAID), {
        "on": "2024-06-01", "do": "amend", "number": 1, "reason": "supplier delay",
        "programme_end": "2026-06-30"}),
    "complete_programme": ValidStep(_steps(*PAID), {
        "on": "2025-12-31", "do": "complete_programme", "investment_realised": "900000.00",
        "jobs_created": 12}),
    "declare_headcount": ValidStep(_steps(*COMPLETED), _steps("declare_headcount")[0]),
    "dispose_investment": ValidStep(_steps(*COMPLETED), {
        "on": "2026-05-01", "do": "dispose_investment", "value": "100000.00"}),
    "cease_activity": ValidStep(_steps(*COMPLETED), {"on": "2026-05-01", "do": "cease_activity"}),
    "relocate": ValidStep(_steps(*COMPLETED), {"on": "2026-05-01", "do": "relocate", "destination": "Albi"}),
    "change_control": ValidStep(_steps(*COMPLETED), {"on": "2026-05-01", "do": "change_control"}),
    "rd_outside_region": ValidStep(
        _steps(*COMPLETED), {"on": "2025-01-10", "do": "rd_outside_region"}, scheme="CONTRAT-INNOVATION"),
    "renounce_exploitation": ValidStep(
        _steps(*COMPLETED), {"on": "2026-05-01", "do": "renounce_exploitation"}, scheme="CONTRAT-INNOVATION"),
    "decide_breach": ValidStep(
        [*_steps(*COMPLETED), {"on": "2026-05-01", "do": "change_control"},
         {"on": "2026-06-30", "do": "assess_clawback"}],
        {"on": "2026-07-15", "do": "decide_breach", "obligation": "O4", "amount": "10000.00"}),
    "assess_clawback": ValidStep(_steps(*ASSESSED[:-1]), _steps("assess_clawback")[0]),
    "issue_recovery_order": ValidStep(_steps(*ASSESSED), copy.deepcopy(RECOVERY_ORDER)),
    "repay": ValidStep(_steps(*ASSESSED), {
        "on": "2027-08-01", "do": "repay", "ref": "VIR-1", "amount": "1000.00"}),
    "waive": ValidStep([*_steps(*ASSESSED), copy.deepcopy(RECOVERY_ORDER)], {
        "on": "2027-08-01", "do": "waive", "amount": "1000.00", "deliberation": "CP/2027-08/3.1"}),
    "close": ValidStep(
        [*_steps(*ASSESSED), copy.deepcopy(RECOVERY_ORDER),
         {"on": "2027-08-01", "do": "repay", "ref": "VIR-1", "amount": "18750.00"}],
        {"on": "2027-09-01", "do": "close"}),
    "schedule_repayment": ValidStep(_steps(*PAID), copy.deepcopy(SCHEDULE)),
    "receive_instalment": ValidStep([*_steps(*PAID), copy.deepcopy(SCHEDULE)], {
        "on": "2027-01-02", "do": "receive_instalment", "ref": "I-1", "amount": "12500.00"}),
}

DATE_INDEPENDENT = {"self_diagnosis"}
"""Steps whose date depends on no earlier milestone (a self-diagnosis may predate the application)."""


def step_models() -> dict[str, type[c.Step]]:
    """Every step model the dossier format accepts, by its ``do``."""
    union = get_args(AnyStep)[0]
    return {model.model_fields["do"].default: model for model in get_args(union)}


def model_of(do: str) -> type[c.Step]:
    return step_models()[do]


# ---------------------------------------------------------------- mutations


@dataclass(frozen=True)
class Mutation:
    """A bad variant of a valid step: ``field`` must be named, ``shows`` must appear in the message."""

    name: str
    step: dict[str, Any]
    field: str
    shows: str


def _unwrap(annotation: Any) -> tuple[Any, list[Any]]:
    """The annotation without ``| None`` and ``Annotated``, and the metadata found on the way."""
    metadata: list[Any] = []
    while True:
        if get_origin(annotation) is Annotated:
            annotation, *extra = get_args(annotation)
            metadata.extend(extra)
        elif get_origin(annotation) in (Union, UnionType) and type(None) in get_args(annotation):
            rest = [a for a in get_args(annotation) if a is not type(None)]
            if len(rest) != 1:
                return annotation, metadata
            annotation = rest[0]
        else:
            return annotation, metadata


def field_metadata(model: type[BaseModel], name: str) -> tuple[Any, list[Any]]:
    info = model.model_fields[name]
    target, metadata = _unwrap(info.annotation)
    return target, [*info.metadata, *metadata]


def field_kind(model: type[BaseModel], name: str) -> str:  # noqa: C901, PLR0911 - one kind per branch
    """``amount``, ``signed_amount``, ``date``, ``reference``, ``text``, ``int``, ``bool``,
    ``choice``, ``list``, ``model`` or ``other``."""
    target, metadata = field_metadata(model, name)
    functions = {getattr(getattr(m, "func", None), "__name__", None) for m in metadata}
    if "_parse_amount" in functions:
        return "amount"
    if "_parse_signed_amount" in functions:
        return "signed_amount"
    if "_parse_date" in functions:
        return "date"
    if "_check_reference" in functions:
        return "reference"
    if isinstance(target, type) and issubclass(target, BaseModel):
        return "model"
    if target is bool:
        return "bool"
    if target is int:
        return "int"
    if get_origin(target) is list:
        return "list"
    if target is str:
        return "text"
    if get_origin(target) is Literal or (isinstance(target, type) and issubclass(target, Enum)):
        return "choice"
    return "other"


def _min_length(model: type[BaseModel], name: str) -> int:
    return max((getattr(m, "min_length", 0) or 0 for m in field_metadata(model, name)[1]), default=0)


BAD_VALUES: dict[str, list[Any]] = {
    "amount": ["-1.00", "1.001", 1.5, "NaN", "1e13", "12,50", True],
    "signed_amount": ["1.001", "--5", "Infinity"],
    "date": ["2024-02-30", "2023-02-29", "2024-13-01", "15/01/2024", "2024-1-5", 20240115, ""],
    "reference": ["R" * 65, "../../etc/passwd", "", "two words", "'; DROP TABLE stored_events; --"],
    "text": ["x" * 2001, ""],
    "int": [-1, 10**7, 1.5, "12", True],
    "bool": ["true", 1],
    "choice": ["bogus"],
    "list": ["not a list", [{"nested": "object"}]],
    "model": ["not an object", {"unknown": "field"}],
}


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:70]


def mutations(do: str) -> list[Mutation]:
    """Bad variants of ``VALID_STEPS[do].step``."""
    valid = VALID_STEPS[do].step
    model = model_of(do)
    found = [Mutation("unknown-field", valid | {"colour": "blue"}, "colour", "'blue'")]
    for name, info in model.model_fields.items():
        if name == "do":
            continue
        if info.is_required():
            missing = {k: v for k, v in valid.items() if k != name}
            found.append(Mutation(f"{name}-missing", missing, name, name))
        kind = field_kind(model, name)
        wrong_type: Any = "not an object" if kind == "model" else {"x": 1}
        found.append(Mutation(f"{name}-wrong-type", valid | {name: wrong_type}, name, _shown(wrong_type)))
        for index, value in enumerate(BAD_VALUES.get(kind, [])):
            if value == "" and kind == "text" and not _min_length(model, name):
                continue  # free text that may be empty (e.g. land_take_measures)
            shows = "unknown" if kind == "model" and isinstance(value, dict) else _shown(value)
            if kind == "list" and isinstance(value, list):
                shows = _shown(value[0])  # the offending item is shown
            found.append(Mutation(f"{name}-{kind}-{index}", valid | {name: value}, name, shows))
    if "on" in model.model_fields and do not in DATE_INDEPENDENT and VALID_STEPS[do].prefix:
        found.append(Mutation("dated-before-the-previous-milestone", valid | {"on": "2000-01-01"},
                              "on", "2000-01-01"))
    return found


STEP_ADAPTER = TypeAdapter(AnyStep)
