"""Dossier files (DOSSIER.md): one aid's life as data, recorded step by step.

The header (reference, scheme, beneficiary, site) is validated first; then each
step is validated and recorded in file order. A refused step raises
:class:`StepRefused` naming the step's index, field and value: nothing of that
step is recorded and the steps before it stay recorded.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, TypeAdapter, ValidationError

from aidflow.application import commands as c
from aidflow.application import interchange
from aidflow.application.amendments import AmendStep
from aidflow.application.errors import InputError, input_error
from aidflow.application.service import Aidflow
from aidflow.application.views import DossierView
from aidflow.domain.errors import AidflowError

DOSSIER_FORMAT = "dossier/1"
MAX_FILE_BYTES = interchange.MAX_FILE_BYTES
MAX_STEPS = 10_000

AnyStep = Annotated[
    c.SubmitStep
    | c.SelfDiagnosisStep
    | c.EligibilityStep
    | c.AppraiseStep
    | c.WithdrawStep
    | c.AwardStep
    | c.RejectStep
    | c.SignStep
    | c.PayStep
    | c.CompleteProgrammeStep
    | c.DeclareHeadcountStep
    | c.DisposeInvestmentStep
    | c.CeaseActivityStep
    | c.RelocateStep
    | c.ChangeControlStep
    | c.RdOutsideRegionStep
    | c.RenounceExploitationStep
    | c.DecideBreachStep
    | c.AssessClawbackStep
    | c.IssueRecoveryOrderStep
    | c.RepayStep
    | c.WaiveStep
    | c.CloseStep
    | c.ScheduleRepaymentStep
    | c.ReceiveInstalmentStep
    | AmendStep,
    Field(discriminator="do"),
]
"""The steps this version records. Later capabilities add theirs here."""

_STEP = TypeAdapter(AnyStep)


class DossierHeader(c.Model):
    aidflow: Literal["dossier/1"]
    reference: c.Reference
    scheme: Annotated[str, Field(min_length=1, max_length=c.MAX_REFERENCE_LENGTH)]
    beneficiary: c.BeneficiaryIn
    site: c.SiteIn


class DossierFile(DossierHeader):
    """The whole dossier file, for ``aidflow schema dossier``."""

    steps: Annotated[list[AnyStep], Field(max_length=MAX_STEPS)]


class StepRefused(AidflowError):
    """A dossier step was refused; earlier steps stay recorded.

    Attributes:
        index: the step's 0-based position in ``steps``.
        do: the step's verb, if it could be read.
        cause: the underlying error.
    """

    def __init__(self, index: int, do: str | None, cause: AidflowError) -> None:
        field = f"steps[{index}].{cause.field}" if cause.field else f"steps[{index}]"
        verb = f" ({do})" if do else ""
        about = (
            f", field {cause.field}"
            if cause.field and not cause.message.startswith(f"{cause.field}:")
            else ""
        )
        super().__init__(
            f"step {index}{verb} refused{about}: {cause.message}", field=field, value=cause.value
        )
        self.index = index
        self.do = do
        self.cause = cause


class DossierResult(BaseModel):
    """What ``aidflow dossier run`` reports: steps recorded, then the dossier's state."""

    reference: str
    steps_recorded: int
    state: DossierView | None


def schema() -> dict[str, Any]:
    """The JSON Schema of dossier files."""
    return DossierFile.model_json_schema()


def load_file(path: Path) -> dict[str, Any]:
    """Read a JSON or YAML dossier file into plain data, with clear errors."""
    return interchange.load_mapping(path, "dossier")


def parse_text(text: str, source: str = "<dossier>") -> dict[str, Any]:
    """Parse JSON (or YAML, when the text is not JSON) into a mapping."""
    return interchange.parse_mapping(text, source, "dossier")


