# Copyright (C) 2026 aidflow developers. SPDX-License-Identifier: MIT
"""Calls for projects (AMI/AAP): input models, the ``CallVerbs`` service mixin, views, call files.

``CallVerbs`` adds the call verbs to the ``Aidflow`` application (mix it into its
bases). Each verb validates its input (pydantic), loads the call and the candidacy,
lets the domain check the rules, and saves every changed aggregate in one atomic
save: a candidacy together with the call that receives it, a retention together
with the call whose envelope it consumes.

Lineage (ADR 0006): a retained project opens one aid application per funded member
through ``Aidflow.submit(..., origin=Origin(call, project, partner_role))``, under the
scheme the call names, with the deterministic reference ``<project>-<member index>``
(0 = the lead); each application then goes through its own eligibility, award and
convention like any other (RULES.md §2).

Call files (``aidflow calls run FILE``): a call with its candidacies and decisions,
recorded step by step with the error discipline of dossier files (DOSSIER.md): a
refused step raises :class:`CallStepRefused` naming its index, field and value;
nothing of it is recorded and earlier steps stay recorded.

This module must not import ``aidflow.application.service`` at import time: the
service imports it to inherit ``CallVerbs``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal, Protocol, TypeVar
from uuid import UUID

from eventsourcing.domain import Aggregate
from pydantic import BaseModel, BeforeValidator, Field, TypeAdapter, ValidationError

from aidflow.application import commands as c
from aidflow.application import interchange
from aidflow.application.errors import AlreadyExists, InputError, NotFound, input_error
from aidflow.application.views import View
from aidflow.domain.aid_application import AidApplication, Decision, Origin
from aidflow.domain.call import (
    Admission,
    Call,
    CallKind,
    CallTerms,
    ConsortiumRules,
    MemberRequirement,
    Partner,
    PriorityCriterion,
    SelectionCriterion,
    Strand,
    Wave,
    member_field,
    percent,
    rate,
)
from aidflow.domain.candidacy import (
    Candidacy,
    CandidacyStatus,
    Label,
    MemberApplication,
    Selection,
    candidacy_id,
    member_reference,
)
from aidflow.domain.errors import AidflowError, InvalidValue
from aidflow.domain.identity import application_id, call_id
from aidflow.domain.scheme import AidScheme
from aidflow.domain.values import (
    Beneficiary,
    BeneficiaryKind,
    CompanyFigures,
    CompanySize,
    DateRange,
    LegalReference,
    Money,
    Programme,
    Site,
)

T = TypeVar("T", bound=Aggregate)
Input = c.Model | Mapping[str, Any]

CALL_FORMAT = "call/1"
MAX_STEPS = 10_000
MAX_FILE_BYTES = interchange.MAX_FILE_BYTES


class CallNotFound(NotFound):
    pass


class CandidacyNotFound(NotFound):
    pass


# ------------------------------------------------------------------ inputs


def _parse_number(value: object) -> Decimal:
    """A non-money decimal (rate, weight, score). Floats pass through their shortest repr."""
    if isinstance(value, bool):
        msg = f"expected a number, not {value!r}"
        raise ValueError(msg)  # noqa: TRY004 - pydantic turns ValueError into a field error
    if isinstance(value, float):
        value = repr(value)
    if isinstance(value, int | str | Decimal):
        try:
            number = Decimal(str(value).strip())
        except ArithmeticError:
            msg = f"{value!r} is not a decimal number"
            raise ValueError(msg) from None
        if not number.is_finite():
            msg = f"{value!r} is not a finite number"
            raise ValueError(msg)
        return number
    msg = f"expected a decimal number, not {type(value).__name__}"
    raise ValueError(msg)


Number = Annotated[Decimal, BeforeValidator(_parse_number)]
"""A rate (fraction 0–1), a weight or a score: a decimal string or number, never money."""
Code = Annotated[str, Field(min_length=1, max_length=c.MAX_REFERENCE_LENGTH)]
Department = Annotated[str, Field(pattern=r"^(\d{2}|2A|2B|97\d)$")]


class LegalReferenceIn(c.Model):
    title: c.Text
    article: c.Text | None = None
    url: c.Text | None = None


class WaveIn(c.Model):
    code: Code
    label: c.Text
    deadline: c.Day
    envelope: c.Amount | None = None


class StrandIn(c.Model):
    code: Code
    title: c.Text
    min_rate: Number = Decimal(0)
    max_rate: Number = Decimal(1)


class AdmissionIn(c.Model):
    kinds: Annotated[list[BeneficiaryKind], Field(min_length=1)]
    company_sizes: list[CompanySize] = Field(default_factory=list)


class RequirementIn(c.Model):
    label: c.Text
    kinds: Annotated[list[BeneficiaryKind], Field(min_length=1)]
    sizes: list[CompanySize] = Field(default_factory=list)
    in_region: bool = False
    at_least: Annotated[int, Field(ge=1, le=1000)] = 1
    roles: list[c.Text] = Field(default_factory=list)


class ConsortiumIn(c.Model):
    min_members: Annotated[int, Field(ge=1, le=1000)] = 1
    max_members: Annotated[int, Field(ge=1, le=1000)] | None = None
    lead_kinds: list[BeneficiaryKind] = Field(default_factory=list)
    lead_in_region: bool = False
    required: list[RequirementIn] = Field(default_factory=list)


class PriorityIn(c.Model):
    code: Code
    label: c.Text
    outside_communes: Annotated[list[c.Text], Field(min_length=1)]
    kinds: list[BeneficiaryKind] = Field(default_factory=list)
    sizes: list[CompanySize] = Field(default_factory=list)


class CriterionIn(c.Model):
    code: Code
    label: c.Text
    weight: Number


class PublishCall(c.Model):
    """A call's published terms (``CallTerms``); ``scheme`` names the catalogue scheme of its lineage."""

    code: c.Reference
    kind: CallKind
    title: c.Text
    theme: c.Text
    legal_basis: Annotated[list[LegalReferenceIn], Field(min_length=1)]
    envelope: c.Amount
    opens_on: c.Day
    deadline: c.Day
    strands: Annotated[list[StrandIn], Field(min_length=1)]
    admission: AdmissionIn
    waves: list[WaveIn] = Field(default_factory=list)
    consortium: ConsortiumIn = ConsortiumIn()
    priorities: list[PriorityIn] = Field(default_factory=list)
    criteria: list[CriterionIn] = Field(default_factory=list)
    max_score: Number = Decimal(20)
    scheme: Code | None = None
    published_on: c.Day | None = None


