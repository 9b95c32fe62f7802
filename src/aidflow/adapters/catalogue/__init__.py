"""The built-in scheme catalogue, shipped as YAML and validated with pydantic."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from functools import cache
from importlib import resources
from typing import Literal

import yaml
from attrs import frozen
from pydantic import BaseModel, ConfigDict, ValidationError

from aidflow.domain.errors import InvalidValue
from aidflow.domain.scheme import InstrumentCeiling, SchemeTerms
from aidflow.domain.values import (
    BeneficiaryKind,
    CompanySize,
    Instrument,
    LegalReference,
    Money,
    StateAidRegime,
)


class _Reference(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    title: str
    article: str | None = None
    url: str | None = None


class _Scheme(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    code: str
    title: str
    opened_on: date
    instruments: list[Instrument]
    admitted_kinds: list[BeneficiaryKind]
    regime: StateAidRegime
    legal_basis: list[_Reference]
    ceiling: Decimal | None = None
    minimum: Decimal | None = None
    instrument_ceilings: dict[Instrument, Decimal] = {}
    admitted_sizes: list[CompanySize] = []
    staff_below: int | None = None
    innovation: bool = False
    for_firms_in_difficulty: bool = False
    gber_article: str | None = None
    ambitions: list[str] = []
    self_diagnosis_exempt_kinds: list[BeneficiaryKind] = [
        BeneficiaryKind.PUBLIC_BODY,
        BeneficiaryKind.RESEARCH_ORGANISATION,
    ]
    notes: str = ""

    def terms(self) -> SchemeTerms:
        return SchemeTerms(
            instruments=self.instruments,
            admitted_kinds=self.admitted_kinds,
            legal_basis=tuple(LegalReference(r.title, r.article, r.url) for r in self.legal_basis),
            regime=self.regime,
            ceiling=self.ceiling,
            minimum=self.minimum,
            instrument_ceilings=tuple(
                InstrumentCeiling(i, Money(v)) for i, v in self.instrument_ceilings.items()
            ),
            admitted_sizes=self.admitted_sizes,
            staff_below=self.staff_below,
            innovation=self.innovation,
            for_firms_in_difficulty=self.for_firms_in_difficulty,
            gber_article=self.gber_article,
            ambitions=self.ambitions,
            self_diagnosis_exempt_kinds=self.self_diagnosis_exempt_kinds,
            notes=self.notes,
        )


class _Catalogue(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    aidflow: Literal["catalogue/1"]
    schemes: list[_Scheme]


@frozen
class SchemeDefinition:
    """A scheme as the catalogue defines it: enough to open it in a store."""

    code: str
    title: str
    opened_on: date
    terms: SchemeTerms


def parse_catalogue(text: str, source: str = "<catalogue>") -> dict[str, SchemeDefinition]:
    """Parse a catalogue YAML document; errors name the source file and the key."""
    try:
        data = yaml.safe_load(text)
        model = _Catalogue.model_validate(data)
        return {
            s.code: SchemeDefinition(s.code, s.title, s.opened_on, s.terms()) for s in model.schemes
        }
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        msg = f"{source}: {where}: {first['msg']} (got {first.get('input')!r})"
        raise InvalidValue(msg, field=where, value=first.get("input")) from None
    except yaml.YAMLError as error:
        msg = f"{source}: not valid YAML: {error}"
        raise InvalidValue(msg, field=source, value=None) from None


@cache
def builtin_catalogue() -> dict[str, SchemeDefinition]:
    """The schemes shipped with aidflow (RULES.md §2), by code."""
    text = resources.files(__package__).joinpath("schemes.yaml").read_text(encoding="utf-8")
    return parse_catalogue(text, "aidflow/adapters/catalogue/schemes.yaml")