def parse_header(data: Mapping[str, Any]) -> tuple[DossierHeader, list[Any]]:
    header_data = {k: v for k, v in data.items() if k != "steps"}
    try:
        header = DossierHeader.model_validate(header_data)
    except ValidationError as error:
        raise input_error(error) from None
    steps = interchange.step_list(data, "dossier", MAX_STEPS)
    return header, steps


def _step_models() -> dict[str, type[c.Step]]:
    """Each step model by its ``do`` tag, read from the ``AnyStep`` union."""
    union = AnyStep.__origin__  # type: ignore[attr-defined]  # Annotated[Union[...], Field]
    return {model.model_fields["do"].default: model for model in union.__args__}


STEP_MODELS = _step_models()


def parse_step(index: int, data: Any) -> c.Step:  # noqa: ANN401 - untrusted input
    if not isinstance(data, Mapping):
        cause = InputError(f"a step is an object with 'on' and 'do', not {type(data).__name__}",
                           field="", value=data)
        raise StepRefused(index, None, cause)
    do = data.get("do")
    model = STEP_MODELS.get(do) if isinstance(do, str) else None
    if model is None:
        known = ", ".join(STEP_MODELS)
        cause = InputError(f"do: unknown step {do!r} (known steps: {known})", field="do", value=do)
        raise StepRefused(index, None, cause)
    try:
        step: c.Step = model.model_validate(dict(data))
    except ValidationError as error:
        raise StepRefused(index, do, input_error(error)) from None
    return step


def run_dossier(
    app: Aidflow,
    data: Mapping[str, Any],
    on_step: Callable[[int, c.Step], None] | None = None,
) -> DossierResult:
    """Record a dossier's steps in order and return its resulting state.

    Raises:
        InputError: the header is malformed (nothing recorded).
        StepRefused: a step was refused (the steps before it stay recorded).
    """
    header, steps = parse_header(data)
    recorded = interchange.record_steps(
        steps, parse_step, lambda step: _apply(app, header, step), StepRefused, on_step
    )
    state = app.dossier(header.reference) if recorded else None
    return DossierResult(reference=header.reference, steps_recorded=recorded, state=state)


def _apply(app: Aidflow, header: DossierHeader, step: c.Step) -> None:
    ref = header.reference
    if isinstance(step, c.SubmitStep):
        app.submit(
            c.SubmitApplication(
                reference=ref, scheme=header.scheme, beneficiary=header.beneficiary,
                site=header.site, on=step.on, requested=step.requested, programme=step.programme,
            )
        )
    elif isinstance(step, c.WithdrawStep):
        app.withdraw(ref, step)
    elif isinstance(step, c.AwardStep):
        app.award(ref, step)
    elif isinstance(step, c.RejectStep):
        app.reject(ref, step)
    elif isinstance(step, c.SignStep):
        app.sign(ref, step)
    elif isinstance(step, c.PayStep):
        app.pay(ref, step)
    elif isinstance(step, c.CompleteProgrammeStep):
        app.complete_programme(ref, step)
    elif isinstance(step, c.FactStep):
        app.record_fact(ref, step)
    else:
        verbs: dict[type[c.Step], Callable[[str, c.Step], object]] = {
            c.SelfDiagnosisStep: app.self_diagnosis,
            c.EligibilityStep: app.check_eligibility,
            c.AppraiseStep: app.appraise,
            c.DecideBreachStep: app.decide_breach,
            c.AssessClawbackStep: app.assess_clawback,
            c.IssueRecoveryOrderStep: app.issue_recovery_order,
            c.RepayStep: app.repay,
            c.WaiveStep: app.waive,
            c.CloseStep: app.close_convention,
            c.ScheduleRepaymentStep: app.schedule_repayment,
            c.ReceiveInstalmentStep: app.receive_instalment,
            AmendStep: app.amend,
        }
        verb = verbs.get(type(step))
        if verb is None:  # pragma: no cover - the union above is exhaustive
            msg = f"step {step!r} is not supported"
            raise InputError(msg, field="do", value=getattr(step, "do", None))
        verb(ref, step)
