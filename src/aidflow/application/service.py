"""The ``Aidflow`` application service: thin verbs over the aggregates (STYLE G9).

Each verb validates its input (pydantic), loads the aggregates, calls one domain
command that checks the rules and records events, and saves every changed
aggregate in one atomic ``save``. Queries return views, never aggregates.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any, ClassVar, Protocol, TypeVar
from uuid import UUID

import attrs
from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError, JSONTranscoder, Mapper
from pydantic import ValidationError

from aidflow.adapters.catalogue import SchemeDefinition, builtin_catalogue
from aidflow.adapters.fast import project
from aidflow.adapters.parameters import load_modulation_grids
from aidflow.adapters.personal import construct_mapper
from aidflow.adapters.store import DEFAULT_STORE, STORE_ENV_VAR, env_for_store
from aidflow.adapters.transcodings import register_transcodings
from aidflow.application import commands as c
from aidflow.application.amendments import AmendmentVerbs
from aidflow.application.audit import AuditVerbs
from aidflow.application.calls import CallVerbs
from aidflow.application.errors import (
    AlreadyExists,
    ApplicationNotFound,
    ConcurrentUpdate,
    ConventionNotFound,
    InputError,
    NotFound,
    SchemeNotFound,
    input_error,
)
from aidflow.application.frameworks import FrameworkVerbs
from aidflow.application.views import DossierView, HistoryEntry, PaymentView, SchemeView
from aidflow.domain.aid_application import AidApplication, ApplicationStatus, Decision, Origin
from aidflow.domain.appraisal import (
    AppraisalFacts,
    AwardCapFacts,
    ModulationGrids,
    appraise,
    compute_award_cap,
)
from aidflow.domain.clawback import DEFAULT_POLICY, BreachDecision, ClawbackAssessment, ClawbackPolicy
from aidflow.domain.company import Company, ImpactScores, award_ledger_reference
from aidflow.domain.convention import Convention, ConventionStatus
from aidflow.domain.eligibility import EligibilityFacts, check_eligibility
from aidflow.domain.errors import DomainRuleViolation, InvalidTransition, InvalidValue
from aidflow.domain.identity import application_id, company_id, convention_id, scheme_id
from aidflow.domain.obligations import DeclarationState, FactKind, MonitoringFact
from aidflow.domain.rulebook import RuleBook, default_rulebook
from aidflow.domain.scheme import AidScheme, SchemeTerms
from aidflow.domain.values import (
    AwardSplit,
    Beneficiary,
    CompanyFigures,
    Money,
    PaymentKind,
    Programme,
    Siren,
    Siret,
    Site,
)

T = TypeVar("T", bound=Aggregate)
Input = c.Model | Mapping[str, Any]

BUSINESS_DATE_FIELDS = (
    "on", "as_of", "effective_on", "decided_on", "submitted_on", "signed_on", "opened_on"
)


def _today() -> date:
    return date.today()  # noqa: DTZ011 - the default clock: the local calendar day


class UnitOfWork(Protocol):
    """Where ``_load`` reads and ``_commit`` stages aggregates while a bulk import records many
    dossiers in one transaction (:mod:`aidflow.adapters.bulk_import`)."""

    def get(self, aggregate_id: UUID) -> Aggregate:
        """The aggregate's current state; raises ``AggregateNotFoundError``."""
        ...

    def stage(self, *aggregates: Aggregate | None) -> None:
        """Keep changed aggregates (with their pending events) for the batch's one ``save``."""
        ...


