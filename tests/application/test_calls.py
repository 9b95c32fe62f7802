# Copyright (C) 2026 aidflow developers. SPDX-License-Identifier: MIT
"""Calls through the application service: candidacies, selection, lineage, call files, CLI, fixture.

Sources: RULES.md §2 (calls; each funded partner goes through its own eligibility and
convention); seeds-000-001-003-004.md §2.1 (the AMI CMA fixture and its totals).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from aidflow.adapters.calls_cli import calls_cli
from aidflow.adapters.demo_call import DEMO_CALL_CODE, record_demo_call
from aidflow.adapters.fixtures import CMA_PUBLISHED_BUDGET, CMA_PUBLISHED_GRANTED, cma_call_file, load_cma
from aidflow.application.calls import (
    CallNotFound,
    CallStepRefused,
    CandidacyNotFound,
    parse_call_text,
    run_call_file,
)
from aidflow.application.errors import AlreadyExists, InputError, NotFound, SchemeNotFound
from aidflow.domain.aid_application import Origin
from aidflow.domain.call import CompositionRefused, DeadlinePassed, EnvelopeExceeded
from aidflow.domain.candidacy import Candidacy, CandidacyStatus
from aidflow.domain.errors import DomainRuleViolation, InvalidTransition, InvalidValue, NotAdmitted
from calls_data import (
    CALL,
    ESN_SIREN,
    ESN_SIRET,
    App,
    call_command,
    esn,
    lab,
    reject_command,
    retain_command,
    score_command,
    sme,
    submit_command,
)

ELIGIBILITY = {
    "on": "2024-05-10", "tax_and_social_compliant": True, "equity": "900000.00",
    "court_proceedings": False, "real_estate": False,
    "commitments": ["environmental_footprint", "non_discrimination", "decent_work", "career_development"],
    "environmental_measures": "Sobriété énergétique des serveurs",
}
SELF_DIAGNOSIS = {"on": "2024-05-05", "module": "full",
                  "scores": {"impact_strategy": 60, "social_impact": 55, "ecological_impact": 50,
                             "power_sharing": 50, "value_sharing": 55}}


@pytest.fixture
def calls_app(store_url: str) -> Iterator[App]:
    """``Aidflow`` with ``CallVerbs`` on a fresh store of each kind."""
    application = App(store=store_url)
    try:
        yield application
    finally:
        application.close()


@pytest.fixture
def mem() -> Iterator[App]:
    application = App(store="memory:")
    try:
        yield application
    finally:
        application.close()


def published(app: App, **overrides: Any) -> App:
    app.publish_call(call_command(**overrides))
    return app


def retained(app: App, project: str = "P-01", **overrides: Any) -> App:
    """Publish, submit, score and retain ``project`` (SME lead + lab + ESN; 240 000 €)."""
    if not app.calls():
        published(app)
    app.submit_candidacy(CALL, submit_command(project, **overrides))
    app.score_candidacy(project, score_command())
    app.retain_candidacy(project, retain_command())
    return app


# ------------------------------------------------------------------ calls


def test_a_published_call_shows_its_terms(calls_app):
    published(calls_app)
    view = calls_app.call_view(CALL)
    assert (view.kind, view.scheme, view.envelope, view.retained) == (
        "AAP", "CONTRAT-INNOVATION", Decimal("1000000.00"), Decimal("0.00"))
    assert [(w.code, w.deadline, w.envelope) for w in view.waves] == [
        ("W1", date(2024, 3, 31), Decimal("600000.00")), ("W2", date(2024, 9, 30), None)]
    assert view.strands == [{"code": "COLLAB", "title": "Projets collaboratifs",
                             "min_rate": Decimal("0.10"), "max_rate": Decimal("0.50")}]


def test_a_call_code_is_published_once(mem):
    published(mem)
    with pytest.raises(AlreadyExists) as refused:
        published(mem)
    assert refused.value.field == "code"


def test_a_call_naming_an_unknown_scheme_is_refused(mem):
    with pytest.raises(SchemeNotFound) as refused:
        mem.publish_call(call_command(scheme="NOPE"))
    assert refused.value.value == "NOPE"
    assert mem.event_count() == 0


@pytest.mark.parametrize(("override", "field"), [
    ({"envelope": 1000.5}, "envelope"),
    ({"kind": "RFP"}, "kind"),
    ({"strands": []}, "strands"),
])
def test_malformed_call_input_names_the_field(mem, override, field):
    with pytest.raises(InputError) as refused:
        mem.publish_call(call_command(**override))
    assert refused.value.field == field
    assert mem.event_count() == 0


def test_unknown_calls_and_projects_are_named(mem):
    with pytest.raises(CallNotFound):
        mem.call_view("NOPE")
    with pytest.raises(CandidacyNotFound) as refused:
        mem.candidacy("NOPE")
    assert (refused.value.field, refused.value.value) == ("project", "NOPE")


# -------------------------------------------------------------- candidacies


def test_a_candidacy_is_recorded_with_its_members_and_the_call_receives_it(calls_app):
    published(calls_app)
    calls_app.submit_candidacy(CALL, submit_command())
    project = calls_app.call_view(CALL).projects[0]
    assert (project.reference, project.status, project.lead, project.wave) == (
        "P-01", "submitted", "Atelier Lauragais SAS", "W1")
    assert (project.budget, project.requested, project.rate_percent) == (
        Decimal("700000.00"), Decimal("240000.00"), Decimal("34.29"))
    assert project.priorities == ["OUTSIDE-METROPOLES"]
    assert [(m.index, m.role, m.size) for m in project.members] == [
        (0, "regional SME", "small"), (1, "research lab", None), (2, "ESN", "small")]
    assert calls_app.call(CALL).received == {"P-01": "W1"}


def test_a_late_candidacy_is_refused_and_never_recorded(mem):
    published(mem)
    before = mem.event_count()
    with pytest.raises(DeadlinePassed) as refused:
        mem.submit_candidacy(CALL, submit_command(on="2024-04-01"))
    assert (refused.value.field, refused.value.value) == ("on", "2024-04-01")
    assert "the deadline of wave W1 was 2024-03-31" in str(refused.value)
    assert mem.event_count() == before
    with pytest.raises(CandidacyNotFound):
        mem.candidacy("P-01")


def test_every_consortium_failure_is_reported_and_nothing_is_recorded(mem):
    published(mem)
    before = mem.event_count()
    lead_lab = lab(requested="1000.00")
    toulouse_big = esn(siren=None, siret=None, staff=None, turnover=None, balance_sheet=None, size="large")
    with pytest.raises(CompositionRefused) as refused:
        mem.submit_candidacy(CALL, submit_command(lead=lead_lab, partners=[toulouse_big]))
    assert [(f.rule, f.field) for f in refused.value.failures] == [
        ("admission.company_sizes", "partners[0].size"),
        ("consortium.lead_kinds", "lead.kind"),
        ("consortium.required", "partners"),
    ]
    assert mem.event_count() == before


def test_a_member_input_error_names_the_member(mem):
    published(mem)
    with pytest.raises(InvalidValue) as refused:
        mem.submit_candidacy(CALL, submit_command(partners=[lab(), esn(budget="1.00", requested="2.00")]))
    assert (refused.value.field, refused.value.value) == ("partners[1].requested", "2.00")
    with pytest.raises(InputError) as malformed:
        mem.submit_candidacy(CALL, submit_command(partners=[lab(), esn(siren="123")]))
    assert malformed.value.field == "partners.1.siren"


def test_a_project_reference_is_used_once_and_lineage_needs_a_known_project(mem):
    published(mem)
    mem.submit_candidacy(CALL, submit_command())
    with pytest.raises(AlreadyExists):
        mem.submit_candidacy(CALL, submit_command())
    with pytest.raises(CandidacyNotFound) as unknown:
        mem.submit_candidacy(CALL, submit_command("P-02", derived_from="P-00"))
    assert unknown.value.value == "P-00"
    mem.submit_candidacy(CALL, submit_command("P-02", derived_from="P-01"))
    assert mem.candidacy("P-02").derived_from == "P-01"


def test_amend_until_the_deadline_then_withdraw(mem):
    published(mem)
    mem.submit_candidacy(CALL, submit_command())
    period = mem.candidacy("P-01").period
    mem.amend_candidacy("P-01", {"on": "2024-03-31", "lead": sme(budget="500000.00"),
                                 "partners": [lab(), esn()], "title": "Jumeau v2"})
    candidacy = mem.candidacy("P-01")
    assert (candidacy.title, candidacy.budget.amount, candidacy.period) == (
        "Jumeau v2", Decimal("800000.00"), period)
    with pytest.raises(DeadlinePassed):
        mem.amend_candidacy("P-01", {"on": "2024-04-01", "lead": sme(), "partners": [lab(), esn()]})
    mem.withdraw_candidacy("P-01", {"on": "2024-04-02", "reason": "partner left"})
    view = mem.call_view(CALL).projects[0]
    assert (view.status, view.reasons) == ("withdrawn", ["partner left"])


# ---------------------------------------------------------------- selection


def test_scores_rank_the_candidacies_within_the_envelope(mem):
    published(mem)
    mem.submit_candidacy(CALL, submit_command("P-01"))
    toulouse = sme(commune="Toulouse", department="31")
    mem.submit_candidacy(CALL, submit_command("P-02", lead=toulouse))
    mem.submit_candidacy(CALL, submit_command("P-03", lead=sme(budget="1100000.00", requested="500000.00")))
    mem.score_candidacy("P-01", score_command(scores={"INNOVATION": "12", "IMPACT": "12"}))
    mem.score_candidacy("P-02", score_command(scores={"INNOVATION": "12", "IMPACT": "12"}))
    mem.score_candidacy("P-03", score_command(scores={"INNOVATION": "18", "IMPACT": "10"}))
    ranking = mem.call_ranking(CALL)
    # P-03 scores best; P-01 and P-02 tie, P-01 meets the priority (SME outside the metropolises).
    assert [(r.rank, r.project, r.score, r.within_envelope) for r in ranking] == [
        (1, "P-03", Decimal("16.00"), True), (2, "P-01", Decimal("12.00"), True),
        (3, "P-02", Decimal("12.00"), False)]
    assert ranking[-1].cumulative == Decimal("1060000.00")


def test_retention_records_the_decision_the_split_and_the_label(calls_app):
    retained(calls_app)
    view = calls_app.call_view(CALL)
    project = view.projects[0]
    assert (project.status, project.granted, project.rate_percent, project.score) == (
        "retained", Decimal("240000.00"), Decimal("34.29"), Decimal("15.00"))
    assert project.decision == {"retained": True, "body": "commission permanente",
                                "deliberation": "CP/2024-04/05.01", "on": date(2024, 4, 20)}
    assert project.label == {"name": "Lauréat AAP collaboratif", "granted_on": date(2024, 4, 20),
                             "expires_on": date(2026, 12, 31)}
    assert [m.granted for m in project.members] == [
        Decimal("160000.00"), Decimal("0.00"), Decimal("80000.00")]
    assert (view.retained, view.remaining) == (Decimal("240000.00"), Decimal("760000.00"))
    assert view.waves[0].retained == Decimal("240000.00")


def test_a_retention_over_the_envelope_is_refused_and_nothing_is_recorded(mem):
    published(mem, envelope="400000.00", waves=[{"code": "W1", "label": "1", "deadline": "2024-03-31"},
                                                {"code": "W2", "label": "2", "deadline": "2024-09-30"}])
    retained(mem, "P-01")
    mem.submit_candidacy(CALL, submit_command("P-02"))
    before = mem.event_count()
    with pytest.raises(EnvelopeExceeded) as refused:
        mem.retain_candidacy("P-02", retain_command(granted="160000.01"))
    assert (refused.value.field, refused.value.value) == ("granted", "160000.01")
    assert mem.event_count() == before
    assert mem.candidacy("P-02").status is CandidacyStatus.SUBMITTED
    mem.retain_candidacy("P-02", retain_command(granted="160000.00"))
    assert mem.call(CALL).retained_total == mem.call(CALL).terms.envelope


def test_a_rejection_states_its_reasons(mem):
    published(mem)
    mem.submit_candidacy(CALL, submit_command())
    mem.reject_candidacy("P-01", reject_command())
    project = mem.call_view(CALL).projects[0]
    assert (project.status, project.decision["retained"], project.reasons) == (
        "not_retained", False, ["insufficient regional impact"])
    with pytest.raises(InvalidTransition):
        mem.retain_candidacy("P-01", retain_command())


# ------------------------------------------------------------------ lineage


def test_a_retained_project_opens_one_application_per_funded_partner(calls_app):
    retained(calls_app)
    references = calls_app.open_member_applications("P-01", {"on": "2024-05-01"})
    assert references == ["P-01-0", "P-01-2"]  # the lab requested nothing: it opens no application
    lead = calls_app.application("P-01-0")
    esn_application = calls_app.application("P-01-2")
    assert lead.origin == Origin(call=CALL, project="P-01", partner_role="lead")
    assert esn_application.origin == Origin(call=CALL, project="P-01", partner_role="ESN")
    assert (esn_application.scheme_code, esn_application.requested.amount,
            esn_application.programme.investment.amount, str(esn_application.beneficiary.siren),
            str(esn_application.site.siret)) == (
        "CONTRAT-INNOVATION", Decimal("80000.00"), Decimal("200000.00"), ESN_SIREN, ESN_SIRET)
    assert esn_application.status.value == "submitted"


def test_each_partner_goes_through_its_own_eligibility_and_convention(mem):
    retained(mem)
    mem.open_member_applications("P-01", {"on": "2024-05-01"})
    for reference, amount in (("P-01-0", "160000.00"), ("P-01-2", "80000.00")):
        mem.self_diagnosis(reference, SELF_DIAGNOSIS)
        mem.check_eligibility(reference, ELIGIBILITY)
        half = str(Decimal(amount) / 2)
        mem.award(reference, {"on": "2024-06-01", "amount": amount, "grant": half, "advance": half,
                              "body": "commission permanente", "deliberation": "CP/2024-06/01.01"})
        mem.sign(reference, {"on": "2024-06-15", "convention": f"CONV-{reference}"})
    convention = mem.convention("CONV-P-01-2")
    assert convention.origin == Origin(call=CALL, project="P-01", partner_role="ESN")
    members = mem.call_view(CALL).projects[0].members
    assert [(m.application, m.application_status, m.convention) for m in members] == [
        ("P-01-0", "signed", "CONV-P-01-0"), (None, None, None), ("P-01-2", "signed", "CONV-P-01-2")]


def test_applications_are_opened_once(mem):
    retained(mem)
    mem.open_member_applications("P-01", {"on": "2024-05-01"})
    with pytest.raises(InvalidTransition):
        mem.open_member_applications("P-01", {"on": "2024-05-02"})


def test_an_interrupted_opening_resumes_and_a_foreign_reference_is_refused(mem):
    retained(mem)
    first = mem.candidacy("P-01")
    assert first.status is CandidacyStatus.RETAINED
    # As if a previous run had submitted the lead's application, then stopped.
    mem.submit({"reference": "P-01-0", "scheme": "CONTRAT-INNOVATION", "on": "2024-05-01",
                "requested": "160000.00",
                "beneficiary": {k: sme()[k] for k in ("kind", "name", "siren", "staff", "turnover",
                                                      "balance_sheet")},
                "site": {"commune": "Castelnaudary", "department": "11", "siret": sme()["siret"]},
                "programme": {"start": "2024-06-01", "end": "2026-05-31", "investment": "400000.00",
                              "jobs": 3}},
               origin=Origin(call=CALL, project="P-01", partner_role="lead"))
    assert mem.open_member_applications("P-01", {"on": "2024-05-01"}) == ["P-01-0", "P-01-2"]

    other = App(store="memory:")
    retained(other)
    other.submit({"reference": "P-01-2", "scheme": "CEA", "on": "2024-05-01", "requested": "1000.00",
                  "beneficiary": {k: esn()[k] for k in ("kind", "name", "siren", "staff", "turnover",
                                                        "balance_sheet")},
                  "site": {"commune": "Albi", "department": "81"},
                  "programme": {"start": "2024-06-01", "end": "2026-05-31", "investment": "1000.00",
                                "jobs": 0}})
    before = other.event_count()
    with pytest.raises(AlreadyExists) as refused:
        other.open_member_applications("P-01", {"on": "2024-05-01"})
    assert refused.value.field == "partners[1].application"
    assert other.event_count() == before


def test_a_partner_the_scheme_does_not_admit_is_named_and_nothing_is_opened(mem):
    retained(mem, partners=[lab(requested="40000.00"), esn()], lead=sme(requested="120000.00"))
    before = mem.event_count()
    with pytest.raises(NotAdmitted) as refused:
        mem.open_member_applications("P-01", {"on": "2024-05-01"})
    assert (refused.value.field, refused.value.value) == (
        "partners[0].beneficiary.kind", "research_organisation")
    assert mem.event_count() == before


def test_members_applications_and_the_candidacy_are_saved_together(calls_app, monkeypatch):
    """A failure after the applications are built (here: recording them on the candidacy)
    leaves no application behind: they are saved in the candidacy's transaction."""
    retained(calls_app)
    before = calls_app.event_count()

    def broken(*_: object) -> None:
        raise InvalidTransition("injected", field="do", value="open_applications")

    monkeypatch.setattr(Candidacy, "record_applications", broken)
    with pytest.raises(InvalidTransition, match="injected"):
        calls_app.open_member_applications("P-01", {"on": "2024-05-01"})

    assert calls_app.event_count() == before
    with pytest.raises(NotFound):
        calls_app.application("P-01-0")