class PartnerIn(c.Model):
    """A member of a candidacy with its shares of the budget and of the requested aid."""

    name: c.Text
    kind: BeneficiaryKind
    budget: c.Amount
    requested: c.Amount
    role: c.Text | None = None
    siren: c.SirenText | None = None
    siret: c.SiretText | None = None
    size: CompanySize | None = None
    staff: Annotated[Decimal, Field(ge=0, le=10_000_000)] | None = None
    turnover: c.Amount | None = None
    balance_sheet: c.Amount | None = None
    commune: c.Text | None = None
    department: Department | None = None
    jobs: c.Jobs = 0


class CandidacyStep(c.Model):
    """A dated step about one project (candidacy)."""

    project: c.Reference
    on: c.Day


class SubmitCandidacy(CandidacyStep):
    do: Literal["submit"] = "submit"
    strand: Code
    title: c.Text
    lead: PartnerIn
    partners: Annotated[list[PartnerIn], Field(max_length=500)] = Field(default_factory=list)
    wave: Code | None = None
    start: c.Day | None = None
    end: c.Day | None = None
    derived_from: c.Reference | None = None


class AmendCandidacy(CandidacyStep):
    do: Literal["amend"] = "amend"
    lead: PartnerIn
    partners: Annotated[list[PartnerIn], Field(max_length=500)] = Field(default_factory=list)
    title: c.Text | None = None
    start: c.Day | None = None
    end: c.Day | None = None


class WithdrawCandidacy(CandidacyStep):
    do: Literal["withdraw"] = "withdraw"
    reason: c.Text | None = None


class ScoreCandidacy(CandidacyStep):
    do: Literal["score"] = "score"
    body: c.Text
    scores: Annotated[dict[Code, Number], Field(min_length=1, max_length=100)]


class LabelIn(c.Model):
    name: c.Text
    expires_on: c.Day | None = None


class RetainCandidacy(CandidacyStep):
    do: Literal["retain"] = "retain"
    body: c.Text
    deliberation: c.Text
    granted: c.Amount
    shares: list[c.Amount] | None = None
    reasons: Annotated[list[c.Text], Field(max_length=50)] = Field(default_factory=list)
    label: LabelIn | None = None


class RejectCandidacy(CandidacyStep):
    do: Literal["reject"] = "reject"
    body: c.Text
    deliberation: c.Text
    reasons: Annotated[list[c.Text], Field(min_length=1, max_length=50)]


class OpenApplications(CandidacyStep):
    do: Literal["open_applications"] = "open_applications"


AnyCallStep = Annotated[
    SubmitCandidacy | AmendCandidacy | WithdrawCandidacy | ScoreCandidacy | RetainCandidacy
    | RejectCandidacy | OpenApplications,
    Field(discriminator="do"),
]
_STEP = TypeAdapter(AnyCallStep)


