# Copyright (C) 2026 aidflow developers. SPDX-License-Identifier: MIT
"""Framework conventions (conventions-cadres): input models, the ``FrameworkVerbs`` mixin, views, files.

``FrameworkVerbs`` adds the framework verbs to the ``Aidflow`` application (mix it into
its bases). Each verb validates its input (pydantic, ``extra="forbid"``), loads the
:class:`~aidflow.domain.framework.Framework`, lets the domain check the rules and saves it.

Framework files (``aidflow conventions run FILE``, format ``framework/1``, JSON or YAML)::

    aidflow: framework/1
    framework: {reference, title, object, signed_on, parties, articles, term, renewal,
                governance, child_kinds, ...}
    steps:
      - {on: 2017-06-12, do: meeting, body: COPIL, attendees: [...], decisions: [...]}
      - {on: 2017-09-01, do: link_child, reference: ..., title: ..., kind: ..., parties: [...], end: ...}
      - {on: ..., do: amend, number: 1, reason: ..., end: ..., articles: [...]}
      - {on: ..., do: renew, until: ...}
      - {on: ..., do: terminate, how: notice, effective_on: ...}

The error discipline is the dossier files' (DOSSIER.md, ADR 0005): a malformed header
records nothing and names the field (``framework.parties.0.role``); a refused step raises
:class:`FrameworkStepRefused` naming its index, field and value; nothing of it is recorded
and the steps before it stay recorded.

This module must not import ``aidflow.application.service`` at import time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal, Protocol, TypeVar
from uuid import UUID

from eventsourcing.domain import Aggregate
from pydantic import BaseModel, Field, TypeAdapter, ValidationError

from aidflow.application import commands as c
from aidflow.application import interchange
from aidflow.application.errors import AlreadyExists, InputError, NotFound, input_error
from aidflow.application.views import HistoryEntry, View
from aidflow.domain.dates import add_months
from aidflow.domain.errors import AidflowError
from aidflow.domain.framework import (
    Article,
    ChildContract,
    ChildKind,
    Framework,
    FrameworkAmendment,
    FrameworkTerm,
    GovernanceBody,
    Meeting,
    Party,
    PartyRole,
    RenewalClause,
    RenewalMode,
    TerminationKind,
    framework_id,
)

T = TypeVar("T", bound=Aggregate)
Input = c.Model | Mapping[str, Any]

FRAMEWORK_FORMAT = "framework/1"
MAX_STEPS = 10_000
MAX_FILE_BYTES = interchange.MAX_FILE_BYTES
DEFAULT_ALERT_DAYS = 90
"""aidflow default horizon of the "term approaching" alert."""

Code = Annotated[str, Field(min_length=1, max_length=c.MAX_REFERENCE_LENGTH)]
LongText = Annotated[str, Field(max_length=100_000)]
Year = Annotated[int, Field(ge=1900, le=2200, strict=True)]
Months = Annotated[int, Field(ge=1, le=1200, strict=True)]


class FrameworkNotFound(NotFound):
    pass


# ------------------------------------------------------------------ inputs


class PartyIn(c.Model):
    organisation: c.Text
    role: PartyRole = PartyRole.SIGNATORY
    represented_by: c.Text | None = None


class ArticleIn(c.Model):
    number: Code
    title: c.Text
    text: LongText = ""
    source: c.Text | None = None


class TermIn(c.Model):
    """The term: ``start`` (default: the signature) and either ``end`` or ``until_year``.

    ``until_year: 2021`` reads « jusqu'en 2021 » as through 31 December 2021 (aidflow default).
    """

    start: c.Day | None = None
    end: c.Day | None = None
    until_year: Year | None = None
    wording: c.Text | None = None


class RenewalIn(c.Model):
    mode: RenewalMode = RenewalMode.EXPLICIT
    period_months: Months | None = None
    notice_months: Months | None = None
    max_renewals: Annotated[int, Field(ge=1, le=100, strict=True)] | None = None


class BodyIn(c.Model):
    code: Code
    name: c.Text
    members: list[c.Text] = Field(default_factory=list, max_length=500)
    every_months: Months | None = None
    mandate: LongText = ""
    source: c.Text | None = None


class ChildKindIn(c.Model):
    kind: Code
    label: c.Text
    parties: list[c.Text] = Field(default_factory=list, max_length=100)
    source: c.Text | None = None


class SignFramework(c.Model):
    """A framework convention as signed."""

    reference: c.Reference
    kind: Code = "convention_cadre"
    title: c.Text
    subtitle: c.Text | None = None
    object: LongText
    signed_on: c.Day
    signed_at: c.Text | None = None
    parties: Annotated[list[PartyIn], Field(min_length=2, max_length=500)]
    articles: Annotated[list[ArticleIn], Field(max_length=1000)] = Field(default_factory=list)
    term: TermIn
    renewal: RenewalIn = RenewalIn()
    governance: Annotated[list[BodyIn], Field(max_length=100)] = Field(default_factory=list)
    child_kinds: Annotated[list[ChildKindIn], Field(max_length=100)] = Field(default_factory=list)
    witnesses: list[c.Text] = Field(default_factory=list, max_length=100)
    original_copies: Annotated[int, Field(ge=1, le=100, strict=True)] | None = None


class MeetingStep(c.Step):
    do: Literal["meeting"] = "meeting"
    body: Code
    attendees: Annotated[list[c.Text], Field(min_length=1, max_length=500)]
    decisions: Annotated[list[LongText], Field(max_length=500)] = Field(default_factory=list)


class LinkChildStep(c.Step):
    """A child contract signed on ``on``; it starts on ``start`` (default: ``on``)."""

    do: Literal["link_child"] = "link_child"
    reference: c.Reference
    title: c.Text
    kind: Code
    parties: Annotated[list[c.Text], Field(min_length=1, max_length=100)]
    start: c.Day | None = None
    end: c.Day


class AmendFrameworkStep(c.Step):
    do: Literal["amend"] = "amend"
    number: Annotated[int, Field(ge=1, le=10_000, strict=True)]
    reason: c.Text
    end: c.Day | None = None
    until_year: Year | None = None
    articles: Annotated[list[ArticleIn], Field(max_length=1000)] = Field(default_factory=list)
    governance: Annotated[list[BodyIn], Field(max_length=100)] = Field(default_factory=list)
    parties: Annotated[list[PartyIn], Field(max_length=100)] = Field(default_factory=list)


class RenewStep(c.Step):
    """An explicit renewal; ``until`` defaults to the current end plus the clause's period."""

    do: Literal["renew"] = "renew"
    until: c.Day | None = None
    until_year: Year | None = None
    deliberation: c.Text | None = None


