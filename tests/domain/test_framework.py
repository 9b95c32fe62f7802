# Copyright (C) 2026 aidflow developers. SPDX-License-Identifier: MIT
"""The Framework aggregate (convention-cadre): term, governance, children, amendments, renewal, end.

Modelled on the convention-cadre of 6 September 2016 (004_303e0234a63aebae.txt L54-58,
L552-564); renewal, amendment and termination follow the aidflow defaults of
:mod:`aidflow.domain.framework`.
"""

from __future__ import annotations

from datetime import date
from typing import Any, cast

import pytest

from aidflow.domain.errors import DateOutOfOrder, DomainRuleViolation, InvalidTransition, InvalidValue
from aidflow.domain.framework import (
    AlertKind,
    Article,
    ChildContract,
    ChildKind,
    ChildOutlivesFramework,
    Framework,
    FrameworkAmendment,
    FrameworkStatus,
    FrameworkTerm,
    GovernanceBody,
    Meeting,
    Party,
    RenewalClause,
    RenewalMode,
    TerminationKind,
)

SIGNED = date(2016, 9, 6)
REGION = "Région Occitanie"
MONTPELLIER = "Académie de Montpellier"
TOULOUSE = "Académie de Toulouse"
COPIL = GovernanceBody("COPIL", "Comité de pilotage", (REGION, MONTPELLIER, TOULOUSE), every_months=12)


def framework(renewal: RenewalClause | None = None, end: date = date(2021, 12, 31), **kw: Any) -> Framework:
    return Framework.sign(
        reference="CC-2016", kind="convention_cadre", title="Une ambition partagée",
        object_="Orientations stratégiques partagées",
        parties=kw.pop("parties", (Party(REGION, "signatory"), Party(MONTPELLIER, "signatory"),
                                   Party(TOULOUSE, "signatory"))),
        articles=kw.pop("articles", (Article("1", "Objet de la convention"),
                                     Article("6", "Gouvernance pilotage et évaluation"))),
        term=FrameworkTerm(SIGNED, end, "de la date de sa signature jusqu'en 2021"),
        renewal=renewal or RenewalClause(),
        bodies=kw.pop("bodies", (COPIL,)),
        signed_on=SIGNED,
        child_kinds=(ChildKind("contrat_objectifs_tripartite", "Contrat d'objectifs tripartite"),),
        **kw,
    )


def child(reference: str = "COT-1", end: date = date(2020, 8, 31), **kw: Any) -> ChildContract:
    values: dict[str, Any] = {
        "reference": reference, "title": "Lycée Déodat de Séverac", "kind": "contrat_objectifs_tripartite",
        "parties": (REGION, "Rectorat de Toulouse", "Lycée Déodat de Séverac"),
        "signed_on": date(2017, 9, 1), "start": date(2017, 9, 1), "end": end,
    }
    values.update(kw)
    return ChildContract(**values)


def meeting(on: date, body: str = "COPIL") -> Meeting:
    return Meeting(body, on, (REGION, MONTPELLIER, TOULOUSE), ("priorités 2018",))


# ---------------------------------------------------------------- signature


def test_a_framework_binds_two_or_more_parties():
    with pytest.raises(InvalidValue) as refused:
        framework(parties=(Party(REGION, "signatory"),))
    assert refused.value.field == "parties"


def test_a_party_or_an_article_number_twice_is_refused():
    with pytest.raises(InvalidValue) as twice:
        framework(parties=(Party(REGION, "signatory"), Party(REGION, "funder")))
    assert twice.value.field == "parties.1.organisation"
    with pytest.raises(InvalidValue) as article:
        framework(articles=(Article("1", "Objet"), Article("1", "Objet bis")))
    assert article.value.field == "articles.1.number"


def test_the_term_runs_from_signature_until_its_end_both_included():
    f = framework()
    assert f.status_on(date(2016, 9, 5)) is FrameworkStatus.NOT_STARTED
    assert f.status_on(SIGNED) is FrameworkStatus.IN_FORCE
    assert f.status_on(date(2021, 12, 31)) is FrameworkStatus.IN_FORCE
    assert f.status_on(date(2022, 1, 1)) is FrameworkStatus.EXPIRED