def test_a_call_without_a_scheme_opens_no_applications(mem):
    mem.publish_call({k: v for k, v in call_command().items() if k != "scheme"})
    retained(mem)
    with pytest.raises(InvalidValue) as refused:
        mem.open_member_applications("P-01", {"on": "2024-05-01"})
    assert refused.value.field == "scheme"


def test_a_project_without_dates_cannot_open_applications(mem):
    retained(mem, start=None, end=None)
    with pytest.raises(InvalidValue) as refused:
        mem.open_member_applications("P-01", {"on": "2024-05-01"})
    assert refused.value.field == "start"


# ------------------------------------------------------------- the fixture


def test_the_cma_fixture_reproduces_the_published_totals(calls_app):
    view = load_cma(calls_app)
    assert len(view.projects) == 20
    assert all(p.status == "retained" for p in view.projects)
    assert view.retained == CMA_PUBLISHED_GRANTED == Decimal("116800861.00")
    assert view.budget_of_retained == CMA_PUBLISHED_BUDGET == Decimal("397005210.00")
    assert sum(p.budget for p in view.projects) == Decimal("397005210.00")
    # The six projects of the 2nd wave: 69 M€ (000_bd90f8cde4530014.txt L1006).
    assert {w.code: w.retained for w in view.waves}["2024-11"] == Decimal("69000000.00")