class CallFile(c.Model):
    """A call file: the call, then its candidacies and decisions as ordered steps."""

    aidflow: Literal["call/1"]
    call: PublishCall
    steps: Annotated[list[AnyCallStep], Field(max_length=MAX_STEPS)] = Field(default_factory=list)


# ------------------------------------------------------------------- views


class MemberView(View):
    index: int
    role: str
    name: str
    kind: str
    size: str | None
    department: str | None
    budget: Decimal
    requested: Decimal
    granted: Decimal | None
    application: str | None = None
    application_status: str | None = None
    convention: str | None = None


class ProjectView(View):
    reference: str
    title: str
    wave: str | None
    strand: str
    status: str
    submitted_on: date
    lead: str
    budget: Decimal
    requested: Decimal
    granted: Decimal | None
    rate_percent: Decimal | None
    """Granted (else requested) ÷ budget, as a percentage rounded to 2 places: derived, display only."""
    score: Decimal | None
    priorities: list[str]
    derived_from: str | None
    decision: dict[str, Any] | None
    reasons: list[str]
    label: dict[str, Any] | None
    members: list[MemberView]


class WaveView(View):
    code: str
    label: str
    deadline: date
    envelope: Decimal | None
    retained: Decimal


class RankView(View):
    rank: int
    project: str
    status: str
    score: Decimal | None
    priorities: list[str]
    amount: Decimal
    cumulative: Decimal
    within_envelope: bool


class CallView(View):
    code: str
    kind: str
    title: str
    theme: str
    scheme: str | None
    legal_basis: list[str]
    opens_on: date
    deadline: date
    envelope: Decimal
    retained: Decimal
    remaining: Decimal
    budget_of_retained: Decimal
    waves: list[WaveView]
    strands: list[dict[str, Any]]
    projects: list[ProjectView]


class CallFileResult(BaseModel):
    call: str
    steps_recorded: int
    state: CallView


# --------------------------------------------------------------- the host


class AidflowHost(Protocol):
    """The ``Aidflow`` plumbing ``CallVerbs`` uses (a mixin's self-type)."""

    def _commit(self, *aggregates: Aggregate | None) -> None: ...

    def _load(self, cls: type[T], aggregate_id: UUID) -> T | None: ...

    def _aggregates_of(self, cls: type[T]) -> Iterator[T]: ...

    def submit(self, command: Input, *, origin: Origin | None = None) -> UUID: ...

    def _new_application(
        self, command: Input, origin: Origin | None
    ) -> tuple[AidScheme | None, AidApplication]: ...

    def scheme(self, code: str) -> AidScheme: ...


def _parse(model: type[c.Model], data: Input, prefix: str = "") -> Any:  # noqa: ANN401 - returns model
    try:
        return c.parse(model, dict(data) if isinstance(data, Mapping) else data)
    except ValidationError as error:
        raise input_error(error, prefix) from None


def _load_call(host: AidflowHost, code: str) -> Call:
    found = host._load(Call, call_id(code))  # noqa: SLF001 - the host's own plumbing
    if found is None:
        msg = f"no call with code {code!r}"
        raise CallNotFound(msg, field="call", value=code)
    return found


def _load_candidacy(host: AidflowHost, project: str) -> Candidacy:
    found = host._load(Candidacy, candidacy_id(project))  # noqa: SLF001 - the host's own plumbing
    if found is None:
        msg = f"no candidacy for project {project!r}"
        raise CandidacyNotFound(msg, field="project", value=project)
    return found


def _prefixed(error: AidflowError, prefix: str) -> AidflowError:
    """The same error, its field prefixed in place (``siren`` → ``partners[1].siren``)."""
    error.field = f"{prefix}.{error.field}" if error.field else prefix
    return error


def _terms(cmd: PublishCall) -> CallTerms:
    consortium = cmd.consortium
    return CallTerms(
        kind=cmd.kind,
        title=cmd.title,
        theme=cmd.theme,
        legal_basis=tuple(LegalReference(r.title, r.article, r.url) for r in cmd.legal_basis),
        envelope=Money(cmd.envelope),
        opens_on=cmd.opens_on,
        deadline=cmd.deadline,
        strands=tuple(Strand(s.code, s.title, s.min_rate, s.max_rate) for s in cmd.strands),
        admission=Admission(cmd.admission.kinds, cmd.admission.company_sizes),
        waves=tuple(
            Wave(w.code, w.label, w.deadline, None if w.envelope is None else Money(w.envelope))
            for w in cmd.waves
        ),
        consortium=ConsortiumRules(
            min_members=consortium.min_members,
            max_members=consortium.max_members,
            lead_kinds=consortium.lead_kinds,
            lead_in_region=consortium.lead_in_region,
            required=tuple(
                MemberRequirement(r.label, r.kinds, r.sizes, r.in_region, r.at_least, r.roles)
                for r in consortium.required
            ),
        ),
        priorities=tuple(
            PriorityCriterion(p.code, p.label, p.outside_communes, p.kinds, p.sizes) for p in cmd.priorities
        ),
        criteria=tuple(SelectionCriterion(k.code, k.label, k.weight) for k in cmd.criteria),
        max_score=cmd.max_score,
        scheme_code=cmd.scheme,
    )