def test_a_term_ending_before_the_signature_is_refused():
    with pytest.raises(InvalidValue):
        Framework.sign("X", "convention_cadre", "t", "o", (Party("A", "signatory"), Party("B", "signatory")),
                       (), FrameworkTerm(date(2010, 1, 1), date(2015, 1, 1)), RenewalClause(), (), SIGNED)


# ---------------------------------------------------------------- governance


def test_a_meeting_is_recorded_once_and_needs_a_known_body():
    f = framework()
    assert f.record_meeting(meeting(date(2017, 6, 12)))
    assert not f.record_meeting(meeting(date(2017, 6, 12)))
    with pytest.raises(DomainRuleViolation) as unknown:
        f.record_meeting(meeting(date(2017, 7, 1), body="CODIR"))
    assert (unknown.value.field, unknown.value.value) == ("body", "CODIR")
    assert len(f.meetings) == 1


def test_a_meeting_outside_the_term_is_refused():
    with pytest.raises(InvalidTransition):
        framework().record_meeting(meeting(date(2022, 3, 1)))
    with pytest.raises(DateOutOfOrder):
        framework().record_meeting(meeting(date(2016, 1, 1)))


def test_meeting_attendees_are_required():
    with pytest.raises(InvalidValue):
        Meeting("COPIL", date(2017, 1, 1), ())


def test_a_committee_that_has_not_met_within_its_frequency_raises_an_alert():
    f = framework()
    assert f.alerts(date(2017, 9, 6), 0) == ()
    (alert,) = f.alerts(date(2017, 9, 7), 0)
    assert (alert.kind, alert.body, alert.due) == (AlertKind.COMMITTEE_OVERDUE, "COPIL", date(2017, 9, 6))
    assert "has never met" in alert.message

    f.record_meeting(meeting(date(2017, 6, 12)))
    assert f.alerts(date(2017, 9, 7), 0) == ()
    (later,) = f.alerts(date(2018, 6, 13), 0)
    assert later.due == date(2018, 6, 12)
    assert "last met on 2017-06-12" in later.message


def test_a_body_without_a_minimum_frequency_never_alerts():
    f = framework(bodies=(GovernanceBody("NUM", "Instance unique du numérique"),))
    assert f.alerts(date(2020, 1, 1), 0) == ()


def test_a_framework_reaching_its_term_within_n_days_raises_an_alert():
    f = framework()
    f.record_meeting(meeting(date(2021, 6, 1)))
    assert f.alerts(date(2021, 10, 1), 90) == ()
    (alert,) = f.alerts(date(2021, 10, 2), 90)
    assert (alert.kind, alert.due) == (AlertKind.TERM_APPROACHING, date(2021, 12, 31))
    assert "(90 days)" in alert.message


def test_an_expired_framework_raises_no_alert():
    assert framework().alerts(date(2022, 6, 1), 365) == ()


# ---------------------------------------------------------------- children


def test_a_child_within_the_term_is_linked():
    f = framework()
    f.link_child(child())
    assert list(f.children) == ["COT-1"]


def test_a_child_never_outlives_its_framework_without_an_explicit_renewal():
    f = framework()
    with pytest.raises(ChildOutlivesFramework) as refused:
        f.link_child(child(end=date(2022, 8, 31)))
    assert (refused.value.field, refused.value.value) == ("end", "2022-08-31")
    assert f.collect_events()[-1].__class__.__qualname__ == "Framework.Signed"

    f.renew(date(2021, 6, 1), date(2024, 12, 31))
    f.link_child(child(end=date(2022, 8, 31), signed_on=date(2021, 9, 1), start=date(2021, 9, 1)))
    assert f.children["COT-1"].end == date(2022, 8, 31)


def test_a_tacit_roll_over_does_not_let_a_child_outlive_the_recorded_end():
    f = framework(RenewalClause(RenewalMode.TACIT, period_months=36))
    assert f.ends_on(date(2022, 6, 1)) == date(2024, 12, 31)
    with pytest.raises(ChildOutlivesFramework):
        f.link_child(child(end=date(2022, 8, 31)))


