"""Load rule-parameter files (YAML) into the attrs domain types.

Parameter files live under ``src/aidflow/adapters/parameters/`` (package data, no
``__init__.py``: this module is ``aidflow.adapters.parameters``). Today:

* ``modulation/default.yaml``: the default :class:`~aidflow.domain.appraisal.ModulationGrid`;
* ``modulation/<SCHEME-CODE>.yaml``: optional per-scheme grids (``scheme:`` must match the
  file name).

Each file is keyed by effective date (``versions: {"2022-11-25": …}``); each version carries a
``reference:`` (title, article, url) and every threshold or factor its own ``reference:`` and
``note:``. Validation is pydantic v2 with ``extra="forbid"``; a bad file raises
:class:`ParameterFileError` naming the file and the key path. Nothing is read at import time.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from aidflow.domain.appraisal import GridValue, ModulationGrid, ModulationGrids, RatioStep, ScoreBand
from aidflow.domain.errors import AidflowError
from aidflow.domain.values import LegalReference

PARAMETERS_DIR = Path(__file__).parent / "parameters"
"""Where the built-in parameter files are (package data)."""

MODULATION_DIR = PARAMETERS_DIR / "modulation"


class ParameterFileError(AidflowError, ValueError):
    """A parameter file is missing, not YAML, or does not match its schema."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ReferenceModel(_Model):
    """A typed legal citation (``LegalReference``)."""

    title: str = Field(min_length=1)
    article: str | None = None
    url: str | None = None

    def to_domain(self) -> LegalReference:
        return LegalReference(title=self.title, article=self.article, url=self.url)


class BandModel(_Model):
    at_least: int = Field(ge=0, le=100)
    factor: Decimal = Field(ge=0, le=1)
    reference: ReferenceModel
    note: str = ""

    @field_validator("factor", mode="before")
    @classmethod
    def _no_float(cls, value: object) -> object:
        return _refuse_float(value)


class ValueModel(_Model):
    value: Decimal = Field(ge=0, le=1)
    reference: ReferenceModel
    note: str = ""

    @field_validator("value", mode="before")
    @classmethod
    def _no_float(cls, value: object) -> object:
        return _refuse_float(value)


class StepModel(_Model):
    above: Decimal = Field(ge=0)
    factor: Decimal | None = Field(ge=0, le=1)
    reference: ReferenceModel
    note: str = ""

    @field_validator("above", "factor", mode="before")
    @classmethod
    def _no_float(cls, value: object) -> object:
        return _refuse_float(value)


class ImpactScoreModel(_Model):
    bands: list[BandModel] = Field(min_length=1)
    progress_bonus: ValueModel


class RatiosModel(_Model):
    R1: list[StepModel] = []
    R2: list[StepModel] = []
    R3: list[StepModel] = []


class GridVersionModel(_Model):
    reference: ReferenceModel
    note: str = ""
    impact_score: ImpactScoreModel
    ratios: RatiosModel = RatiosModel()


class GridFileModel(_Model):
    """The schema of ``modulation/*.yaml``."""

    grid: str = Field(min_length=1)
    scheme: str | None = None
    description: str = ""
    references: list[ReferenceModel] = Field(min_length=1)
    versions: dict[date, GridVersionModel] = Field(min_length=1)

    @field_validator("versions", mode="before")
    @classmethod
    def _iso_keys(cls, value: object) -> object:
        """Version keys must be ISO dates (``"2022-11-25"``), quoted or not."""
        if isinstance(value, dict):
            for key in value:
                if isinstance(key, date):
                    continue
                try:
                    date.fromisoformat(str(key))
                except ValueError:
                    msg = f"version key {key!r} is not an ISO date YYYY-MM-DD"
                    raise ValueError(msg) from None
        return value


def _refuse_float(value: object) -> object:
    if isinstance(value, float):
        msg = f'write decimals as quoted strings ("0.90"), not the float {value!r}'
        raise ValueError(msg)  # noqa: TRY004 - pydantic turns ValueError into a located error
    return value


def _read_yaml(path: Path) -> Any:  # noqa: ANN401 - YAML is untyped until validated
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        msg = f"{path}: cannot read parameter file ({error.strerror})"
        raise ParameterFileError(msg, field=str(path), value=None) from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as error:
        msg = f"{path}: not valid YAML: {error}"
        raise ParameterFileError(msg, field=str(path), value=None) from None


def _located(path: Path, error: ValidationError) -> ParameterFileError:
    first = error.errors()[0]
    key = ".".join(str(part) for part in first["loc"]) or "(root)"
    details = "; ".join(
        f"{'.'.join(str(p) for p in e['loc']) or '(root)'}: {e['msg']}" for e in error.errors()
    )
    msg = f"{path}: {details}"
    return ParameterFileError(msg, field=key, value=first.get("input"))


def load_modulation_file(path: Path) -> tuple[ModulationGrid, ...]:
    """Load one grid file: one :class:`ModulationGrid` per effective-dated version.

    Each version is in force from its key until the day before the next key.

    Raises:
        ParameterFileError: naming the file and the key path.
    """
    data = _read_yaml(path)
    try:
        model = GridFileModel.model_validate(data)
    except ValidationError as error:
        raise _located(path, error) from None
    if model.scheme is not None and model.scheme != path.stem:
        msg = f"{path}: scheme: {model.scheme!r} does not match the file name {path.stem!r}"
        raise ParameterFileError(msg, field="scheme", value=model.scheme)
    starts = sorted(model.versions)
    grids: list[ModulationGrid] = []
    for index, start in enumerate(starts):
        until = starts[index + 1] - timedelta(days=1) if index + 1 < len(starts) else None
        try:
            grids.append(_grid(model, start, until))
        except AidflowError as error:
            msg = f"{path}: versions.{start.isoformat()}: {error.message}"
            raise ParameterFileError(msg, field=f"versions.{start.isoformat()}", value=error.value) from None
    return tuple(grids)


def _grid(model: GridFileModel, start: date, until: date | None) -> ModulationGrid:
    version = model.versions[start]
    return ModulationGrid(
        grid_id=model.grid,
        effective_from=start,
        references=(version.reference.to_domain(), *(ref.to_domain() for ref in model.references)),
        score_bands=tuple(
            ScoreBand(band.at_least, band.factor, band.reference.to_domain(), band.note)
            for band in version.impact_score.bands
        ),
        progress_bonus=GridValue(
            version.impact_score.progress_bonus.value,
            version.impact_score.progress_bonus.reference.to_domain(),
            version.impact_score.progress_bonus.note,
        ),
        r1_steps=_steps(version.ratios.R1),
        r2_steps=_steps(version.ratios.R2),
        r3_steps=_steps(version.ratios.R3),
        scheme=model.scheme,
        effective_until=until,
        description=model.description,
    )


def _steps(steps: Iterable[StepModel]) -> tuple[RatioStep, ...]:
    return tuple(RatioStep(s.above, s.factor, s.reference.to_domain(), s.note) for s in steps)


def load_modulation_grids(directory: Path = MODULATION_DIR) -> ModulationGrids:
    """Load every ``*.yaml`` grid in ``directory`` (the built-in ones by default).

    Raises:
        ParameterFileError: a file is invalid, or there is no default grid.
    """
    grids: list[ModulationGrid] = []
    for path in sorted(directory.glob("*.yaml")):
        grids.extend(load_modulation_file(path))
    if not any(grid.scheme is None for grid in grids):
        msg = f"{directory}: no default grid (a file with scheme: null)"
        raise ParameterFileError(msg, field="scheme", value=None)
    return ModulationGrids(tuple(grids))