def _partner(data: PartnerIn, index: int) -> Partner:
    where = member_field(index)
    figures = None
    given = {n: getattr(data, n) for n in ("staff", "turnover", "balance_sheet")}
    if any(v is not None for v in given.values()):
        missing = [n for n, v in given.items() if v is None]
        if missing:
            msg = f"company figures need staff, turnover and balance_sheet; missing {', '.join(missing)}"
            raise InvalidValue(msg, field=f"{where}.{missing[0]}", value=None)
        figures = CompanyFigures(data.staff, Money(data.turnover), Money(data.balance_sheet))
    try:
        return Partner(
            name=data.name, kind=data.kind, budget=Money(data.budget), requested=Money(data.requested),
            role=data.role or ("lead" if index == 0 else "partner"), siren=data.siren, siret=data.siret,
            size=data.size, figures=figures, commune=data.commune, department=data.department,
            jobs=data.jobs,
        )
    except InvalidValue as error:
        raise _prefixed(error, where) from None


def _members(lead: PartnerIn, partners: list[PartnerIn]) -> tuple[Partner, ...]:
    return tuple(_partner(p, i) for i, p in enumerate([lead, *partners]))


def _period(start: date | None, end: date | None) -> DateRange | None:
    if start is None and end is None:
        return None
    if start is None or end is None:
        msg = "give both start and end of the project, or neither"
        raise InvalidValue(msg, field="start" if start is None else "end", value=None)
    try:
        return DateRange(start, end)
    except InvalidValue as error:
        raise InvalidValue(error.message, field="end", value=error.value) from None


# ------------------------------------------------------------------- verbs