def test_a_child_of_an_undeclared_kind_or_twice_is_refused():
    f = framework()
    with pytest.raises(DomainRuleViolation) as kind:
        f.link_child(child(kind="marché"))
    assert kind.value.field == "kind"
    f.link_child(child())
    with pytest.raises(DomainRuleViolation) as twice:
        f.link_child(child())
    assert twice.value.field == "reference"


# ---------------------------------------------------------------- amendments


def test_an_amendment_replaces_articles_adds_bodies_and_parties_and_moves_the_end():
    f = framework()
    f.amend(FrameworkAmendment(
        1, date(2019, 1, 15), "avenant de prolongation", end=date(2023, 12, 31),
        articles=(Article("6", "Gouvernance, pilotage et évaluation (modifié)"), Article("7", "Durée")),
        bodies=(GovernanceBody("NUM", "Instance du numérique", every_months=6),),
        parties=(Party("Rectorat de région", "partner"),),
    ))
    assert [a.number for a in f.articles] == ["1", "6", "7"]
    assert f.articles[1].title.endswith("(modifié)")
    assert [b.code for b in f.bodies] == ["COPIL", "NUM"]
    assert len(f.parties) == 4
    assert f.end == date(2023, 12, 31)
    assert f.status_on(date(2023, 6, 1)) is FrameworkStatus.IN_FORCE


def test_amendment_numbers_strictly_increase_and_dates_never_go_back():
    f = framework()
    f.amend(FrameworkAmendment(2, date(2019, 1, 15), "a", articles=(Article("7", "Durée"),)))
    with pytest.raises(DomainRuleViolation) as number:
        f.amend(FrameworkAmendment(2, date(2019, 2, 1), "b", articles=(Article("8", "x"),)))
    assert number.value.field == "number"
    with pytest.raises(DateOutOfOrder):
        f.amend(FrameworkAmendment(3, date(2019, 1, 1), "c", articles=(Article("8", "x"),)))


def test_an_amendment_cannot_end_the_framework_before_a_child():
    f = framework()
    f.link_child(child(end=date(2020, 8, 31)))
    with pytest.raises(ChildOutlivesFramework) as refused:
        f.amend(FrameworkAmendment(1, date(2019, 1, 15), "shorten", end=date(2019, 12, 31)))
    assert refused.value.field == "end"


def test_an_empty_amendment_or_an_existing_party_is_refused():
    f = framework()
    with pytest.raises(DomainRuleViolation):
        f.amend(FrameworkAmendment(1, date(2019, 1, 15), "nothing"))
    with pytest.raises(DomainRuleViolation) as party:
        f.amend(FrameworkAmendment(1, date(2019, 1, 15), "again", parties=(Party(REGION, "funder"),)))
    assert party.value.field == "parties.0.organisation"


# ---------------------------------------------------------------- renewal and termination


def test_a_non_renewable_framework_cannot_be_renewed():
    with pytest.raises(InvalidTransition):
        framework(RenewalClause(RenewalMode.NONE)).renew(date(2021, 6, 1), date(2024, 12, 31))


def test_a_renewal_runs_past_the_current_end_and_respects_the_maximum():
    f = framework(RenewalClause(RenewalMode.EXPLICIT, period_months=36, max_renewals=1))
    with pytest.raises(DateOutOfOrder):
        f.renew(date(2021, 6, 1), date(2021, 12, 31))
    f.renew(date(2021, 6, 1), date(2024, 12, 31))
    with pytest.raises(DomainRuleViolation):
        f.renew(date(2024, 6, 1), date(2027, 12, 31))


def test_an_expired_framework_cannot_be_renewed():
    with pytest.raises(InvalidTransition):
        framework().renew(date(2022, 2, 1), date(2024, 12, 31))