class Aidflow(AuditVerbs, CallVerbs, AmendmentVerbs, FrameworkVerbs, Application[UUID]):
    """The aidflow application: schemes, applications and conventions in one store.

    Args:
        store: a store URL (``memory:``, ``sqlite:///path.sqlite``,
            ``postgresql://user:pw@host:port/db``); defaults to ``$AIDFLOW_STORE``,
            else ``sqlite:///aidflow.sqlite``. Ignored when ``env`` sets
            ``PERSISTENCE_MODULE`` itself.
        env: extra eventsourcing settings (they win over the store's).
        clock: returns "today" for commands whose business date is optional.
        clawback_policy: the policy assessments use (default: ``aidflow-default/1``).
        rulebook: eligibility and cap rules by effective date (default: the built-in one).
        grids: appraisal modulation grids (default: the shipped YAML grids).
        catalogue: schemes known without being stored (default: the built-in catalogue).
    """

    name = "Aidflow"
    log_section_size = 1000
    env: ClassVar[dict[str, str]] = {
        # The same stored bytes as eventsourcing's own transcoder and mapper, with less CPU
        # per event (docs/scaling.md); set either key to go back to the stock classes.
        "TRANSCODER_TOPIC": "aidflow.adapters.fast:FastJSONTranscoder",
        "MAPPER_TOPIC": "aidflow.adapters.fast:FastMapper",
    }
    unit_of_work: UnitOfWork | None = None
    """Set only while :func:`aidflow.adapters.bulk_import.import_jsonl` batches dossiers."""

    def __init__(
        self,
        store: str | None = None,
        *,
        env: Mapping[str, str] | None = None,
        clock: Callable[[], date] = _today,
        catalogue: Mapping[str, SchemeDefinition] | None = None,
        clawback_policy: ClawbackPolicy = DEFAULT_POLICY,
        rulebook: RuleBook | None = None,
        grids: ModulationGrids | None = None,
    ) -> None:
        settings = dict(env or {})
        if "PERSISTENCE_MODULE" in settings:
            self.store_url = settings.get(STORE_ENV_VAR, "(env)")
        else:
            self.store_url = (
                store or settings.get(STORE_ENV_VAR) or os.environ.get(STORE_ENV_VAR) or DEFAULT_STORE
            )
            settings = env_for_store(self.store_url) | settings
        self.clock = clock
        self.clawback_policy = clawback_policy
        self.rulebook = default_rulebook() if rulebook is None else rulebook
        self.grids = load_modulation_grids() if grids is None else grids
        self.catalogue = dict(builtin_catalogue() if catalogue is None else catalogue)  # never the cache
        super().__init__(env=settings)

    def construct_mapper(self) -> Mapper[UUID]:
        """eventsourcing's mapper, sealing personal fields when a cipher key is set (ADR 0008)."""
        return construct_mapper(self.factory, self.construct_transcoder())

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        register_transcodings(transcoder)

    # ------------------------------------------------------------ plumbing

    def _load(self, cls: type[T], aggregate_id: UUID) -> T | None:
        try:
            if self.unit_of_work is not None:
                aggregate: Aggregate = self.unit_of_work.get(aggregate_id)
            else:
                aggregate = self.repository.get(aggregate_id, projector_func=project)
        except AggregateNotFoundError:
            return None
        if not isinstance(aggregate, cls):  # pragma: no cover - uuid5 namespaces differ by kind
            return None
        return aggregate

    def _commit(self, *aggregates: Aggregate | None) -> None:
        if self.unit_of_work is not None:
            self.unit_of_work.stage(*aggregates)
            return
        try:
            self.save(*aggregates)
        except IntegrityError:
            msg = "another writer changed this dossier at the same time; nothing was recorded, retry"
            raise ConcurrentUpdate(msg) from None

    @staticmethod
    def _parse(model: type[c.Model], data: Input, prefix: str = "") -> Any:  # noqa: ANN401
        try:
            return c.parse(model, dict(data) if isinstance(data, Mapping) else data)
        except ValidationError as error:
            raise input_error(error, prefix) from None

    def application(self, reference: str) -> AidApplication:
        found = self._load(AidApplication, application_id(reference))
        if found is None:
            msg = f"no application with reference {reference!r}"
            raise ApplicationNotFound(msg, field="reference", value=reference)
        return found

    def convention(self, number: str) -> Convention:
        found = self._load(Convention, convention_id(number))
        if found is None:
            msg = f"no convention numbered {number!r}"
            raise ConventionNotFound(msg, field="convention", value=number)
        return found

    def _convention_of(self, reference: str) -> Convention:
        """The convention for a convention number or for an application reference."""
        found = self._load(Convention, convention_id(reference))
        if found is not None:
            return found
        application = self.application(reference)
        if application.convention_number is None:
            msg = f"application {reference!r} has no signed convention (it is {application.status.value})"
            raise ConventionNotFound(msg, field="reference", value=reference)
        return self.convention(application.convention_number)

    def resolve(self, reference: str) -> tuple[AidApplication, Convention | None]:
        """The application and its convention, from either reference."""
        convention = self._load(Convention, convention_id(reference))
        if convention is not None:
            return self.application(convention.application_reference), convention
        application = self._load(AidApplication, application_id(reference))
        if application is None:
            msg = f"no application or convention with reference {reference!r}"
            raise NotFound(msg, field="reference", value=reference)
        if application.convention_number is None:
            return application, None
        return application, self.convention(application.convention_number)

    # ---------------------------------------------------------------- schemes

    def scheme(self, code: str) -> AidScheme:
        """The stored scheme, else a fresh one from the catalogue (not yet saved)."""
        stored = self._load(AidScheme, scheme_id(code))
        if stored is not None:
            return stored
        definition = self.catalogue.get(code)
        if definition is None:
            known = ", ".join(sorted(self.catalogue))
            msg = f"unknown scheme {code!r} (catalogue: {known}; or open it in the store)"
            raise SchemeNotFound(msg, field="scheme", value=code)
        return AidScheme(
            code=definition.code, title=definition.title, terms=definition.terms,
            opened_on=definition.opened_on,
        )

    def open_scheme(self, code: str, title: str, terms: SchemeTerms, opened_on: date) -> UUID:
        if self._load(AidScheme, scheme_id(code)) is not None:
            msg = f"scheme {code!r} is already open in this store"
            raise AlreadyExists(msg, field="code", value=code)
        scheme = AidScheme(code=code, title=title, terms=terms, opened_on=opened_on)
        self._commit(scheme)
        return scheme.id

    def rename_scheme(self, code: str, title: str, on: date) -> None:
        scheme = self.scheme(code)
        scheme.rename(title, on)
        self._commit(scheme)

    def amend_scheme(self, code: str, terms: SchemeTerms, effective_on: date, reason: str) -> None:
        scheme = self.scheme(code)
        scheme.amend(terms, effective_on, reason)
        self._commit(scheme)

    def close_scheme(self, code: str, on: date) -> None:
        scheme = self.scheme(code)
        scheme.close(on)
        self._commit(scheme)

    def schemes(self) -> list[SchemeView]:
        """The catalogue's schemes and those opened in the store, by code."""
        codes = set(self.catalogue) | {
            agg.code for agg in self._aggregates_of(AidScheme)
        }
        views = []
        for code in sorted(codes):
            scheme = self.scheme(code)
            terms = scheme.terms
            admitted = [k.value for k in terms.admitted_kinds] + [s.value for s in terms.admitted_sizes]
            views.append(
                SchemeView(
                    code=scheme.code,
                    title=scheme.title,
                    instruments=[i.value for i in terms.instruments],
                    ceiling=terms.ceiling.amount if terms.ceiling else None,
                    regime=terms.regime.value,
                    admitted=admitted,
                    innovation=terms.innovation,
                    legal_basis=[str(r) for r in terms.legal_basis],
                    opened_on=scheme.opened_on,
                    closed_on=scheme.closed_on,
                    in_store=scheme.version > 1 or self._load(AidScheme, scheme.id) is not None,
                )
            )
        return views

    # ------------------------------------------------------------ applications

    def submit(self, command: Input, *, origin: Origin | None = None) -> UUID:
        """Submit an application (DOSSIER.md ``submit`` plus the dossier header).

        ``origin`` links an application opened by a call for projects to its call and project.
        """
        scheme, application = self._new_application(command, origin)
        self._commit(scheme, application)
        return application.id

    def _new_application(
        self, command: Input, origin: Origin | None
    ) -> tuple[AidScheme | None, AidApplication]:
        """The checked, unsaved application, and its catalogue scheme when not stored yet."""
        cmd: c.SubmitApplication = self._parse(c.SubmitApplication, command)
        if self._load(AidApplication, application_id(cmd.reference)) is not None:
            msg = f"an application with reference {cmd.reference!r} is already recorded"
            raise AlreadyExists(msg, field="reference", value=cmd.reference)
        scheme = self.scheme(cmd.scheme)
        scheme.check_open_on(cmd.on)
        beneficiary = _beneficiary(cmd.beneficiary)
        site = Site(commune=cmd.site.commune, department=cmd.site.department, siret=cmd.site.siret)
        if site.siret is not None and beneficiary.siren is not None and site.siret.siren != beneficiary.siren:
            msg = f"SIRET {site.siret} does not start with the beneficiary's SIREN {beneficiary.siren}"
            raise InvalidValue(msg, field="site.siret", value=str(site.siret))
        scheme.terms_on(cmd.on).check_admits(beneficiary)
        programme = _programme(cmd.programme)
        if cmd.requested == 0:
            msg = "the requested amount must be positive"
            raise DomainRuleViolation(msg, field="requested", value=str(cmd.requested))
        application = AidApplication(
            reference=cmd.reference,
            scheme_code=scheme.code,
            beneficiary=beneficiary,
            site=site,
            requested=Money(cmd.requested),
            programme=programme,
            submitted_on=cmd.on,
            origin=origin,
        )
        new_scheme = scheme if self._load(AidScheme, scheme.id) is None else None
        return new_scheme, application

    def withdraw(self, reference: str, step: Input) -> None:
        cmd: c.WithdrawStep = self._parse(c.WithdrawStep, step)
        application = self.application(reference)
        application.withdraw(cmd.on, cmd.reason)
        self._commit(application)

    def company(self, siren: str) -> Company | None:
        """The company's history (self-diagnoses, state-aid ledger), if any was recorded."""
        return self._load(Company, company_id(siren))

    def _company_for(self, application: AidApplication, on: date) -> Company | None:
        siren = application.beneficiary.siren
        if siren is None:
            return None
        return self.company(siren.value) or Company.register(
            siren.value, application.beneficiary.name, on
        )

    def self_diagnosis(self, reference: str, step: Input) -> None:
        """Record the applicant's Impact Score self-diagnosis on its company (E1)."""
        cmd: c.SelfDiagnosisStep = self._parse(c.SelfDiagnosisStep, step)
        application = self.application(reference)
        company = self._company_for(application, cmd.on)
        if company is None:
            msg = "a self-diagnosis is made by a company identified by its SIREN"
            raise InvalidValue(msg, field="beneficiary.siren", value=None)
        figures = application.beneficiary.figures
        if figures is None:
            msg = "the applicant's staff is needed to check the self-diagnosis module"
            raise InvalidValue(msg, field="beneficiary.staff", value=None)
        company.record_self_diagnosis(
            cmd.on, cmd.module, ImpactScores.from_mapping(cmd.scores.model_dump()), figures.staff
        )
        self._commit(company)

    def check_eligibility(self, reference: str, step: Input) -> dict[str, Any]:
        """Evaluate the eligibility gate E1-E5 and record its result (RULES.md §3).

        Returns the DOSSIER.md ``eligibility`` result: every failing condition, not just the first.
        """
        cmd: c.EligibilityStep = self._parse(c.EligibilityStep, step)
        application = self.application(reference)
        scheme = self.scheme(application.scheme_code)
        company = self.company(application.beneficiary.siren.value) if application.beneficiary.siren else None
        figures = application.beneficiary.figures
        facts = EligibilityFacts.under(
            scheme.terms_on(cmd.on),
            on=cmd.on,
            beneficiary_kind=application.beneficiary.kind,
            staff=figures.staff if figures else None,
            self_diagnosis=company.latest_on(cmd.on) if company else None,
            tax_and_social_compliant=cmd.tax_and_social_compliant,
            equity=cmd.equity,
            court_proceedings=cmd.court_proceedings,
            real_estate=cmd.real_estate,
            commitments=tuple(cmd.commitments),
            environmental_measures=cmd.environmental_measures,
            land_take_measures=cmd.land_take_measures,
        )
        result = check_eligibility(facts, self.rulebook.version_on(cmd.on))
        application.record_eligibility(cmd.on, result.eligible, result.to_audit_dict())
        self._commit(application)
        return result.to_dict()

    def appraise(self, reference: str, step: Input) -> dict[str, Any]:
        """Compute R1-R4 and the intensity factor from the scheme's grid, and record them."""
        cmd: c.AppraiseStep = self._parse(c.AppraiseStep, step)
        application = self.application(reference)
        if application.status is not ApplicationStatus.ELIGIBLE:
            msg = f"application {reference} must pass the eligibility gate before appraisal"
            raise InvalidTransition(msg, field="do", value="appraise")
        company = self.company(application.beneficiary.siren.value) if application.beneficiary.siren else None
        latest = company.latest_on(cmd.on) if company else None
        facts = AppraisalFacts(
            on=cmd.on,
            requested=application.requested,
            financial_income=Money(cmd.financial_income),
            dividends_paid=Money(cmd.dividends_paid),
            self_financing_capacity=cmd.self_financing_capacity,
            shareholder_dividends=Money(cmd.shareholder_dividends),
            executive_total_pay=Money(cmd.executive_total_pay),
            requested_grant=None if cmd.requested_grant is None else Money(cmd.requested_grant),
            scores=latest.scores if latest else None,
            baseline_scores=company.baseline.scores if company and company.baseline else None,
            eligible_expenses=None if cmd.eligible_expenses is None else Money(cmd.eligible_expenses),
        )
        result = appraise(facts, self.grids.grid_for(application.scheme_code, cmd.on),
                          self.rulebook.version_on(cmd.on))
        record = result.to_dict() | {"facts": result.facts.to_dict()}
        application.record_appraisal(cmd.on, result.factor, result.refused, record)
        self._commit(application)
        return record

    def award(self, reference: str, step: Input) -> None:
        """Decide an award: the amount, its split and the deciding act.

        Every cap of RULES.md §3 is enforced (the request, scheme ceilings, the appraisal's
        intensity factor, the GBER intensity, the rolling de minimis headroom) and recorded
        with the decision; the aid enters the company's state-aid ledger.
        """
        cmd: c.AwardStep = self._parse(c.AwardStep, step)
        application = self.application(reference)
        scheme = self.scheme(application.scheme_code)
        terms = scheme.terms_on(cmd.on)
        split = _split(cmd, terms)
        decision = Decision(body=cmd.body, deliberation=cmd.deliberation, decided_on=cmd.on)
        company = self._company_for(application, cmd.on)
        appraisal = application.appraisal or {}
        facts = AwardCapFacts(
            on=cmd.on,
            requested=application.requested,
            terms=terms,
            size=application.beneficiary.size,
            eligible_expenses=(appraisal.get("facts") or {}).get("eligible_expenses"),
            intensity_factor=Decimal(appraisal.get("factor", "1")),
            refused=bool(appraisal.get("refused", False)),
            appraisal_grid=appraisal.get("grid_version"),
            de_minimis_ledger=tuple(company.aids_granted) if company else (),
        )
        application.check_undecided_award(cmd.on)
        cap = compute_award_cap(facts, self.rulebook.version_on(cmd.on))
        cap.check_award(split)
        application.decide_award(split, decision, terms, cap.to_dict())
        if company is not None:
            ledger_ref = award_ledger_reference(reference, cmd.deliberation)
            company.record_aid_granted(cmd.on, split.total, terms.regime.value, ledger_ref)
        self._commit(application, company)

    def reject(self, reference: str, step: Input) -> None:
        cmd: c.RejectStep = self._parse(c.RejectStep, step)
        application = self.application(reference)
        decision = Decision(body=cmd.body, deliberation=cmd.deliberation, decided_on=cmd.on)
        application.decide_rejection(decision, tuple(cmd.reasons))
        self._commit(application)

    def sign(self, reference: str, step: Input) -> UUID:
        """Sign the convention of an awarded application; records the size at signature."""
        cmd: c.SignStep = self._parse(c.SignStep, step)
        application = self.application(reference)
        award = application.check_can_sign(cmd.on)
        if self._load(Convention, convention_id(cmd.convention)) is not None:
            msg = f"convention number {cmd.convention!r} is already used"
            raise AlreadyExists(msg, field="convention", value=cmd.convention)
        scheme = self.scheme(application.scheme_code)
        convention = Convention(
            number=cmd.convention,
            application_reference=application.reference,
            scheme_code=application.scheme_code,
            beneficiary=application.beneficiary,
            site=application.site,
            programme=application.programme,
            award=award.split,
            size_at_signature=application.beneficiary.size,
            innovation=scheme.terms_on(cmd.on).innovation,
            signed_on=cmd.on,
            origin=application.origin,
        )
        application.record_convention(cmd.convention, cmd.on)
        self._commit(application, convention)
        return convention.id

    def pay(self, reference: str, step: Input) -> bool:
        """Record a payment; returns False when its reference was already recorded (no effect)."""
        cmd: c.PayStep = self._parse(c.PayStep, step)
        convention = self._convention_of(reference)
        recorded = convention.pay(cmd.ref, Money(cmd.amount), PaymentKind(cmd.kind), cmd.on)
        if recorded:
            self._commit(convention)
        return recorded

    def complete_programme(self, reference: str, step: Input) -> None:
        cmd: c.CompleteProgrammeStep = self._parse(c.CompleteProgrammeStep, step)
        convention = self._convention_of(reference)
        realised = None if cmd.investment_realised is None else Money(cmd.investment_realised)
        convention.complete_programme(cmd.on, realised, cmd.jobs_created)
        self._commit(convention)

    # ------------------------------------------------------------- monitoring

    _FACT_KINDS: Mapping[str, FactKind] = {
        "declare_headcount": FactKind.HEADCOUNT,
        "dispose_investment": FactKind.INVESTMENT_DISPOSED,
        "cease_activity": FactKind.ACTIVITY_CEASED,
        "relocate": FactKind.RELOCATED,
        "change_control": FactKind.CONTROL_CHANGED,
        "rd_outside_region": FactKind.RD_OUTSIDE_REGION,
        "renounce_exploitation": FactKind.EXPLOITATION_RENOUNCED,
    }

    def record_fact(self, reference: str, step: Input) -> bool:
        """Record a monitoring fact (declare_headcount, dispose_investment, cease_activity…).

        Returns False when the same fact was already recorded (no second effect).
        """
        data = dict(step) if isinstance(step, Mapping) else step.model_dump()
        do = str(data.get("do"))
        if do not in self._FACT_KINDS:
            msg = f"{do!r} is not a monitoring fact (one of {', '.join(self._FACT_KINDS)})"
            raise InputError(msg, field="do", value=do)
        model: type[c.Model] = {
            "declare_headcount": c.DeclareHeadcountStep,
            "dispose_investment": c.DisposeInvestmentStep,
            "cease_activity": c.CeaseActivityStep,
            "relocate": c.RelocateStep,
            "change_control": c.ChangeControlStep,
            "rd_outside_region": c.RdOutsideRegionStep,
            "renounce_exploitation": c.RenounceExploitationStep,
        }[do]  # type: ignore[assignment] # every value is a Step subclass
        cmd = self._parse(model, data)
        fact = MonitoringFact(
            kind=self._FACT_KINDS[do],
            on=cmd.on,
            jobs=getattr(cmd, "jobs", None),
            value=None if getattr(cmd, "value", None) is None else Money(cmd.value),
            destination=getattr(cmd, "destination", None),
        )
        convention = self._convention_of(reference)
        recorded = convention.record_fact(fact)
        if recorded:
            self._commit(convention)
        return recorded

    def decide_breach(self, reference: str, step: Input) -> None:
        cmd: c.DecideBreachStep = self._parse(c.DecideBreachStep, step)
        if cmd.waive == (cmd.amount is not None):
            msg = "a decision gives either an amount or waive: true"
            raise InputError(msg, field="amount", value=None if cmd.amount is None else str(cmd.amount))
        decision = BreachDecision(
            obligation=cmd.obligation, on=cmd.on,
            amount=None if cmd.amount is None else Money(cmd.amount), waived=cmd.waive,
        )
        convention = self._convention_of(reference)
        convention.decide_breach(decision)
        self._commit(convention)

    def assess_clawback(self, reference: str, step: Input | None = None) -> ClawbackAssessment:
        """Assess and record what is due as of the step's date (default: today)."""
        cmd: c.AssessClawbackStep = self._parse(
            c.AssessClawbackStep, step if step is not None else {"on": self.clock().isoformat()}
        )
        convention = self._convention_of(reference)
        assessment = convention.assess_clawback(cmd.on, self.clawback_policy)
        self._commit(convention)
        return assessment

    def preview_clawback(self, reference: str, on: date) -> ClawbackAssessment:
        """What an assessment as of ``on`` would find, recording nothing."""
        convention = self._convention_of(reference)
        return convention.citing_terms(self.clawback_policy.assess(convention.clawback_facts(on), on))

    def issue_recovery_order(self, reference: str, step: Input) -> bool:
        cmd: c.IssueRecoveryOrderStep = self._parse(c.IssueRecoveryOrderStep, step)
        convention = self._convention_of(reference)
        recorded = convention.issue_recovery_order(cmd.ref, Money(cmd.amount), cmd.on)
        if recorded:
            self._commit(convention)
        return recorded

    def repay(self, reference: str, step: Input) -> bool:
        cmd: c.RepayStep = self._parse(c.RepayStep, step)
        convention = self._convention_of(reference)
        recorded = convention.repay(cmd.ref, Money(cmd.amount), cmd.on)
        if recorded:
            self._commit(convention)
        return recorded

    def waive(self, reference: str, step: Input) -> None:
        cmd: c.WaiveStep = self._parse(c.WaiveStep, step)
        convention = self._convention_of(reference)
        convention.waive(Money(cmd.amount), cmd.on, cmd.deliberation)
        self._commit(convention)

    def close_convention(self, reference: str, step: Input) -> None:
        cmd: c.CloseStep = self._parse(c.CloseStep, step)
        convention = self._convention_of(reference)
        convention.close(cmd.on)
        self._commit(convention)

    def schedule_repayment(self, reference: str, step: Input) -> None:
        cmd: c.ScheduleRepaymentStep = self._parse(c.ScheduleRepaymentStep, step)
        convention = self._convention_of(reference)
        convention.schedule_repayment(cmd.first_due, cmd.instalments, cmd.every_months, cmd.on)
        self._commit(convention)

    def receive_instalment(self, reference: str, step: Input) -> bool:
        cmd: c.ReceiveInstalmentStep = self._parse(c.ReceiveInstalmentStep, step)
        convention = self._convention_of(reference)
        recorded = convention.receive_instalment(cmd.ref, Money(cmd.amount), cmd.on)
        if recorded:
            self._commit(convention)
        return recorded

    def monitoring_due(self, on: date | None = None) -> list[dict[str, Any]]:
        """Headcount declarations due or overdue on ``on`` across all open conventions."""
        day = on or self.clock()
        rows: list[dict[str, Any]] = []
        for convention in self.conventions():
            if convention.status is ConventionStatus.CLOSED:
                continue
            rows.extend(
                {
                    "convention": convention.number,
                    "reference": convention.application_reference,
                    "beneficiary": convention.beneficiary.name,
                    "anniversary": item.anniversary,
                    "due_by": item.due_by,
                    "state": item.state.value,
                }
                for item in convention.declarations(day)
                if item.state in (DeclarationState.DUE, DeclarationState.OVERDUE)
            )
        return sorted(rows, key=lambda r: (r["due_by"], r["convention"]))

    # ------------------------------------------------------------------ views

    def dossier(self, reference: str) -> DossierView:
        """The state of one dossier, from its application reference or convention number."""
        application, convention = self.resolve(reference)
        today = self.clock()  # read once: the obligations and the advance are seen on the same day
        award = application.award
        view: dict[str, Any] = {
            "reference": application.reference,
            "scheme": application.scheme_code,
            "status": application.status.value,
            "beneficiary": application.beneficiary.name,
            "siren": str(application.beneficiary.siren) if application.beneficiary.siren else None,
            "submitted_on": application.submitted_on,
            "requested": application.requested.amount,
            "programme": {
                "start": application.programme.start,
                "end": application.programme.end,
                "investment": application.programme.investment.amount,
                "jobs": application.programme.jobs,
            },
        }
        if application.eligibility is not None:
            view["eligibility"] = {
                "eligible": application.eligibility["eligible"],
                "failures": application.eligibility["failures"],
            }
        if award is not None:
            view["awarded"] = award.amount.amount
            view["split"] = {k.value: v.amount for k, v in award.split.nonzero().items()}
            view["decision"] = {
                "body": award.decision.body,
                "deliberation": award.decision.deliberation,
                "on": award.decision.decided_on,
            }
        if application.rejection is not None:
            view["rejection"] = {
                "body": application.rejection.decision.body,
                "deliberation": application.rejection.decision.deliberation,
                "on": application.rejection.decision.decided_on,
                "reasons": list(application.rejection.reasons),
            }
        if convention is not None:
            view.update(
                awarded=convention.awarded.amount,
                split={k.value: v.amount for k, v in convention.award.nonzero().items()},
                programme={
                    "start": convention.programme.start,
                    "end": convention.programme.end,
                    "investment": convention.programme.investment.amount,
                    "jobs": convention.programme.jobs,
                },
                amendments=[a.model_dump() for a in self.amendments(convention.number)],
                status=convention.status.value,
                convention=convention.number,
                signed_on=convention.signed_on,
                size_at_signature=(
                    convention.size_at_signature.value if convention.size_at_signature else None
                ),
                paid=convention.paid.amount,
                payments=[
                    PaymentView(ref=p.ref, amount=p.amount.amount, kind=p.kind.value, on=p.on)
                    for p in sorted(convention.payments.values(), key=lambda p: (p.on, p.ref))
                ],
                programme_completed_on=convention.completion.on if convention.completion else None,
                repaid=convention.repaid.amount,
                obligations=_obligations(convention, today),
                clawback=(
                    convention.latest_assessment.to_dict() if convention.latest_assessment else None
                ),
                advance=_advance(convention, today),
                recovery={
                    "ordered": convention.ordered.amount,
                    "repaid": convention.repaid.amount,
                    "waived": convention.waived.amount,
                    "outstanding": convention.outstanding.amount,
                    "cancelled_balance": (
                        convention.cancelled_balance.amount if convention.cancelled_balance else None
                    ),
                },
            )
        return DossierView(**view)

    def decisions(self, reference: str) -> list[dict[str, Any]]:
        """Every decision on a dossier, numbered from 1 in recording order (the decision trail).

        Eligibility results, appraisals, awards (with their caps), rejections and clawback
        assessments, each with what it stored: rule-book or policy version, inputs,
        citations and explanation.
        """
        application, convention = self.resolve(reference)
        trail = [dict(d) for d in application.decisions]
        if convention is not None:
            trail += [
                {"kind": "clawback", "on": a.as_of.isoformat(), "record": a.to_dict()}
                for a in convention.assessments
            ]
        return [{"number": n, **d} for n, d in enumerate(trail, start=1)]

    def history(self, reference: str) -> list[HistoryEntry]:
        """Every recorded event of a dossier (application, then convention), in recording order."""
        application, convention = self.resolve(reference)
        entries = list(self._history_of("application", application.reference, application.id))
        if convention is not None:
            entries += self._history_of("convention", convention.number, convention.id)
        return sorted(entries, key=lambda e: e.recorded_at)

    def scheme_history(self, code: str) -> list[HistoryEntry]:
        return list(self._history_of("scheme", code, scheme_id(code)))

    def _history_of(self, kind: str, reference: str, aggregate_id: UUID) -> Iterator[HistoryEntry]:
        for domain_event in self.events.get(aggregate_id):
            state = {
                k: v for k, v in domain_event.__dict__.items()
                if k not in ("originator_id", "originator_version", "timestamp", "originator_topic")
            }
            yield HistoryEntry(
                aggregate=kind,
                reference=reference,
                version=domain_event.originator_version,
                event=type(domain_event).__qualname__.split(".")[-1],
                on=business_date(state),
                recorded_at=getattr(domain_event, "timestamp"),  # noqa: B009 - not on the Protocol
                data=to_primitive(state),
            )

    def _aggregates_of(self, cls: type[T]) -> Iterator[T]:
        """Every stored aggregate of a class, found by scanning the notification log."""
        topic_prefix = f"{cls.__module__}:{cls.__qualname__}."
        seen: set[UUID] = set()
        start = 1
        while True:
            page = self.recorder.select_notifications(start=start, limit=1000)
            for notification in page:
                originator = notification.originator_id
                if notification.topic.startswith(topic_prefix) and isinstance(originator, UUID):
                    seen.add(originator)
            if len(page) < 1000:  # noqa: PLR2004 - page size
                break
            start = page[-1].id + 1
        for aggregate_id in sorted(seen):
            found = self._load(cls, aggregate_id)
            if found is not None:
                yield found

    def applications(self) -> Iterator[AidApplication]:
        return self._aggregates_of(AidApplication)

    def conventions(self) -> Iterator[Convention]:
        return self._aggregates_of(Convention)

    def event_count(self) -> int:
        """How many events the store holds.

        Counted rows on SQLite and PostgreSQL (aidflow's recorders' ``count_events``): on
        PostgreSQL a rolled-back insert uses up notification ids, so the highest id overcounts
        after a refused concurrent write. The in-memory store has no gaps: its highest id.
        """
        count_events = getattr(self.recorder, "count_events", None)
        if count_events is not None:
            return int(count_events())
        maximum = self.recorder.max_notification_id()
        return 0 if maximum is None else int(maximum)