def test_the_cma_fixture_derives_the_published_rates_and_counts():
    app = App(store="memory:")
    view = load_cma(app)
    rates = {p.reference: p.rate_percent for p in view.projects}
    # Published « Taux de prise en charge », rounded inconsistently (seeds notes §2.1).
    assert rates["CMA-UNITEID"] == Decimal("57.47")  # shown as 57 %
    assert rates["CMA-GENHYO"] == Decimal("54.11")  # shown as 54 %
    assert rates["CMA-DECISO"] == Decimal("100.00")
    assert (Decimal(116800861) / Decimal(397005210) * 100).quantize(Decimal(1)) == 29  # « 29% », L1038
    counts: dict[tuple[str, str], int] = {}
    for p in view.projects:
        wave = "2023" if p.wave in ("2023-06", "2023-09") else p.wave
        counts[p.strand, wave] = counts.get((p.strand, wave), 0) + 1
    # 000_bd90f8cde4530014.txt L1058-1067: training 5 / 1 / 2 / 6, diagnostics 3 / 3.
    assert counts == {("FORM", "2022-07"): 5, ("FORM", "2022-11"): 1, ("FORM", "2023"): 2,
                      ("FORM", "2024-11"): 6, ("DIAG", "2022-07"): 3, ("DIAG", "2022-11"): 3}
    assert app.candidacy("CMA-COMETES").derived_from == "CMA-DACSO"
    with pytest.raises(InvalidValue):  # State-funded: no regional applications
        app.open_member_applications("CMA-COMETES", {"on": "2024-12-01"})