class TerminateStep(c.Step):
    do: Literal["terminate"] = "terminate"
    how: TerminationKind
    effective_on: c.Day | None = None
    reason: c.Text | None = None


AnyFrameworkStep = Annotated[
    MeetingStep | LinkChildStep | AmendFrameworkStep | RenewStep | TerminateStep,
    Field(discriminator="do"),
]
_STEP: TypeAdapter[c.Step] = TypeAdapter(AnyFrameworkStep)


class FrameworkFile(c.Model):
    """A framework file: the convention as signed, then what happened under it."""

    aidflow: Literal["framework/1"]
    framework: SignFramework
    steps: Annotated[list[AnyFrameworkStep], Field(max_length=MAX_STEPS)] = Field(default_factory=list)


# ------------------------------------------------------------------- views


class BodyView(View):
    code: str
    name: str
    members: list[str]
    every_months: int | None
    mandate: str
    meetings: int
    last_met: date | None
    next_due: date | None


class FrameworkView(View):
    """A framework convention's state as seen on ``as_of``."""

    reference: str
    kind: str
    title: str
    subtitle: str | None
    object: str
    signed_on: date
    signed_at: str | None
    as_of: date
    status: str
    parties: list[dict[str, Any]]
    articles: list[dict[str, Any]]
    term: dict[str, Any]
    renewal: dict[str, Any]
    governance: list[BodyView]
    child_kinds: list[dict[str, Any]]
    children: list[dict[str, Any]]
    meetings: list[dict[str, Any]]
    amendments: list[dict[str, Any]]
    renewals: list[dict[str, Any]]
    termination: dict[str, Any] | None
    witnesses: list[str]
    original_copies: int | None


