# Copyright (C) 2026 aidflow developers. SPDX-License-Identifier: MIT
"""Framework conventions through the application, framework files and the ``conventions`` CLI.

The shipped example is the convention-cadre Région–académies of 6 September 2016
(004_303e0234a63aebae.txt; seeds-000-001-003-004.md §3.1).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from aidflow.adapters.conventions_cli import conventions_cli
from aidflow.application.errors import AlreadyExists, InputError
from aidflow.application.frameworks import (
    FrameworkFile,
    FrameworkNotFound,
    FrameworkStepRefused,
    framework_file_schema,
    load_framework_file,
    run_framework_file,
)
from aidflow.application.service import Aidflow
from aidflow.domain.framework import ChildOutlivesFramework

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "frameworks"
EXAMPLE = EXAMPLES / "convention-cadre-academies-2016.yaml"
REF = "CC-REGION-ACADEMIES-2016"

FrameworkAidflow = Aidflow


@pytest.fixture
def app(store_url: str) -> Iterator[Any]:
    application = FrameworkAidflow(store=store_url, clock=lambda: date(2018, 1, 15))
    yield application
    application.close()


def example() -> dict[str, Any]:
    return load_framework_file(EXAMPLE)


def with_steps(*steps: dict[str, Any]) -> dict[str, Any]:
    data = copy.deepcopy(example())
    data["steps"] = list(steps)
    return data


COPIL_2017 = {"on": "2017-06-12", "do": "meeting", "body": "COPIL",
              "attendees": ["Région Occitanie", "Académie de Montpellier", "Académie de Toulouse"],
              "decisions": ["Programmation 2018-2021 de la carte des formations professionnelles"]}
CHILD = {"on": "2017-09-01", "do": "link_child", "reference": "COT-31-2017-001",
         "title": "Contrat d'objectifs tripartite — lycée (fictitious)",
         "kind": "contrat_objectifs_tripartite",
         "parties": ["Région Occitanie", "Rectorat de Toulouse", "Lycée (fictitious)"], "end": "2020-08-31"}


# ---------------------------------------------------------------- the seed-004 example


def test_the_seed_004_convention_cadre_loads_with_its_parties_articles_term_and_committee(app):
    result = run_framework_file(app, example())
    state = result.state

    assert result.steps_recorded == 0
    assert state.signed_on == date(2016, 9, 6)
    assert state.signed_at == "Toulouse"
    assert [p["organisation"].split(" (")[0] for p in state.parties] == [
        "Région Occitanie", "Académie de Montpellier", "Académie de Toulouse"]
    assert {p["role"] for p in state.parties} == {"signatory"}
    numbers = [a["number"] for a in state.articles]
    assert numbers[:3] == ["Préambule", "1", "2"]
    assert numbers[-1] == "6"
    titles = {a["number"]: a["title"] for a in state.articles}
    assert titles["1"] == "Objet de la convention"
    assert titles["6"] == "Gouvernance pilotage et évaluation"
    assert titles["3.3"] == "Soutenir l’innovation"
    assert (state.term["start"], state.term["end"]) == (date(2016, 9, 6), date(2021, 12, 31))
    assert "jusqu’en 2021" in state.term["wording"]
    copil = next(b for b in state.governance if b.code == "COPIL")
    assert copil.every_months == 12
    assert len(copil.members) == 3
    assert state.child_kinds[0]["kind"] == "contrat_objectifs_tripartite"
    assert state.status == "in_force"
    assert state.original_copies == 3


def test_the_example_matches_the_framework_file_schema():
    schema = framework_file_schema()
    assert schema["properties"]["aidflow"]["const"] == "framework/1"
    parsed = FrameworkFile.model_validate(load_framework_file(EXAMPLE))
    assert parsed.framework.reference == REF


def test_meetings_and_children_are_recorded_and_shown(app):
    result = run_framework_file(app, with_steps(COPIL_2017, CHILD))
    assert result.steps_recorded == 2
    view = app.framework_view(REF, date(2018, 1, 15))
    copil = next(b for b in view.governance if b.code == "COPIL")
    assert (copil.meetings, copil.last_met, copil.next_due) == (1, date(2017, 6, 12), date(2018, 6, 12))
    assert view.children[0]["reference"] == "COT-31-2017-001"
    history = app.framework_history(REF)
    assert [h.event for h in history] == ["Signed", "MeetingHeld", "ChildLinked"]
    assert history[1].on == date(2017, 6, 12)


# ---------------------------------------------------------------- alerts


def test_alerts_committee_overdue_and_term_approaching(app):
    run_framework_file(app, with_steps(COPIL_2017))

    assert app.framework_alerts(date(2018, 6, 12), 90) == []
    (overdue,) = app.framework_alerts(date(2018, 6, 13), 90)
    assert (overdue.kind, overdue.body, overdue.due) == ("committee_overdue", "COPIL", date(2018, 6, 12))

    app.record_meeting(REF, {"on": "2021-05-20", "do": "meeting", "body": "COPIL", "attendees": ["Région"]})
    (term,) = app.framework_alerts(date(2021, 11, 1), 90)
    assert (term.kind, term.due) == ("term_approaching", date(2021, 12, 31))
    assert app.framework_alerts(date(2021, 11, 1), 30) == []
    assert app.framework_alerts(date(2022, 3, 1), 90) == []


def test_negative_within_is_refused(app):
    with pytest.raises(InputError) as refused:
        app.framework_alerts(date(2018, 1, 1), -1)
    assert refused.value.field == "within"


# ---------------------------------------------------------------- children and renewals


def test_a_child_outliving_its_framework_is_refused_and_earlier_steps_are_kept(app):
    late_child = CHILD | {"reference": "COT-31-2021-009", "on": "2021-09-01", "end": "2024-08-31"}
    with pytest.raises(FrameworkStepRefused) as refused:
        run_framework_file(app, with_steps(COPIL_2017, late_child))
    assert refused.value.index == 1
    assert refused.value.field == "steps[1].end"
    assert refused.value.value == "2024-08-31"
    assert isinstance(refused.value.cause, ChildOutlivesFramework)
    assert len(app.framework(REF).meetings) == 1
    assert app.framework(REF).children == {}


def test_after_an_explicit_renewal_the_child_may_run_longer(app):
    run_framework_file(app, example())
    app.renew_framework(REF, {"on": "2021-06-30", "do": "renew", "until_year": 2027,
                              "deliberation": "CP/2021-06/01"})
    app.link_child(REF, CHILD | {"reference": "COT-31-2021-009", "on": "2021-09-01", "end": "2024-08-31"})
    view = app.framework_view(REF, date(2022, 1, 15))
    assert view.status == "in_force"
    assert view.term["current_end"] == date(2027, 12, 31)
    assert view.renewals[0]["previous_end"] == date(2021, 12, 31)


def test_a_renewal_without_period_or_end_is_an_input_error(app):
    run_framework_file(app, example())
    with pytest.raises(InputError) as refused:
        app.renew_framework(REF, {"on": "2021-06-30", "do": "renew"})
    assert refused.value.field == "until"


def test_amend_and_terminate_through_steps(app):
    amend = {"on": "2019-01-15", "do": "amend", "number": 1, "reason": "prolongation", "until_year": 2022,
             "articles": [{"number": "7", "title": "Durée"}]}
    terminate = {"on": "2021-03-01", "do": "terminate", "how": "notice", "effective_on": "2021-06-30",
                 "reason": "nouvelle convention"}
    result = run_framework_file(app, with_steps(amend, terminate))
    assert result.steps_recorded == 2
    view = app.framework_view(REF, date(2021, 7, 1))
    assert view.status == "terminated"
    assert view.amendments[0]["end"] == date(2022, 12, 31)
    assert view.termination is not None
    assert view.termination["effective_on"] == date(2021, 6, 30)


# ---------------------------------------------------------------- file errors


def test_a_malformed_header_names_the_field_and_records_nothing(app):
    data = copy.deepcopy(example())
    data["framework"]["parties"][1]["role"] = "sponsor"
    with pytest.raises(InputError) as refused:
        run_framework_file(app, data)
    assert refused.value.field == "framework.parties.1.role"
    assert refused.value.value == "sponsor"
    with pytest.raises(FrameworkNotFound):
        app.framework(REF)


def test_a_header_with_one_party_or_both_end_and_until_year_is_refused(app):
    data = copy.deepcopy(example())
    data["framework"]["parties"] = data["framework"]["parties"][:1]
    with pytest.raises(InputError) as one:
        run_framework_file(app, data)
    assert one.value.field == "framework.parties"
    data = copy.deepcopy(example())
    data["framework"]["term"]["end"] = "2021-08-31"
    with pytest.raises(InputError) as both:
        run_framework_file(app, data)
    assert both.value.field == "framework.term.end"


def test_an_unknown_step_field_is_refused_with_its_index(app):
    bad = COPIL_2017 | {"minutes": "..."}
    with pytest.raises(FrameworkStepRefused) as refused:
        run_framework_file(app, with_steps(COPIL_2017 | {"on": "2017-01-10"}, bad))
    assert refused.value.field == "steps[1].minutes"
    assert len(app.framework(REF).meetings) == 1


def test_the_same_framework_twice_is_refused(app):
    run_framework_file(app, example())
    with pytest.raises(AlreadyExists):
        run_framework_file(app, example())


def test_a_wrong_format_or_extra_top_level_field_is_refused(app):
    with pytest.raises(InputError) as fmt:
        run_framework_file(app, example() | {"aidflow": "dossier/1"})
    assert fmt.value.field == "aidflow"
    with pytest.raises(InputError) as extra:
        run_framework_file(app, example() | {"notes": "x"})
    assert extra.value.field == "notes"


def test_yaml_keeps_the_on_key_a_string(tmp_path):
    path = tmp_path / "f.yaml"
    path.write_text("aidflow: framework/1\nframework: {}\nsteps:\n  - on: 2017-06-12\n    do: meeting\n",
                    encoding="utf-8")
    assert "on" in load_framework_file(path)["steps"][0]


# ---------------------------------------------------------------- CLI


def test_cli_run_show_and_alerts(tmp_path):
    store = f"sqlite:///{tmp_path / 'aidflow.sqlite'}"
    runner = CliRunner()

    ran = runner.invoke(conventions_cli, ["run", str(EXAMPLE), "--store", store])
    assert ran.exit_code == 0, ran.output
    assert "0 steps recorded for framework CC-REGION-ACADEMIES-2016" in ran.output

    shown = runner.invoke(conventions_cli, ["show", REF, "--on", "2018-01-15", "--store", store, "--json"])
    assert shown.exit_code == 0, shown.output
    state = json.loads(shown.output)["state"]
    assert state["term"]["end"] == "2021-12-31"
    assert len(state["parties"]) == 3
    table = runner.invoke(conventions_cli, ["show", REF, "--on", "2018-01-15", "--store", store])
    assert "Objet de la convention" in table.output
    assert "COPIL" in table.output

    alerts = runner.invoke(
        conventions_cli, ["alerts", "--on", "2021-11-01", "--within", "90", "--store", store, "--json"]
    )
    assert alerts.exit_code == 0, alerts.output
    kinds = sorted(a["kind"] for a in json.loads(alerts.output))
    assert kinds == ["committee_overdue", "term_approaching"]


def test_cli_refused_step_prints_the_error_as_json(tmp_path):
    store = f"sqlite:///{tmp_path / 'aidflow.sqlite'}"
    path = tmp_path / "bad.json"
    data = with_steps(CHILD | {"end": "2030-01-01"})
    path.write_text(json.dumps(data, default=str), encoding="utf-8")
    result = CliRunner().invoke(conventions_cli, ["run", str(path), "--store", store, "--json"])
    assert isinstance(result.exception, FrameworkStepRefused)
    assert json.loads(result.output)["error"]["field"] == "steps[0].end"


def test_yaml_aliases_are_refused(tmp_path):
    path = tmp_path / "f.yaml"
    path.write_text("aidflow: framework/1\nframework: &f {a: 1}\nsteps: [*f]\n", encoding="utf-8")
    with pytest.raises(InputError) as refused:
        load_framework_file(path)
    assert refused.value.field == "file"


def test_cli_schema_prints_the_framework_file_schema():
    result = CliRunner().invoke(conventions_cli, ["schema"])

    assert result.exit_code == 0, result.output
    schema = json.loads(result.stdout)
    assert schema == framework_file_schema()
    assert set(schema["properties"]) == {"aidflow", "framework", "steps"}


HOWTO_STEPS = [
    {"on": "2017-06-12", "do": "meeting", "body": "COPIL",
     "attendees": ["Région Occitanie", "Académie de Montpellier", "Académie de Toulouse"],
     "decisions": ["Priorités 2017-2018 arrêtées"]},
    {"on": "2017-09-01", "do": "link_child", "reference": "COT-LYCEE-0001",
     "title": "Contrat d’objectifs tripartite, lycée Déodat de Séverac",
     "kind": "contrat_objectifs_tripartite", "parties": ["Région", "Rectorat", "Lycée"], "end": "2020-08-31"},
]


def test_the_how_to_steps_record_and_raise_the_committee_alert(tmp_path):
    """docs/how-to/record-a-framework-convention.md, sections 2 and 3."""
    store = f"sqlite:///{tmp_path / 'aidflow.sqlite'}"
    data = load_framework_file(EXAMPLE) | {"steps": HOWTO_STEPS}
    path = tmp_path / "cc.json"
    path.write_text(json.dumps(data, default=str), encoding="utf-8")
    runner = CliRunner()

    ran = runner.invoke(conventions_cli, ["run", str(path), "--store", store])
    assert "2 steps recorded for framework CC-REGION-ACADEMIES-2016" in ran.output
    alerts = runner.invoke(conventions_cli, ["alerts", "--on", "2019-01-15", "--store", store, "--json"])

    (alert,) = json.loads(alerts.stdout)
    assert (alert["kind"], alert["due"]) == ("committee_overdue", "2018-06-12")
    assert "last met on 2017-06-12" in alert["message"]
    again = runner.invoke(conventions_cli, ["run", str(path), "--store", store])
    assert again.exit_code == 1
    assert "already recorded" in str(again.exception)