def test_loading_the_fixture_twice_records_nothing_more():
    app = App(store="memory:")
    load_cma(app)
    before = app.event_count()
    assert load_cma(app).retained == CMA_PUBLISHED_GRANTED
    assert app.event_count() == before


# --------------------------------------------------------------- call files


def call_file(*steps: dict[str, Any]) -> dict[str, Any]:
    return {"aidflow": "call/1", "call": call_command(), "steps": list(steps)}


def test_a_call_file_records_its_steps_in_order(calls_app):
    result = run_call_file(calls_app, call_file(
        {"do": "submit"} | submit_command(),
        {"do": "score", "project": "P-01"} | score_command(),
        {"do": "retain", "project": "P-01"} | retain_command(),
        {"do": "open_applications", "project": "P-01", "on": "2024-05-01"},
    ))
    assert (result.call, result.steps_recorded) == (CALL, 4)
    assert [m.application for m in result.state.projects[0].members] == ["P-01-0", None, "P-01-2"]


def test_a_refused_step_names_its_index_field_and_value_and_keeps_earlier_steps(mem):
    with pytest.raises(CallStepRefused) as refused:
        run_call_file(mem, call_file(
            {"do": "submit"} | submit_command("P-01"),
            {"do": "submit"} | submit_command("P-02", on="2024-04-01"),
            {"do": "submit"} | submit_command("P-03"),
        ))
    error = refused.value
    assert (error.index, error.do, error.field, error.value) == (1, "submit", "steps[1].on", "2024-04-01")
    assert error.message.startswith("step 1 (submit) refused at steps[1].on: cannot submit a candidacy")
    assert [p.reference for p in mem.call_view(CALL).projects] == ["P-01"]  # earlier kept, refused absent
    with pytest.raises(CandidacyNotFound):
        mem.candidacy("P-03")