def test_tacit_renewal_rolls_over_until_notice_of_non_renewal():
    f = framework(RenewalClause(RenewalMode.TACIT, period_months=36, notice_months=6))
    assert f.status_on(date(2026, 1, 1)) is FrameworkStatus.IN_FORCE
    assert f.ends_on(date(2026, 1, 1)) == date(2027, 12, 31)
    with pytest.raises(DateOutOfOrder) as late:
        f.terminate(TerminationKind.TERM, date(2021, 8, 1))
    assert late.value.field == "on"
    f.terminate(TerminationKind.TERM, date(2021, 6, 1))
    assert f.ends_on(date(2026, 1, 1)) == date(2021, 12, 31)
    assert f.status_on(date(2022, 1, 1)) is FrameworkStatus.EXPIRED


def test_a_tacit_framework_alert_says_when_notice_is_due():
    f = framework(RenewalClause(RenewalMode.TACIT, period_months=36, notice_months=6))
    f.record_meeting(meeting(date(2021, 6, 1)))
    (alert,) = f.alerts(date(2021, 11, 1), 90)
    assert "unless notice is given by 2021-06-30" in alert.message


def test_termination_by_notice_respects_the_notice_and_curtails_children():
    f = framework(RenewalClause(RenewalMode.EXPLICIT, notice_months=3))
    f.link_child(child(end=date(2020, 8, 31)))
    with pytest.raises(DateOutOfOrder) as short:
        f.terminate(TerminationKind.NOTICE, date(2019, 1, 1), date(2019, 3, 1))
    assert short.value.field == "effective_on"
    f.terminate(TerminationKind.NOTICE, date(2019, 1, 1), date(2019, 6, 30), "réorganisation")
    assert f.status_on(date(2019, 7, 1)) is FrameworkStatus.TERMINATED
    assert f.child_end(f.children["COT-1"]) == date(2019, 6, 30)
    with pytest.raises(InvalidTransition):
        f.terminate(TerminationKind.NOTICE, date(2019, 2, 1), date(2019, 6, 30))
    with pytest.raises(ChildOutlivesFramework):
        f.link_child(child("COT-2", end=date(2019, 12, 31), signed_on=date(2019, 2, 1),
                           start=date(2019, 2, 1)))


def test_replaying_the_events_gives_the_same_framework():
    f = framework(RenewalClause(RenewalMode.EXPLICIT, period_months=36))
    f.record_meeting(meeting(date(2017, 6, 12)))
    f.link_child(child())
    f.amend(FrameworkAmendment(1, date(2019, 1, 15), "a", articles=(Article("7", "Durée"),)))
    f.renew(date(2021, 6, 1), date(2024, 12, 31))
    f.terminate(TerminationKind.NOTICE, date(2022, 1, 10), date(2023, 6, 30))
    replayed: Framework | None = None
    for domain_event in f.collect_events():
        replayed = cast("Framework", cast("Any", domain_event).mutate(replayed))
    assert replayed is not None
    for name in ("parties", "articles", "bodies", "end", "meetings", "children", "amendments", "renewals",
                 "termination", "term", "renewal"):
        assert getattr(replayed, name) == getattr(f, name), name


def test_a_non_renewal_given_during_a_tacit_roll_over_ends_the_framework_at_that_period_end():
    """Rolled over once (2021-12-31 → 2024-12-31), then notice of non-renewal in 2024."""
    f = framework(RenewalClause(RenewalMode.TACIT, period_months=36, notice_months=6))
    assert f.ends_on(date(2024, 3, 1)) == date(2024, 12, 31)

    f.terminate(TerminationKind.TERM, date(2024, 3, 1))

    assert f.termination is not None
    assert f.termination.effective_on == date(2024, 12, 31)
    assert f.ends_on(date(2024, 3, 1)) == date(2024, 12, 31)
    assert f.status_on(date(2024, 7, 1)) is FrameworkStatus.IN_FORCE  # the notice period runs
    f.record_meeting(meeting(date(2024, 9, 1)))  # still in force: a meeting is accepted
    assert f.status_on(date(2025, 1, 1)) is FrameworkStatus.EXPIRED
    with pytest.raises(InvalidTransition, match="terminated"):
        f.renew(date(2024, 9, 1), date(2027, 12, 31))
