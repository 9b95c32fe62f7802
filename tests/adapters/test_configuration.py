"""A Region's own catalogue, grids and clawback policy for the ``aidflow`` command (ADR 0010).

Each case sets the environment variables and runs the real entry point (``main``): the
schemes list, a dossier under a Region-only scheme, the grid its appraisal used, and a
clawback assessed under a Region policy. Bad values are refused naming the variable, before
any store is opened.
"""

from __future__ import annotations

import copy
import json
import textwrap
from pathlib import Path
from typing import Any

import pytest

from aidflow.adapters.cli import main
from aidflow.adapters.configuration import configured_options, load_policy
from aidflow.adapters.parameters import MODULATION_DIR
from aidflow.domain.errors import InvalidValue
from helpers import DOSSIER_EXAMPLE

CATALOGUE = """\
aidflow: catalogue/1
schemes:
  - code: PASS-EXPORT
    title: "Pass Export (test scheme)"
    opened_on: 2024-01-01
    instruments: [grant, advance]
    ceiling: "300000.00"
    admitted_kinds: [company]
    regime: de_minimis
    legal_basis:
      - title: "Délibération de la commission permanente (test, not a real act)"
"""

POLICY_MODULE = """\
from attrs import evolve, frozen

from aidflow.domain.clawback import DEFAULT_POLICY


@frozen
class HalfPolicy:
    name: str = "region-half"
    version: str = "3"

    def assess(self, facts, as_of):
        assessment = DEFAULT_POLICY.assess(facts, as_of)
        return evolve(assessment, policy=self.name, policy_version=self.version)


not_a_policy = 42


def failing_factory():
    raise RuntimeError("no policy today")
"""


@pytest.fixture
def region(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A Region's configuration folder: a catalogue, a grid folder, a policy module."""
    (tmp_path / "schemes.yaml").write_text(CATALOGUE, encoding="utf-8")
    grids = tmp_path / "grids"
    grids.mkdir()
    default = (MODULATION_DIR / "default.yaml").read_text(encoding="utf-8")
    own = default.replace("grid: default", "grid: pass-export-test").replace(
        "scheme: null", "scheme: PASS-EXPORT"
    )
    (grids / "PASS-EXPORT.yaml").write_text(own, encoding="utf-8")
    (tmp_path / "region_policy.py").write_text(POLICY_MODULE, encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("AIDFLOW_CATALOGUE", str(tmp_path / "schemes.yaml"))
    monkeypatch.setenv("AIDFLOW_GRIDS", str(grids))
    monkeypatch.setenv("AIDFLOW_CLAWBACK_POLICY", "region_policy:HalfPolicy")
    monkeypatch.setenv("AIDFLOW_STORE", f"sqlite:///{tmp_path / 'aidflow.sqlite'}")
    return tmp_path


def _json(arguments: list[str], capsys: pytest.CaptureFixture[str]) -> Any:
    status = main([*arguments, "--json"])
    printed = capsys.readouterr()
    assert status == 0, printed.err
    return json.loads(printed.out)


APPRAISAL = {
    "on": "2024-02-20",
    "do": "appraise",
    "financial_income": "0.00",
    "dividends_paid": "0.00",
    "self_financing_capacity": "400000.00",
    "shareholder_dividends": "0.00",
    "executive_total_pay": "150000.00",
}


def _dossier(folder: Path) -> Path:
    dossier = copy.deepcopy(DOSSIER_EXAMPLE) | {"scheme": "PASS-EXPORT"}
    award = next(i for i, step in enumerate(dossier["steps"]) if step["do"] == "award")
    dossier["steps"][award] |= {"amount": "200000.00", "grant": "150000.00"}  # under the modulated cap
    dossier["steps"].insert(award, APPRAISAL)
    path = folder / "dossier.json"
    path.write_text(json.dumps(dossier), encoding="utf-8")
    return path


def test_the_regions_scheme_is_listed_with_the_built_in_ones(
    region: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    codes = [s["code"] for s in _json(["schemes"], capsys)]

    assert "PASS-EXPORT" in codes
    assert "CEA" in codes


def test_a_dossier_under_the_regions_scheme_uses_its_grid_and_policy(
    region: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    result = _json(["dossier", "run", str(_dossier(region))], capsys)

    assert result["scheme"] == "PASS-EXPORT"
    assert result["clawback"]["policy"] == "region-half/3"
    assert result["clawback"]["total_due"] == "18750.00"
    decisions = _json(["explain", "2024-CEA-0042"], capsys)
    assert "pass-export-test" in json.dumps(decisions)


def test_without_the_variables_the_built_in_rules_apply(
    region: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for variable in ("AIDFLOW_CATALOGUE", "AIDFLOW_GRIDS", "AIDFLOW_CLAWBACK_POLICY"):
        monkeypatch.delenv(variable)

    assert configured_options() == {}
    assert "PASS-EXPORT" not in [s["code"] for s in _json(["schemes"], capsys)]


@pytest.mark.parametrize(
    ("variable", "value", "words"),
    [
        ("AIDFLOW_CATALOGUE", "missing.yaml", "does not exist"),
        ("AIDFLOW_CATALOGUE", "bad-catalogue.yaml", "schemes"),
        ("AIDFLOW_GRIDS", "missing-grids", "does not exist"),
        ("AIDFLOW_CLAWBACK_POLICY", "region_policy", "package.module:name"),
        ("AIDFLOW_CLAWBACK_POLICY", "no_such_module:Policy", "cannot find"),
        ("AIDFLOW_CLAWBACK_POLICY", "region_policy:NoSuch", "cannot find"),
        ("AIDFLOW_CLAWBACK_POLICY", "region_policy:not_a_policy", "not a clawback policy"),
        ("AIDFLOW_CLAWBACK_POLICY", "region_policy:failing_factory", "failed when called"),
    ],
)
def test_a_bad_value_is_refused_naming_the_variable_and_nothing_is_opened(
    variable: str,
    value: str,
    words: str,
    region: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    (region / "bad-catalogue.yaml").write_text(textwrap.dedent("aidflow: catalogue/1\nschemes: 3\n"))
    monkeypatch.chdir(region)
    monkeypatch.setenv(variable, value)

    status = main(["schemes"])

    printed = capsys.readouterr()
    assert status == 1
    assert printed.err.startswith("error:")
    assert variable in printed.err
    assert words in printed.err
    assert "Traceback" not in printed.err
    assert not (region / "aidflow.sqlite").exists()


def test_a_policy_object_a_class_and_a_factory_are_all_accepted(region: Path) -> None:
    assert load_policy("region_policy:HalfPolicy").name == "region-half"
    assert load_policy("aidflow.domain.clawback:DEFAULT_POLICY").name == "aidflow-default"
    assert load_policy("aidflow.domain.clawback:DefaultClawbackPolicy").version == "1"
    with pytest.raises(InvalidValue) as refused:
        load_policy(":HalfPolicy")
    assert refused.value.field == "AIDFLOW_CLAWBACK_POLICY"


def test_an_apps_catalogue_is_its_own() -> None:
    """The built-in catalogue is cached: changing one app's must not change another's."""
    from aidflow.application.service import Aidflow  # noqa: PLC0415

    first, second = Aidflow("memory:"), Aidflow("memory:")
    first.catalogue.pop("CEA")

    assert "CEA" in second.catalogue
    first.close()
    second.close()