def test_a_malformed_step_is_refused_with_its_field(mem):
    with pytest.raises(CallStepRefused) as refused:
        run_call_file(mem, call_file({"do": "submit"} | submit_command(lead=sme(budget=12.5))))
    assert refused.value.field == "steps[0].lead.budget"
    with pytest.raises(CallStepRefused) as unknown:
        run_call_file(App(store="memory:"), call_file({"do": "fly", "project": "P", "on": "2024-01-01"}))
    assert unknown.value.index == 0


def test_a_step_about_another_calls_project_is_refused(mem):
    run_call_file(mem, call_file({"do": "submit"} | submit_command()))
    other = call_file({"do": "withdraw", "project": "P-01", "on": "2024-03-10"})
    other["call"] = call_command(code="OTHER")
    with pytest.raises(CallStepRefused) as refused:
        run_call_file(mem, other)
    assert refused.value.field == "steps[0].project"


@pytest.mark.parametrize(("data", "field"), [
    ({"aidflow": "dossier/1", "call": {}}, "aidflow"),
    ({"aidflow": "call/1"}, "call"),
    ({"aidflow": "call/1", "call": call_command(envelope="x")}, "call.envelope"),
    ({"aidflow": "call/1", "call": call_command(), "extra": 1}, "extra"),
    ({"aidflow": "call/1", "call": call_command(), "steps": {}}, "steps"),
])
def test_a_malformed_header_records_nothing(mem, data, field):
    with pytest.raises(InputError) as refused:
        run_call_file(mem, data)
    assert refused.value.field == field
    assert mem.event_count() == 0