class CallVerbs:
    """Call verbs for ``Aidflow``: add to its bases, ``class Aidflow(CallVerbs, Application[UUID])``."""

    # ------------------------------------------------------------ the call

    def publish_call(self: AidflowHost, command: Input) -> UUID:
        """Publish a call (its terms); refused if the code is taken or its scheme is unknown."""
        cmd: PublishCall = _parse(PublishCall, command)
        if self._load(Call, call_id(cmd.code)) is not None:
            msg = f"call {cmd.code!r} is already published in this store"
            raise AlreadyExists(msg, field="code", value=cmd.code)
        if cmd.scheme is not None:
            self.scheme(cmd.scheme)  # raises SchemeNotFound, naming the catalogue
        call = Call(code=cmd.code, terms=_terms(cmd), published_on=cmd.published_on or cmd.opens_on)
        self._commit(call)
        return call.id

    def call(self: AidflowHost, code: str) -> Call:
        """The stored call (raises CallNotFound)."""
        return _load_call(self, code)

    def candidacy(self: AidflowHost, project: str) -> Candidacy:
        """The stored candidacy of a project (raises CandidacyNotFound)."""
        return _load_candidacy(self, project)

    def calls(self: AidflowHost) -> list[Call]:
        """Every published call, by code."""
        return sorted(self._aggregates_of(Call), key=lambda k: k.code)

    # ---------------------------------------------------------- candidacy

    def submit_candidacy(self: AidflowHost, call_code: str, command: Input) -> UUID:
        """Submit a project to a call: refused after its wave's deadline or if the consortium rules fail."""
        cmd: SubmitCandidacy = _parse(SubmitCandidacy, command)
        call = _load_call(self, call_code)
        if self._load(Candidacy, candidacy_id(cmd.project)) is not None:
            msg = f"a candidacy for project {cmd.project!r} is already recorded"
            raise AlreadyExists(msg, field="project", value=cmd.project)
        if cmd.derived_from is not None:
            _load_candidacy(self, cmd.derived_from)  # the project it builds on must be known
        members = _members(cmd.lead, cmd.partners)
        candidacy = Candidacy.submit(
            call.terms, reference=cmd.project, call_code=call.code, wave=cmd.wave, strand=cmd.strand,
            title=cmd.title, members=members, submitted_on=cmd.on, period=_period(cmd.start, cmd.end),
            derived_from=cmd.derived_from,
        )
        call.receive(cmd.project, cmd.wave, cmd.on)
        self._commit(call, candidacy)
        return candidacy.id

    def amend_candidacy(self: AidflowHost, project: str, command: Input) -> None:
        """Replace a candidacy's members (and title, period) until its wave's deadline."""
        cmd: AmendCandidacy = _parse(AmendCandidacy, _with_project(command, project))
        candidacy = _load_candidacy(self, project)
        call = _load_call(self, candidacy.call_code)
        period = _period(cmd.start, cmd.end) if (cmd.start or cmd.end) else candidacy.period
        members = _members(cmd.lead, cmd.partners)
        candidacy.amend(call.terms, cmd.on, cmd.title or candidacy.title, members, period)
        self._commit(candidacy)

    def withdraw_candidacy(self: AidflowHost, project: str, command: Input) -> None:
        cmd: WithdrawCandidacy = _parse(WithdrawCandidacy, _with_project(command, project))
        candidacy = _load_candidacy(self, project)
        candidacy.withdraw(cmd.on, cmd.reason)
        self._commit(candidacy)

    def score_candidacy(self: AidflowHost, project: str, command: Input) -> None:
        """Record a jury's score sheet (every criterion of the call), after the wave's deadline."""
        cmd: ScoreCandidacy = _parse(ScoreCandidacy, _with_project(command, project))
        candidacy = _load_candidacy(self, project)
        call = _load_call(self, candidacy.call_code)
        candidacy.record_scores(call.terms, cmd.body, cmd.on, cmd.scores)
        self._commit(candidacy)

    def retain_candidacy(self: AidflowHost, project: str, command: Input) -> None:
        """Retain a project: the granted amount within the strand's rate bounds and the call's envelope."""
        cmd: RetainCandidacy = _parse(RetainCandidacy, _with_project(command, project))
        candidacy = _load_candidacy(self, project)
        call = _load_call(self, candidacy.call_code)
        decision = Decision(body=cmd.body, deliberation=cmd.deliberation, decided_on=cmd.on)
        granted = Money(cmd.granted)
        label = None if cmd.label is None else Label(cmd.label.name, cmd.on, cmd.label.expires_on)
        shares = None if cmd.shares is None else [Money(s) for s in cmd.shares]
        split = candidacy.check_retain(call.terms, decision, granted, shares, label)
        call.commit(project, granted, cmd.on)
        candidacy.retain(Selection(decision, granted, split, tuple(cmd.reasons), label))
        self._commit(call, candidacy)

    def reject_candidacy(self: AidflowHost, project: str, command: Input) -> None:
        """Record that a project is not retained, with its reasons."""
        cmd: RejectCandidacy = _parse(RejectCandidacy, _with_project(command, project))
        candidacy = _load_candidacy(self, project)
        call = _load_call(self, candidacy.call_code)
        decision = Decision(body=cmd.body, deliberation=cmd.deliberation, decided_on=cmd.on)
        candidacy.reject(call.terms, decision, cmd.reasons)
        self._commit(candidacy)

    def open_member_applications(self: AidflowHost, project: str, command: Input) -> list[str]:
        """Open one aid application per funded member of a retained project (lineage, ADR 0006).

        Each application is submitted through ``Aidflow.submit`` under the call's scheme,
        with reference ``<project>-<member index>``, the member's granted share as the
        requested amount, its budget share as the programme's investment, the project's
        period, and ``Origin(call, project, partner_role)``. Every member is checked
        before any is submitted; a run interrupted half-way can be repeated (applications
        already opened with the same origin are kept).

        Returns:
            The applications' references, in member order.
        """
        cmd: OpenApplications = _parse(OpenApplications, _with_project(command, project))
        candidacy = _load_candidacy(self, project)
        call = _load_call(self, candidacy.call_code)
        candidacy.check_can_open_applications(cmd.on)
        if call.terms.scheme_code is None:
            msg = (
                f"call {call.code} names no scheme: its retained projects are not funded through "
                "regional aid applications (give the call a scheme code from the catalogue)"
            )
            raise InvalidValue(msg, field="scheme", value=None)
        scheme = self.scheme(call.terms.scheme_code)
        plans = [
            _member_application(self, scheme, call, candidacy, index, member, share, cmd.on)
            for index, member, share in candidacy.funded_members()
        ]
        schemes: dict[UUID, AidScheme] = {}
        applications: list[AidApplication] = []
        for plan in plans:
            if plan.command is not None:
                try:
                    scheme_to_store, application = self._new_application(plan.command, plan.origin)
                except AidflowError as error:
                    raise _prefixed(error, member_field(plan.index)) from None
                if scheme_to_store is not None:
                    schemes[scheme_to_store.id] = scheme_to_store
                applications.append(application)
        candidacy.record_applications(cmd.on, [MemberApplication(p.index, p.reference) for p in plans])
        self._commit(*schemes.values(), *applications, candidacy)  # one transaction: all or nothing
        return [p.reference for p in plans]

    # ------------------------------------------------------------- views

    def call_ranking(self: AidflowHost, code: str) -> list[RankView]:
        """The live candidacies ranked by weighted score, with the cumulative amount against the envelope."""
        call = _load_call(self, code)
        return _ranking(call, _candidacies(self, call))

    def call_view(self: AidflowHost, code: str) -> CallView:
        """A call's terms, its projects and members, decisions, and the members' downstream dossiers."""
        call = _load_call(self, code)
        candidacies = _candidacies(self, call)
        terms = call.terms
        return CallView(
            code=call.code, kind=terms.kind.value, title=terms.title, theme=terms.theme,
            scheme=terms.scheme_code, legal_basis=[str(r) for r in terms.legal_basis],
            opens_on=terms.opens_on, deadline=terms.deadline, envelope=terms.envelope.amount,
            retained=call.retained_total.amount, remaining=call.remaining.amount,
            budget_of_retained=Money.total(
                k.budget for k in candidacies if k.status is CandidacyStatus.RETAINED
            ).amount,
            waves=[
                WaveView(code=w.code, label=w.label, deadline=w.deadline,
                         envelope=None if w.envelope is None else w.envelope.amount,
                         retained=call.retained_in_wave(w.code).amount)
                for w in terms.waves
            ],
            strands=[
                {"code": s.code, "title": s.title, "min_rate": s.min_rate, "max_rate": s.max_rate}
                for s in terms.strands
            ],
            projects=[_project_view(self, terms, k) for k in candidacies],
        )