class AlertView(View):
    kind: str
    framework: str
    title: str
    due: date
    body: str | None
    message: str


class FrameworkFileResult(BaseModel):
    reference: str
    steps_recorded: int
    state: FrameworkView


# --------------------------------------------------------------- the host


class FrameworkHost(Protocol):
    """The ``Aidflow`` plumbing ``FrameworkVerbs`` uses (a mixin's self-type)."""

    clock: Callable[[], date]

    def _commit(self, *aggregates: Aggregate | None) -> None: ...

    def _load(self, cls: type[T], aggregate_id: UUID) -> T | None: ...

    def _aggregates_of(self, cls: type[T]) -> Iterator[T]: ...

    def _history_of(self, kind: str, reference: str, aggregate_id: UUID) -> Iterator[HistoryEntry]: ...


def _parse(model: type[c.Model], data: Input, prefix: str = "") -> Any:  # noqa: ANN401 - returns model
    try:
        return c.parse(model, dict(data) if isinstance(data, Mapping) else data)
    except ValidationError as error:
        raise input_error(error, prefix) from None


def _load_framework(host: FrameworkHost, reference: str) -> Framework:
    found = host._load(Framework, framework_id(reference))  # noqa: SLF001 - the host's own plumbing
    if found is None:
        msg = f"no framework convention with reference {reference!r}"
        raise FrameworkNotFound(msg, field="reference", value=reference)
    return found


def _end_of(end: date | None, until_year: int | None, field: str, *, required: bool) -> date | None:
    if end is not None and until_year is not None:
        msg = f"{field}: give either an end date or until_year, not both"
        raise InputError(msg, field=field, value=until_year)
    if until_year is not None:
        return date(until_year, 12, 31)
    if end is None and required:
        msg = f"{field}: an end date or until_year is required"
        raise InputError(msg, field=field, value=None)
    return end


def _article(data: ArticleIn) -> Article:
    return Article(number=data.number, title=data.title, text=data.text, source=data.source)


def _body(data: BodyIn) -> GovernanceBody:
    return GovernanceBody(
        code=data.code, name=data.name, members=tuple(data.members), every_months=data.every_months,
        mandate=data.mandate, source=data.source,
    )


def _party(data: PartyIn) -> Party:
    return Party(organisation=data.organisation, role=data.role, represented_by=data.represented_by)


def _prefixed(error: AidflowError, prefix: str) -> AidflowError:
    if error.field and not error.field.startswith(prefix):
        error.field = f"{prefix}.{error.field}"
    return error


# --------------------------------------------------------------- the verbs