# ---------------------------------------------------------------- helpers


def _advance(convention: Convention, today: date) -> dict[str, Any] | None:
    """The repayable advance's schedule and what was received, as of ``today`` (None: no schedule).

    Each instalment shows what is paid and outstanding and whether it is settled, upcoming or
    late on ``today``: receipts are allocated first in first out (RULES.md §5). Receipts
    dated after ``today`` (recorded ahead, e.g. from a file) are not counted yet.
    """
    if not convention.repayment_schedule:
        return None
    statuses = convention.instalments(today)
    receipts = [r.amount.amount for r in convention.instalments_received.values() if r.on <= today]
    return {
        "as_of": today,
        "scheduled_on": convention.repayment_scheduled_on,
        "scheduled": sum((s.instalment.amount.amount for s in statuses), Decimal("0.00")),
        "received": sum(receipts, Decimal("0.00")),
        "outstanding": sum((s.outstanding.amount for s in statuses), Decimal("0.00")),
        "late": sum((s.outstanding.amount for s in statuses if s.late), Decimal("0.00")),
        "instalments": [
            {
                "number": s.instalment.number,
                "due_on": s.instalment.due_on,
                "amount": s.instalment.amount.amount,
                "paid": s.paid.amount,
                "outstanding": s.outstanding.amount,
                "state": s.state.value,
                "settled_on": s.settled_on,
            }
            for s in statuses
        ],
    }