# ----------------------------------------------------------------- helpers


def _with_project(command: Input, project: str) -> Input:
    """Let verbs take the project as an argument without repeating it in the command."""
    if isinstance(command, Mapping) and "project" not in command:
        return {**command, "project": project}
    return command


class _Plan:
    """One funded member's application: its reference, origin and submit command (None: already open)."""

    def __init__(self, index: int, reference: str, origin: Origin, command: dict[str, Any] | None) -> None:
        self.index = index
        self.reference = reference
        self.origin = origin
        self.command = command


def _member_application(
    host: AidflowHost, scheme: AidScheme, call: Call, candidacy: Candidacy, index: int,
    member: Partner, share: Money, on: date,
) -> _Plan:
    """Check everything ``submit`` will check for this member, before anything is submitted."""
    where = member_field(index)
    reference = member_reference(candidacy.reference, index)
    origin = Origin(call=call.code, project=candidacy.reference,
                    partner_role="lead" if index == 0 else member.role)
    existing = host._load(AidApplication, application_id(reference))  # noqa: SLF001 - host plumbing
    if existing is not None:
        if existing.origin != origin:
            msg = f"application {reference!r} already exists and did not come from this project"
            raise AlreadyExists(msg, field=f"{where}.application", value=reference)
        return _Plan(index, reference, origin, None)
    if candidacy.period is None:
        msg = "the project needs a start and end date (its programme) to open its members' applications"
        raise InvalidValue(msg, field="start", value=None)
    figures = member.figures
    command: dict[str, Any] = {
        "reference": reference,
        "scheme": scheme.code,
        "on": on,
        "requested": share.amount,
        "beneficiary": {
            "kind": member.kind.value, "name": member.name,
            "siren": None if member.siren is None else member.siren.value,
            "staff": None if figures is None else figures.staff,
            "turnover": None if figures is None else figures.turnover.amount,
            "balance_sheet": None if figures is None else figures.balance_sheet.amount,
        },
        "site": {
            "commune": member.commune, "department": member.department,
            "siret": None if member.siret is None else member.siret.value,
        },
        "programme": {
            "start": candidacy.period.start, "end": candidacy.period.end,
            "investment": member.budget.amount, "jobs": member.jobs,
        },
    }
    parsed: c.SubmitApplication = _parse(c.SubmitApplication, command, where)
    try:
        beneficiary = _beneficiary_of(member)
        Site(commune=parsed.site.commune, department=parsed.site.department, siret=parsed.site.siret)
        Programme(parsed.programme.start, parsed.programme.end, Money(parsed.programme.investment),
                  parsed.programme.jobs)
        scheme.check_open_on(on)
        scheme.terms_on(on).check_admits(beneficiary)
    except AidflowError as error:
        raise _prefixed(error, where) from None
    return _Plan(index, reference, origin, command)