class FrameworkVerbs:
    """Framework-convention verbs of the ``Aidflow`` application."""

    def sign_framework(self: FrameworkHost, command: Input) -> UUID:
        """Record a framework convention as signed.

        Raises:
            InputError: malformed input (field named, e.g. ``parties.0.role``).
            AlreadyExists: the reference is taken.
            InvalidValue: fewer than two parties, duplicates, a term ending before the signature.
        """
        cmd: SignFramework = _parse(SignFramework, command)
        if host_has(self, cmd.reference):
            msg = f"framework convention {cmd.reference!r} is already recorded"
            raise AlreadyExists(msg, field="reference", value=cmd.reference)
        end = _end_of(cmd.term.end, cmd.term.until_year, "term.end", required=True) or cmd.signed_on
        start = cmd.term.start or cmd.signed_on
        term = FrameworkTerm(start=start, end=end, wording=cmd.term.wording)
        framework = Framework.sign(
            reference=cmd.reference,
            kind=cmd.kind,
            title=cmd.title,
            object_=cmd.object,
            parties=tuple(_party(p) for p in cmd.parties),
            articles=tuple(_article(a) for a in cmd.articles),
            term=term,
            renewal=RenewalClause(
                mode=cmd.renewal.mode, period_months=cmd.renewal.period_months,
                notice_months=cmd.renewal.notice_months, max_renewals=cmd.renewal.max_renewals,
            ),
            bodies=tuple(_body(b) for b in cmd.governance),
            signed_on=cmd.signed_on,
            child_kinds=tuple(
                ChildKind(kind=k.kind, label=k.label, parties=tuple(k.parties), source=k.source)
                for k in cmd.child_kinds
            ),
            subtitle=cmd.subtitle,
            signed_at=cmd.signed_at,
            witnesses=tuple(cmd.witnesses),
            original_copies=cmd.original_copies,
        )
        self._commit(framework)
        return framework.id

    def framework(self: FrameworkHost, reference: str) -> Framework:
        return _load_framework(self, reference)

    def frameworks(self: FrameworkHost) -> list[Framework]:
        """Every recorded framework convention, by reference."""
        return sorted(self._aggregates_of(Framework), key=lambda f: f.reference)

    def record_meeting(self: FrameworkHost, reference: str, step: Input) -> bool:
        """Record a governance body's meeting; returns False if the same meeting was recorded."""
        cmd: MeetingStep = _parse(MeetingStep, step)
        framework = _load_framework(self, reference)
        recorded = framework.record_meeting(
            Meeting(body=cmd.body, on=cmd.on, attendees=tuple(cmd.attendees), decisions=tuple(cmd.decisions))
        )
        if recorded:
            self._commit(framework)
        return recorded

    def link_child(self: FrameworkHost, reference: str, step: Input) -> None:
        """Link a child contract signed on the step's date (it never outlives its framework)."""
        cmd: LinkChildStep = _parse(LinkChildStep, step)
        framework = _load_framework(self, reference)
        framework.link_child(
            ChildContract(
                reference=cmd.reference, title=cmd.title, kind=cmd.kind, parties=tuple(cmd.parties),
                signed_on=cmd.on, start=cmd.start or cmd.on, end=cmd.end,
            )
        )
        self._commit(framework)

    def amend_framework(self: FrameworkHost, reference: str, step: Input) -> None:
        """Sign an amendment of the framework (new end, articles, governance, parties)."""
        cmd: AmendFrameworkStep = _parse(AmendFrameworkStep, step)
        framework = _load_framework(self, reference)
        framework.amend(
            FrameworkAmendment(
                number=cmd.number,
                signed_on=cmd.on,
                reason=cmd.reason,
                end=_end_of(cmd.end, cmd.until_year, "end", required=False),
                articles=tuple(_article(a) for a in cmd.articles),
                bodies=tuple(_body(b) for b in cmd.governance),
                parties=tuple(_party(p) for p in cmd.parties),
            )
        )
        self._commit(framework)

    def renew_framework(self: FrameworkHost, reference: str, step: Input) -> None:
        """Renew the framework explicitly (``until`` defaults to the end plus the clause's period)."""
        cmd: RenewStep = _parse(RenewStep, step)
        framework = _load_framework(self, reference)
        until = _end_of(cmd.until, cmd.until_year, "until", required=False)
        if until is None:
            period = framework.renewal.period_months
            if period is None:
                msg = "until: the renewal clause sets no period, so the renewal states its new end"
                raise InputError(msg, field="until", value=None)
            until = add_months(framework.ends_on(cmd.on), period)
        framework.renew(cmd.on, until, cmd.deliberation)
        self._commit(framework)

    def terminate_framework(self: FrameworkHost, reference: str, step: Input) -> None:
        """Terminate by notice (``effective_on``) or at the term (notice of non-renewal)."""
        cmd: TerminateStep = _parse(TerminateStep, step)
        framework = _load_framework(self, reference)
        framework.terminate(cmd.how, cmd.on, cmd.effective_on, cmd.reason or "")
        self._commit(framework)

    def framework_view(self: FrameworkHost, reference: str, on: date | None = None) -> FrameworkView:
        """A framework's parties, articles, term, governance, children and history, as of ``on``."""
        return framework_view(_load_framework(self, reference), on or self.clock())

    def framework_alerts(
        self: FrameworkHost, on: date | None = None, within_days: int = DEFAULT_ALERT_DAYS
    ) -> list[AlertView]:
        """Committees overdue and terms reached within ``within_days``, across every framework."""
        if within_days < 0:
            msg = f"within must not be negative, got {within_days}"
            raise InputError(msg, field="within", value=within_days)
        day = on or self.clock()
        rows = [
            AlertView(kind=a.kind.value, framework=f.reference, title=f.title, due=a.due, body=a.body,
                      message=a.message)
            for f in sorted(self._aggregates_of(Framework), key=lambda f: f.reference)
            for a in f.alerts(day, within_days)
        ]
        return sorted(rows, key=lambda r: (r.due, r.framework, r.kind))

    def framework_history(self: FrameworkHost, reference: str) -> list[HistoryEntry]:
        """Every recorded event of a framework convention, in recording order."""
        framework = _load_framework(self, reference)
        return list(self._history_of("framework", framework.reference, framework.id))