def test_yaml_call_files_keep_the_on_key():
    text = "aidflow: call/1\nsteps:\n  - {do: withdraw, project: P, on: 2024-01-01}\n"
    data = parse_call_text(text, "x.yaml")
    assert data["steps"][0]["on"] == date(2024, 1, 1)
    assert parse_call_text("flag: yes\nok: true\n")["flag"] == "yes"


# ----------------------------------------------------------------- the demo


def test_the_demo_call_ends_with_the_partners_own_conventions():
    app = App(store="memory:")
    view = record_demo_call(app)
    project = next(p for p in view.projects if p.status == "retained")
    funded = [m for m in project.members if m.application]
    assert [(m.role, m.application_status, m.convention) for m in funded] == [
        ("PME régionale", "signed", "CONV-CYBER-2024-01-0"), ("ESN", "signed", "CONV-CYBER-2024-01-2")]
    assert app.convention("CONV-CYBER-2024-01-2").origin == Origin(
        call=DEMO_CALL_CODE, project="CYBER-2024-01", partner_role="ESN")
    assert {p.status for p in view.projects} == {"retained", "not_retained"}
    before = app.event_count()
    record_demo_call(app)
    assert app.event_count() == before


# ---------------------------------------------------------- stored format


def test_calls_and_candidacies_read_back_from_a_reopened_store(tmp_path):
    url = f"sqlite:///{tmp_path / 'calls.sqlite'}"
    first = App(store=url)
    record_demo_call(first)
    expected = first.call_view(DEMO_CALL_CODE)
    call, candidacy = first.call(DEMO_CALL_CODE), first.candidacy("CYBER-2024-01")
    first.close()
    second = App(store=url)
    assert second.call_view(DEMO_CALL_CODE) == expected
    again = second.candidacy("CYBER-2024-01")
    assert (second.call(DEMO_CALL_CODE).terms, again.members, again.selection, again.scorings,
            again.applications) == (call.terms, candidacy.members, candidacy.selection,
                                    candidacy.scorings, candidacy.applications)
    second.close()