def _obligations(convention: Convention, today: date) -> list[dict[str, Any]]:
    """Each obligation window with its state, as of the latest assessment (else today)."""
    latest = convention.latest_assessment
    as_of = latest.as_of if latest else today
    breaches = {b.obligation: b for b in latest.breaches} if latest else {}
    rows = []
    for window in convention.windows:
        breach = breaches.get(window.id)
        if breach is not None and breach.established:
            state = "breached"
        elif breach is not None and breach.waived:
            state = "waived"
        elif breach is not None:
            state = "pending_decision"
        elif as_of < window.start:
            state = "not_started"
        elif as_of <= window.until:
            state = "running"
        else:
            state = "ended"
        rows.append({"id": window.id.value, "from": window.start, "until": window.until,
                     "wording": window.wording.value, "state": state})
    return rows


def _beneficiary(data: c.BeneficiaryIn) -> Beneficiary:
    figures = None
    if data.staff is not None or data.turnover is not None or data.balance_sheet is not None:
        missing = [n for n in ("staff", "turnover", "balance_sheet") if getattr(data, n) is None]
        if missing:
            msg = f"company figures need staff, turnover and balance_sheet; missing {', '.join(missing)}"
            raise InvalidValue(msg, field=f"beneficiary.{missing[0]}", value=None)
        figures = CompanyFigures(data.staff, Money(data.turnover), Money(data.balance_sheet))
    try:
        return Beneficiary(kind=data.kind, name=data.name, siren=data.siren, figures=figures)
    except InvalidValue as error:
        field = error.field if (error.field or "").startswith("beneficiary") else f"beneficiary.{error.field}"
        raise InvalidValue(error.message, field=field, value=error.value) from None