def _beneficiary_of(member: Partner) -> Beneficiary:
    try:
        return Beneficiary(kind=member.kind, name=member.name, siren=member.siren, figures=member.figures)
    except InvalidValue as error:
        field = (error.field or "").removeprefix("beneficiary.")
        raise InvalidValue(error.message, field=field, value=error.value) from None


def _candidacies(host: AidflowHost, call: Call) -> list[Candidacy]:
    return [_load_candidacy(host, project) for project in call.received]


def _ranking(call: Call, candidacies: list[Candidacy]) -> list[RankView]:
    """Rank the live candidacies: weighted score (desc), priorities met (desc), submission order.

    Walking the ranking, a retained project counts its granted amount and an undecided
    one its requested amount; ``within_envelope`` says whether the cumulative amount
    still fits the call's envelope. Not-retained and withdrawn projects are left out.
    """
    live = [
        (position, k) for position, k in enumerate(candidacies)
        if k.status not in (CandidacyStatus.WITHDRAWN, CandidacyStatus.NOT_RETAINED)
    ]

    def key(item: tuple[int, Candidacy]) -> tuple[int, Decimal, int, int]:
        position, candidacy = item
        score = candidacy.score(call.terms)
        return (0 if score is not None else 1, -(score or Decimal(0)), -len(candidacy.priorities), position)

    views = []
    cumulative = Money.zero()
    for rank, (_, candidacy) in enumerate(sorted(live, key=key), start=1):
        amount = candidacy.granted or candidacy.requested
        cumulative += amount
        score = candidacy.score(call.terms)
        views.append(RankView(
            rank=rank, project=candidacy.reference, status=candidacy.status.value,
            score=None if score is None else score.quantize(Decimal("0.01")),
            priorities=list(candidacy.priorities), amount=amount.amount, cumulative=cumulative.amount,
            within_envelope=cumulative <= call.terms.envelope,
        ))
    return views


def _project_view(host: AidflowHost, terms: CallTerms, candidacy: Candidacy) -> ProjectView:
    selection = candidacy.selection
    shares = selection.shares if selection is not None else (None,) * len(candidacy.members)
    opened = {a.member: a.reference for a in candidacy.applications}
    members = []
    for index, (member, share) in enumerate(zip(candidacy.members, shares, strict=True)):
        view: dict[str, Any] = {
            "index": index, "role": member.role, "name": member.name, "kind": member.kind.value,
            "size": member.effective_size.value if member.effective_size else None,
            "department": member.department, "budget": member.budget.amount,
            "requested": member.requested.amount, "granted": None if share is None else share.amount,
        }
        reference = opened.get(index)
        if reference is not None:
            application = host._load(AidApplication, application_id(reference))  # noqa: SLF001
            view["application"] = reference
            if application is not None:
                view["application_status"] = application.status.value
                view["convention"] = application.convention_number
        members.append(MemberView(**view))
    decision: dict[str, Any] | None = None
    reasons: list[str] = []
    if selection is not None:
        decision = {"retained": True, "body": selection.decision.body,
                    "deliberation": selection.decision.deliberation, "on": selection.decision.decided_on}
        reasons = list(selection.reasons)
    elif candidacy.rejection is not None:
        rejected, why = candidacy.rejection
        decision = {"retained": False, "body": rejected.body, "deliberation": rejected.deliberation,
                    "on": rejected.decided_on}
        reasons = list(why)
    elif candidacy.withdrawal_reason:
        reasons = [candidacy.withdrawal_reason]
    label = None
    if selection is not None and selection.label is not None:
        label = {"name": selection.label.name, "granted_on": selection.label.granted_on,
                 "expires_on": selection.label.expires_on}
    score = candidacy.score(terms)
    return ProjectView(
        reference=candidacy.reference, title=candidacy.title, wave=candidacy.wave, strand=candidacy.strand,
        status=candidacy.status.value, submitted_on=candidacy.submitted_on, lead=candidacy.lead.name,
        budget=candidacy.budget.amount, requested=candidacy.requested.amount,
        granted=None if candidacy.granted is None else candidacy.granted.amount,
        rate_percent=percent(rate(candidacy.granted or candidacy.requested, candidacy.budget)),
        score=None if score is None else score.quantize(Decimal("0.01")),
        priorities=list(candidacy.priorities), derived_from=candidacy.derived_from,
        decision=decision, reasons=reasons, label=label, members=members,
    )


# -------------------------------------------------------------- call files


class CallStepRefused(interchange.FileStepRefused):
    """A call-file step was refused; the steps before it stay recorded (``index``, ``do``, ``cause``)."""


def parse_call_text(text: str, source: str = "<call file>") -> dict[str, Any]:
    """Parse a call file's JSON or YAML text into a mapping, with clear errors."""
    return interchange.parse_mapping(text, source, "call")