# --------------------------------------------------------------------- CLI


def test_cli_runs_a_call_file_and_shows_the_call(tmp_path):
    store = f"sqlite:///{tmp_path / 'cli.sqlite'}"
    path = tmp_path / "call.yaml"
    path.write_text(yaml.safe_dump(call_file(
        {"do": "submit"} | submit_command(),
        {"do": "retain", "project": "P-01"} | retain_command(),
    ), allow_unicode=True), encoding="utf-8")
    runner = CliRunner()
    ran = runner.invoke(calls_cli, ["run", str(path), "--store", store])
    assert ran.exit_code == 0, ran.output
    assert "2 steps recorded for call AAP-COLLAB-2024" in ran.output
    shown = runner.invoke(calls_cli, ["show", CALL, "--store", store])
    assert shown.exit_code == 0, shown.output
    assert "P-01" in shown.output
    assert "Atelier Lauragais SAS" in shown.output
    as_json = runner.invoke(calls_cli, ["show", CALL, "--store", store, "--json"])
    data = json.loads(as_json.stdout)
    assert data["call"]["retained"] == "240000.00"
    assert [m["granted"] for m in data["call"]["projects"][0]["members"]] == ["160000.00", "0.00", "80000.00"]
    listed = runner.invoke(calls_cli, ["list", "--store", store, "--json"])
    assert json.loads(listed.stdout) == [{
        "code": CALL, "kind": "AAP", "title": call_command()["title"], "candidacies": 1,
        "envelope": "1000000.00", "retained": "240000.00"}]