def host_has(host: FrameworkHost, reference: str) -> bool:
    return host._load(Framework, framework_id(reference)) is not None  # noqa: SLF001 - host plumbing


def framework_view(framework: Framework, on: date) -> FrameworkView:
    """JSON-ready state of ``framework`` as seen on ``on``."""
    clause = framework.renewal
    termination = framework.termination
    return FrameworkView(
        reference=framework.reference,
        kind=framework.kind,
        title=framework.title,
        subtitle=framework.subtitle,
        object=framework.object,
        signed_on=framework.signed_on,
        signed_at=framework.signed_at,
        as_of=on,
        status=framework.status_on(on).value,
        parties=[
            {"organisation": p.organisation, "role": p.role.value, "represented_by": p.represented_by}
            for p in framework.parties
        ],
        articles=[
            {"number": a.number, "title": a.title, "text": a.text, "source": a.source}
            for a in framework.articles
        ],
        term={
            "start": framework.term.start, "end": framework.term.end, "wording": framework.term.wording,
            "current_end": framework.end, "ends_on": framework.ends_on(on),
        },
        renewal={
            "mode": clause.mode.value, "period_months": clause.period_months,
            "notice_months": clause.notice_months, "max_renewals": clause.max_renewals,
        },
        governance=[
            BodyView(
                code=b.code, name=b.name, members=list(b.members), every_months=b.every_months,
                mandate=b.mandate, meetings=sum(1 for m in framework.meetings if m.body == b.code),
                last_met=(last.on if (last := framework.last_meeting(b.code, on)) else None),
                next_due=framework.committee_due(b, on),
            )
            for b in framework.bodies
        ],
        child_kinds=[
            {"kind": k.kind, "label": k.label, "parties": list(k.parties), "source": k.source}
            for k in framework.child_kinds
        ],
        children=[
            {"reference": ch.reference, "title": ch.title, "kind": ch.kind, "parties": list(ch.parties),
             "signed_on": ch.signed_on, "start": ch.start, "end": ch.end,
             "effective_end": framework.child_end(ch)}
            for ch in sorted(framework.children.values(), key=lambda ch: (ch.start, ch.reference))
        ],
        meetings=[
            {"body": m.body, "on": m.on, "attendees": list(m.attendees), "decisions": list(m.decisions)}
            for m in sorted(framework.meetings, key=lambda m: (m.on, m.body))
        ],
        amendments=[
            {"number": a.number, "signed_on": a.signed_on, "reason": a.reason, "end": a.end,
             "articles": [x.number for x in a.articles], "governance": [b.code for b in a.bodies],
             "parties": [p.organisation for p in a.parties]}
            for a in framework.amendments
        ],
        renewals=[
            {"on": r.on, "until": r.until, "previous_end": r.previous_end, "deliberation": r.deliberation}
            for r in framework.renewals
        ],
        termination=None if termination is None else {
            "kind": termination.kind.value, "on": termination.on,
            "effective_on": termination.effective_on, "reason": termination.reason,
        },
        witnesses=list(framework.witnesses),
        original_copies=framework.original_copies,
    )