def load_call_file(path: Path) -> dict[str, Any]:
    """Read a JSON or YAML call file (at most 5 MiB, UTF-8) into plain data."""
    return interchange.load_mapping(path, "call")


def call_file_schema() -> dict[str, Any]:
    """The JSON Schema of call files."""
    return CallFile.model_json_schema()


def _parse_step(index: int, data: Any) -> CandidacyStep:  # noqa: ANN401 - untrusted input
    do = data.get("do") if isinstance(data, Mapping) else None
    try:
        step: CandidacyStep = _STEP.validate_python(data)
    except ValidationError as error:
        cause = input_error(error)
        if isinstance(do, str) and cause.field and cause.field.startswith(f"{do}."):
            cause.field = cause.field.removeprefix(f"{do}.")
        raise CallStepRefused(index, do if isinstance(do, str) else None, cause) from None
    return step


class CallApp(Protocol):
    """What the call-file runner needs: an ``Aidflow`` with the ``CallVerbs`` mixed in."""

    def publish_call(self, command: Input) -> UUID: ...

    def candidacy(self, project: str) -> Candidacy: ...

    def submit_candidacy(self, call_code: str, command: Input) -> UUID: ...

    def amend_candidacy(self, project: str, command: Input) -> None: ...

    def withdraw_candidacy(self, project: str, command: Input) -> None: ...

    def score_candidacy(self, project: str, command: Input) -> None: ...

    def retain_candidacy(self, project: str, command: Input) -> None: ...

    def reject_candidacy(self, project: str, command: Input) -> None: ...

    def open_member_applications(self, project: str, command: Input) -> list[str]: ...

    def call_view(self, code: str) -> CallView: ...


def run_call_file(
    app: CallApp,
    data: Mapping[str, Any],
    on_step: Callable[[int, CandidacyStep], None] | None = None,
) -> CallFileResult:
    """Publish a call file's call, then record its steps in order; return the call's state.

    Raises:
        InputError: the header (``aidflow``, ``call``) is malformed (nothing recorded).
        AlreadyExists: the call is already published (nothing recorded).
        CallStepRefused: a step was refused (the steps before it stay recorded).
    """
    header = {k: v for k, v in data.items() if k != "steps"}
    if header.get("aidflow") != CALL_FORMAT:
        msg = f"aidflow: a call file starts with aidflow: {CALL_FORMAT} (got {header.get('aidflow')!r})"
        raise InputError(msg, field="aidflow", value=header.get("aidflow"))
    raw_call = header.get("call")
    if not isinstance(raw_call, Mapping):
        msg = "call: the call's terms (a mapping) are required"
        raise InputError(msg, field="call", value=type(raw_call).__name__)
    unknown = sorted(set(header) - {"aidflow", "call"})
    if unknown:
        msg = f"{unknown[0]}: unknown field (a call file holds aidflow, call and steps)"
        raise InputError(msg, field=unknown[0], value=header[unknown[0]])
    steps = interchange.step_list(data, "call", MAX_STEPS, required=False)
    publish: PublishCall = _parse(PublishCall, raw_call, "call")
    try:
        app.publish_call(publish)
    except AidflowError as error:
        raise _prefixed(error, "call") from None
    recorded = interchange.record_steps(
        steps, _parse_step, lambda step: _apply(app, publish.code, step), CallStepRefused, on_step
    )
    return CallFileResult(call=publish.code, steps_recorded=recorded, state=app.call_view(publish.code))


def _apply(app: CallApp, code: str, step: CandidacyStep) -> None:
    handlers: dict[type[CandidacyStep], Callable[[CandidacyStep], object]] = {
        SubmitCandidacy: lambda s: app.submit_candidacy(code, s),
        AmendCandidacy: lambda s: app.amend_candidacy(s.project, s),
        WithdrawCandidacy: lambda s: app.withdraw_candidacy(s.project, s),
        ScoreCandidacy: lambda s: app.score_candidacy(s.project, s),
        RetainCandidacy: lambda s: app.retain_candidacy(s.project, s),
        RejectCandidacy: lambda s: app.reject_candidacy(s.project, s),
        OpenApplications: lambda s: app.open_member_applications(s.project, s),
    }
    candidacy_call = None
    if not isinstance(step, SubmitCandidacy):
        candidacy_call = app.candidacy(step.project).call_code
    if candidacy_call is not None and candidacy_call != code:
        msg = f"project {step.project!r} belongs to call {candidacy_call}, not to this file's call {code}"
        raise InvalidValue(msg, field="project", value=step.project)
    handlers[type(step)](step)
