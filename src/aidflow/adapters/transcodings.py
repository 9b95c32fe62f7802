"""One transcoding per type that appears in an event, registered in one place (STYLE G6).

Names are part of the stored format: never rename one. Attrs value objects are
stored as a dict of their fields; nested values are transcoded recursively by
eventsourcing's JSONTranscoder, and tuple/enum fields are rebuilt by the value
classes' converters.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import attrs
from eventsourcing.persistence import JSONTranscoder, Transcoding

from aidflow.domain import advances, aid_application, clawback, convention, obligations, scheme, values
from aidflow.domain import call as call_domain
from aidflow.domain import candidacy as candidacy_domain
from aidflow.domain import framework as framework_domain


class DateAsISO(Transcoding):
    """``datetime.date`` as ``YYYY-MM-DD`` (eventsourcing 9.5 registers no date transcoding)."""

    type = date
    name = "date_iso"

    def encode(self, obj: date) -> str:
        return obj.isoformat()

    def decode(self, data: str) -> date:
        return date.fromisoformat(data)


class MoneyAsStr(Transcoding):
    """Money as its 2-place decimal string."""

    type = values.Money
    name = "money"

    def encode(self, obj: values.Money) -> str:
        return str(obj)

    def decode(self, data: str) -> values.Money:
        return values.Money(data)


class SirenAsStr(Transcoding):
    type = values.Siren
    name = "siren"

    def encode(self, obj: values.Siren) -> str:
        return obj.value

    def decode(self, data: str) -> values.Siren:
        return values.Siren(data)


class SiretAsStr(Transcoding):
    type = values.Siret
    name = "siret"

    def encode(self, obj: values.Siret) -> str:
        return obj.value

    def decode(self, data: str) -> values.Siret:
        return values.Siret(data)


class AttrsAsDict(Transcoding):
    """A frozen attrs value object as the dict of its fields."""

    def __init__(self, cls: type[Any], name: str) -> None:
        self.type = cls
        self.name = name

    def encode(self, obj: Any) -> dict[str, Any]:  # noqa: ANN401 - any attrs instance
        return {f.name: getattr(obj, f.name) for f in attrs.fields(type(obj))}

    def decode(self, data: dict[str, Any]) -> Any:  # noqa: ANN401 - any attrs instance
        return self.type(**data)


ATTRS_VALUE_TYPES: dict[str, type[Any]] = {
    "company_figures": values.CompanyFigures,
    "beneficiary": values.Beneficiary,
    "site": values.Site,
    "legal_reference": values.LegalReference,
    "date_range": values.DateRange,
    "programme": values.Programme,
    "award_split": values.AwardSplit,
    "instrument_ceiling": scheme.InstrumentCeiling,
    "scheme_terms": scheme.SchemeTerms,
    "origin": aid_application.Origin,
    "decision": aid_application.Decision,
    "award": aid_application.Award,
    "rejection": aid_application.Rejection,
    "payment": convention.Payment,
    "completion": convention.Completion,
    "money_movement": convention.MoneyMovement,
    "waiver": convention.Waiver,
    "amendment": convention.Amendment,
    "terms_in_force": convention.TermsInForce,
    "convention_terms": obligations.ConventionTerms,
    "monitoring_fact": obligations.MonitoringFact,
    "dated_amount": clawback.DatedAmount,
    "breach_decision": clawback.BreachDecision,
    "breach": clawback.Breach,
    "clawback_assessment": clawback.ClawbackAssessment,
    "instalment": advances.Instalment,
    "call_terms": call_domain.CallTerms,
    "call_wave": call_domain.Wave,
    "call_strand": call_domain.Strand,
    "call_admission": call_domain.Admission,
    "member_requirement": call_domain.MemberRequirement,
    "consortium_rules": call_domain.ConsortiumRules,
    "priority_criterion": call_domain.PriorityCriterion,
    "selection_criterion": call_domain.SelectionCriterion,
    "partner": call_domain.Partner,
    "criterion_score": call_domain.CriterionScore,
    "scoring": candidacy_domain.Scoring,
    "label": candidacy_domain.Label,
    "selection": candidacy_domain.Selection,
    "member_application": candidacy_domain.MemberApplication,
    "framework_party": framework_domain.Party,
    "framework_article": framework_domain.Article,
    "framework_term": framework_domain.FrameworkTerm,
    "framework_renewal_clause": framework_domain.RenewalClause,
    "framework_governance_body": framework_domain.GovernanceBody,
    "framework_child_kind": framework_domain.ChildKind,
    "framework_meeting": framework_domain.Meeting,
    "framework_child_contract": framework_domain.ChildContract,
    "framework_amendment": framework_domain.FrameworkAmendment,
    "framework_renewal": framework_domain.Renewal,
    "framework_termination": framework_domain.Termination,
}
"""Stored name → attrs class. Add new value types here (and nowhere else)."""


def register_transcodings(transcoder: JSONTranscoder) -> None:
    """Register every aidflow transcoding on an eventsourcing JSONTranscoder."""
    for transcoding in (DateAsISO(), MoneyAsStr(), SirenAsStr(), SiretAsStr()):
        transcoder.register(transcoding)
    for name, cls in ATTRS_VALUE_TYPES.items():
        transcoder.register(AttrsAsDict(cls, name))