def _programme(data: c.ProgrammeIn) -> Programme:
    try:
        return Programme(data.start, data.end, Money(data.investment), data.jobs)
    except InvalidValue as error:
        raise InvalidValue(error.message, field=error.field or "programme", value=error.value) from None


def _split(cmd: c.AwardStep, terms: SchemeTerms) -> AwardSplit:
    parts = {k: getattr(cmd, k) for k in ("grant", "advance", "loan", "equity")}
    given = {k: v for k, v in parts.items() if v is not None}
    if not given:
        if len(terms.instruments) != 1:
            offered = ", ".join(i.value for i in terms.instruments)
            msg = f"this scheme offers several instruments ({offered}): give the split of the amount"
            raise DomainRuleViolation(msg, field="grant", value=None)
        given = {terms.instruments[0].value: cmd.amount}
    split = AwardSplit(**{k: Money(v) for k, v in given.items()})
    if split.total.amount != cmd.amount:
        msg = f"the split ({split.total}) does not add up to the amount {Money(cmd.amount)}"
        raise DomainRuleViolation(msg, field="amount", value=str(cmd.amount))
    return split


def business_date(state: Mapping[str, Any]) -> date | None:
    """The business date an event is about: its ``on``-like field, or its decision's date."""
    for key in BUSINESS_DATE_FIELDS:
        value = state.get(key)
        if isinstance(value, date):
            return value
    for value in state.values():
        if attrs.has(type(value)):
            found = business_date({f.name: getattr(value, f.name) for f in attrs.fields(type(value))})
            if found is not None:
                return found
    return None


def to_primitive(value: Any) -> Any:  # noqa: ANN401, PLR0911 - walks any stored value
    """JSON-ready primitives for any event value (attrs objects become dicts)."""
    if isinstance(value, Money | Siren | Siret):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, UUID):
        return str(value)
    if attrs.has(type(value)):
        return {f.name: to_primitive(getattr(value, f.name)) for f in attrs.fields(type(value))}
    if isinstance(value, Mapping):
        return {str(k): to_primitive(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_primitive(v) for v in value]
    return value