# -------------------------------------------------------------- framework files


class FrameworkStepRefused(interchange.FileStepRefused):
    """A framework-file step was refused; the steps before it stay recorded (``index``, ``do``, ``cause``)."""


def load_framework_file(path: Path) -> dict[str, Any]:
    """Read a JSON or YAML framework file (at most 5 MiB, UTF-8) into plain data."""
    return interchange.load_mapping(path, "framework")


def framework_file_schema() -> dict[str, Any]:
    """The JSON Schema of framework files."""
    return FrameworkFile.model_json_schema()


def _parse_step(index: int, data: Any) -> c.Step:  # noqa: ANN401 - untrusted input
    do = data.get("do") if isinstance(data, Mapping) else None
    try:
        return _STEP.validate_python(data)
    except ValidationError as error:
        cause = input_error(error)
        if isinstance(do, str) and cause.field and cause.field.startswith(f"{do}."):
            cause.field = cause.field.removeprefix(f"{do}.")
        raise FrameworkStepRefused(index, do if isinstance(do, str) else None, cause) from None


class FrameworkApp(Protocol):
    """What the framework-file runner needs: an ``Aidflow`` with the ``FrameworkVerbs`` mixed in."""

    def sign_framework(self, command: Input) -> UUID: ...

    def record_meeting(self, reference: str, step: Input) -> bool: ...

    def link_child(self, reference: str, step: Input) -> None: ...

    def amend_framework(self, reference: str, step: Input) -> None: ...

    def renew_framework(self, reference: str, step: Input) -> None: ...

    def terminate_framework(self, reference: str, step: Input) -> None: ...

    def framework_view(self, reference: str, on: date | None = None) -> FrameworkView: ...


def run_framework_file(
    app: FrameworkApp,
    data: Mapping[str, Any],
    on_step: Callable[[int, c.Step], None] | None = None,
) -> FrameworkFileResult:
    """Sign a framework file's convention, then record its steps in order; return its state.

    Raises:
        InputError: the header (``aidflow``, ``framework``) is malformed (nothing recorded).
        AlreadyExists: the framework is already recorded (nothing recorded).
        FrameworkStepRefused: a step was refused (the steps before it stay recorded).
    """
    if data.get("aidflow") != FRAMEWORK_FORMAT:
        got = data.get("aidflow")
        msg = f"aidflow: a framework file starts with aidflow: {FRAMEWORK_FORMAT} (got {got!r})"
        raise InputError(msg, field="aidflow", value=data.get("aidflow"))
    raw = data.get("framework")
    if not isinstance(raw, Mapping):
        msg = "framework: the framework convention (a mapping) is required"
        raise InputError(msg, field="framework", value=type(raw).__name__)
    unknown = sorted(set(data) - {"aidflow", "framework", "steps"})
    if unknown:
        msg = f"{unknown[0]}: unknown field (a framework file holds aidflow, framework and steps)"
        raise InputError(msg, field=unknown[0], value=data[unknown[0]])
    steps = interchange.step_list(data, "framework", MAX_STEPS, required=False)
    sign: SignFramework = _parse(SignFramework, raw, "framework")
    try:
        app.sign_framework(sign)
    except AidflowError as error:
        raise _prefixed(error, "framework") from None
    recorded = interchange.record_steps(
        steps, _parse_step, lambda step: _apply(app, sign.reference, step), FrameworkStepRefused, on_step
    )
    return FrameworkFileResult(
        reference=sign.reference, steps_recorded=recorded, state=app.framework_view(sign.reference)
    )


def _apply(app: FrameworkApp, reference: str, step: c.Step) -> None:
    handlers: dict[type[c.Step], Callable[[str, c.Step], object]] = {
        MeetingStep: app.record_meeting,
        LinkChildStep: app.link_child,
        AmendFrameworkStep: app.amend_framework,
        RenewStep: app.renew_framework,
        TerminateStep: app.terminate_framework,
    }
    handlers[type(step)](reference, step)