def test_cli_refusal_exits_1_with_one_clear_line_and_no_traceback(tmp_path):
    store = f"sqlite:///{tmp_path / 'cli.sqlite'}"
    path = tmp_path / "late.json"
    path.write_text(json.dumps(call_file(
        {"do": "submit"} | submit_command("P-01"),
        {"do": "submit"} | submit_command("P-02", on="2024-04-01"),
    )), encoding="utf-8")
    runner = CliRunner()
    result = runner.invoke(calls_cli, ["run", str(path), "--store", store])
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert "error: step 1 (submit) refused at steps[1].on" in result.stderr
    as_json = runner.invoke(calls_cli, ["run", str(path), "--store", f"sqlite:///{tmp_path / 'b.sqlite'}",
                                        "--json"])
    assert as_json.exit_code == 1
    error = json.loads(as_json.stdout)["error"]
    assert (error["step"], error["do"], error["field"], error["value"]) == (1, "submit", "steps[1].on",
                                                                             "2024-04-01")
    shown = runner.invoke(calls_cli, ["show", CALL, "--store", store, "--json"])
    assert [p["reference"] for p in json.loads(shown.stdout)["call"]["projects"]] == ["P-01"]


def test_cli_runs_the_cma_fixture(tmp_path):
    store = f"sqlite:///{tmp_path / 'cma.sqlite'}"
    result = CliRunner().invoke(calls_cli, ["run", "--fixture", "cma", "--store", store, "--json"])
    assert result.exit_code == 0, result.output
    state = json.loads(result.stdout)
    assert (state["retained"], state["budget_of_retained"]) == ("116800861.00", "397005210.00")
    missing = CliRunner().invoke(calls_cli, ["run", str(tmp_path / "nope.yaml"), "--store", store])
    assert missing.exit_code == 1
    assert "cannot read" in missing.stderr


def test_the_fixture_file_cites_its_source_lines():
    text = (Path(__file__).parents[2] / "src/aidflow/adapters/fixtures/cma_2023.yaml").read_text("utf-8")
    assert "000_bd90f8cde4530014.txt" in text
    assert "L1017-1040" in text
    assert text.count("do: submit  # L10") == 20
    assert len(cma_call_file()["steps"]) == 40


def test_a_second_retention_of_the_same_project_is_refused(mem):
    retained(mem)
    with pytest.raises(DomainRuleViolation):
        mem.retain_candidacy("P-01", retain_command())


def test_cli_names_an_unknown_call(tmp_path):
    store = f"sqlite:///{tmp_path / 'empty.sqlite'}"
    result = CliRunner().invoke(calls_cli, ["show", "NOPE", "--store", store])
    assert result.exit_code == 1
    assert "no call with code 'NOPE'" in result.stderr
    assert CliRunner().invoke(calls_cli, ["list", "--store", store]).exit_code == 0


def test_a_call_file_naming_an_unknown_scheme_is_refused_with_the_call_field(mem):
    with pytest.raises(SchemeNotFound) as refused:
        run_call_file(mem, {"aidflow": "call/1", "call": call_command(scheme="NOPE")})
    assert refused.value.field == "call.scheme"
    assert mem.event_count() == 0
