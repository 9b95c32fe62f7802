"""The rule book of eco-conditionality, versioned by effective date (RULES.md §3).

Every rule the eligibility gate (E1–E5), the appraisal (R1–R4, modulation) and the
award caps apply is data here: an id, its text, the short source citation that failures
report, typed :class:`~aidflow.domain.values.LegalReference` citations, and the conditions
aidflow does **not** model (``unmodelled``), in the spirit of OpenFisca's "Conditions non
modélisées".

A :class:`RuleBook` is a sequence of :class:`RuleBookVersion` s, each in force from its
``effective_from`` until the day before the next one. Decisions record the version id
(``"2022-11-25"``) and an :class:`Explanation` tree, so a version added later never changes
a decision already taken: re-evaluating it with ``book.version(decision.rulebook_version)``
(or ``book.version_on(decision.on)``) gives the same result.

The built-in book (:func:`default_rulebook`) has one version, ``2022-11-25``: the
deliberation AP/2022-11/03 of the Occitanie plenary assembly adopting the SRDEII
(Action 27) and the SRDTL (priority 4.7).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from attrs import Attribute, field, frozen

from aidflow.domain.errors import DateOutOfOrder, DomainRuleViolation, InvalidValue
from aidflow.domain.values import CompanySize, LegalReference, Money

# ------------------------------------------------------------------ explanation


def _explanations(values: Iterable[Explanation]) -> tuple[Explanation, ...]:
    return tuple(values)


@frozen
class Explanation:
    """One node of a decision's explanation: what was read or computed, and from where.

    A decision's explanation is a tree: the root names the decision, children name each
    input read, each computed figure and the cap that bound, recursively.

    Attributes:
        label: what this node is ("E3 positive equity", "R2 dividends ÷ CAF").
        value: the value read or computed, as text ("-12000.00", "0.2500", "pass").
        source: where the rule or value comes from (a source line range, a legal text,
            "input", "aidflow default").
        children: the nodes this one was computed from.
    """

    label: str
    value: str = ""
    source: str = ""
    children: tuple[Explanation, ...] = field(default=(), converter=_explanations)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready nested dict (``children`` omitted when empty)."""
        data: dict[str, Any] = {"label": self.label, "value": self.value, "source": self.source}
        if self.children:
            data["children"] = [child.to_dict() for child in self.children]
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Explanation:
        """Rebuild an explanation from :meth:`to_dict` output."""
        return cls(
            label=str(data["label"]),
            value=str(data.get("value", "")),
            source=str(data.get("source", "")),
            children=tuple(cls.from_dict(child) for child in data.get("children", ())),
        )

    def render_text(self) -> str:
        """Render the tree as indented text, one node a line::

        Eligibility on 2024-02-01: ineligible
        ├─ E3 positive equity: -12000.00 [002_8b3eb659ad96bcac.txt L3339-3343]
        └─ …
        """
        lines = [self._line()]
        self._render_children(lines, "")
        return "\n".join(lines)

    def _line(self) -> str:
        text = self.label
        if self.value:
            text += f": {self.value}"
        if self.source:
            text += f" [{self.source}]"
        return text

    def _render_children(self, lines: list[str], prefix: str) -> None:
        for index, child in enumerate(self.children):
            last = index == len(self.children) - 1
            lines.append(f"{prefix}{'└─ ' if last else '├─ '}{child._line()}")  # noqa: SLF001 - same class
            child._render_children(lines, prefix + ("   " if last else "│  "))  # noqa: SLF001 - same class

    def find(self, label_prefix: str) -> Explanation | None:
        """The first node (depth first) whose label starts with ``label_prefix``."""
        if self.label.startswith(label_prefix):
            return self
        for child in self.children:
            found = child.find(label_prefix)
            if found is not None:
                return found
        return None


# ------------------------------------------------------------------------ rules

DE_MINIMIS_CEILING = Money.of("300000")
"""Regulation (EU) 2023/2831, art. 3(2): "300 000 EUR sur une période de trois ans"."""

RULE_ID_PATTERN = re.compile(r"^(E[1-5]|R[1-4]|MODULATION|CAP-[A-Z-]+)$")


def _rule_id(_instance: object, attribute: Attribute[str], value: str) -> None:
    if not RULE_ID_PATTERN.match(value):
        msg = f"rule id {value!r} is not one of E1–E5, R1–R4, MODULATION, CAP-…"
        raise InvalidValue(msg, field=attribute.name, value=value)


def _references(values: Iterable[LegalReference]) -> tuple[LegalReference, ...]:
    refs = tuple(values)
    if not refs:
        msg = "a rule needs at least one legal reference"
        raise InvalidValue(msg, field="references", value=[])
    return refs


def _strings(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(str(v) for v in values)


@frozen
class Rule:
    """One rule of the rule book.

    Attributes:
        rule_id: ``E1``…``E5``, ``R1``…``R4``, ``MODULATION`` or ``CAP-…``.
        title: a short English name.
        text: what aidflow checks or computes, in one or two sentences.
        source: the short citation failures report ("002_8b3eb659ad96bcac.txt L3339-3343").
        references: at least one typed legal citation.
        unmodelled: conditions of the legal text that aidflow does not check.
    """

    rule_id: str = field(validator=_rule_id)
    title: str
    text: str
    source: str
    references: tuple[LegalReference, ...] = field(converter=_references)
    unmodelled: tuple[str, ...] = field(default=(), converter=_strings)

    def explain(self, value: str, children: Iterable[Explanation] = ()) -> Explanation:
        """An explanation node for this rule, labelled with its id and title."""
        return Explanation(f"{self.rule_id} {self.title}", value, self.source, tuple(children))


@frozen
class GberIntensity:
    """A GBER maximum aid intensity for one article and one size class.

    Attributes:
        article: the GBER article number as a string ("17").
        size: the size class the rate applies to.
        rate: the maximum share of eligible costs (Decimal in 0..1).
        reference: the paragraph that sets the rate.
    """

    article: str
    size: CompanySize = field(converter=CompanySize)
    rate: Decimal
    reference: LegalReference

    def __attrs_post_init__(self) -> None:
        if not Decimal(0) <= self.rate <= Decimal(1):
            msg = f"GBER art. {self.article} intensity {self.rate} is not between 0 and 1"
            raise InvalidValue(msg, field="rate", value=str(self.rate))


def _rules(values: Iterable[Rule]) -> tuple[Rule, ...]:
    rules = tuple(values)
    ids = [r.rule_id for r in rules]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        msg = f"rule ids must be unique within a version, duplicated: {', '.join(duplicates)}"
        raise InvalidValue(msg, field="rules", value=duplicates)
    return rules


def _intensities(values: Iterable[GberIntensity]) -> tuple[GberIntensity, ...]:
    return tuple(values)


class NoRulesInForce(DomainRuleViolation):
    """No rule-book version is in force on the requested day (or none has that id)."""


ARTICLE_NUMBER = re.compile(r"art(?:icle)?\.?\s*(\d+)", re.IGNORECASE)


def gber_article_number(text: str) -> str | None:
    """The article number in a scheme's ``gber_article`` text.

    ``"Regulation (EU) No 651/2014, art. 17 (…)"`` → ``"17"``; a bare ``"17"`` → ``"17"``.
    """
    match = ARTICLE_NUMBER.search(text)
    if match:
        return match.group(1)
    stripped = text.strip()
    return stripped if stripped.isdigit() else None


@frozen
class RuleBookVersion:
    """The rules and parameters in force from ``effective_from`` (until the next version).

    Attributes:
        version_id: the effective date in ISO form ("2022-11-25").
        effective_from: first day this version applies to.
        rules: the rules, ids unique.
        simplified_module_staff_below: staff strictly below which the Impact Score
            self-diagnosis uses the simplified module (002_8b3eb659ad96bcac.txt L20262-20264).
        de_minimis_ceiling: the de minimis ceiling per single undertaking.
        de_minimis_years: the rolling window, in years, over which the ceiling applies.
        gber_intensities: maximum intensities per GBER article and size class.
        description: what this version enacts.
    """

    version_id: str
    effective_from: date
    rules: tuple[Rule, ...] = field(converter=_rules)
    simplified_module_staff_below: int = 10
    de_minimis_ceiling: Money = DE_MINIMIS_CEILING
    de_minimis_years: int = 3
    gber_intensities: tuple[GberIntensity, ...] = field(default=(), converter=_intensities)
    description: str = ""

    def __attrs_post_init__(self) -> None:
        if self.version_id != self.effective_from.isoformat():
            msg = (
                f"a rule-book version id is its effective date: expected "
                f"{self.effective_from.isoformat()!r}, got {self.version_id!r}"
            )
            raise InvalidValue(msg, field="version_id", value=self.version_id)

    def rule(self, rule_id: str) -> Rule:
        """The rule with this id; raises NoRulesInForce if this version has none."""
        for candidate in self.rules:
            if candidate.rule_id == rule_id:
                return candidate
        msg = f"rule {rule_id} is not in rule-book version {self.version_id}"
        raise NoRulesInForce(msg, field="rule_id", value=rule_id)

    def gber_intensity(self, article: str, size: CompanySize) -> GberIntensity | None:
        """The GBER intensity row for an article number and size, if this version has one."""
        for row in self.gber_intensities:
            if row.article == article and row.size is size:
                return row
        return None

    def models_gber_article(self, article: str) -> bool:
        """Whether this version carries an intensity table for the article."""
        return any(row.article == article for row in self.gber_intensities)


def _versions(values: Iterable[RuleBookVersion]) -> tuple[RuleBookVersion, ...]:
    versions = tuple(sorted(values, key=lambda v: v.effective_from))
    if not versions:
        msg = "a rule book needs at least one version"
        raise InvalidValue(msg, field="versions", value=[])
    days = [v.effective_from for v in versions]
    if len(set(days)) != len(days):
        msg = "two rule-book versions cannot take effect on the same day"
        raise InvalidValue(msg, field="versions", value=[d.isoformat() for d in days])
    return versions


@frozen
class RuleBook:
    """Rule-book versions ordered by effective date."""

    versions: tuple[RuleBookVersion, ...] = field(converter=_versions)

    def version_on(self, day: date) -> RuleBookVersion:
        """The version in force on ``day``: the latest whose ``effective_from`` ≤ ``day``.

        Raises:
            NoRulesInForce: ``day`` is before the first version.
        """
        in_force: RuleBookVersion | None = None
        for candidate in self.versions:
            if candidate.effective_from <= day:
                in_force = candidate
        if in_force is None:
            msg = (
                f"no rule-book version is in force on {day.isoformat()} "
                f"(the first takes effect on {self.versions[0].effective_from.isoformat()})"
            )
            raise NoRulesInForce(msg, field="on", value=day.isoformat())
        return in_force

    def version(self, version_id: str) -> RuleBookVersion:
        """The version with this id (as recorded in a decision)."""
        for candidate in self.versions:
            if candidate.version_id == version_id:
                return candidate
        msg = f"no rule-book version {version_id!r}"
        raise NoRulesInForce(msg, field="rulebook_version", value=version_id)

    def valid_until(self, version_id: str) -> date | None:
        """Last day ``version_id`` is in force; None while it is the latest."""
        ids = [v.version_id for v in self.versions]
        index = ids.index(self.version(version_id).version_id)
        if index + 1 == len(self.versions):
            return None
        return self.versions[index + 1].effective_from - timedelta(days=1)

    def amended(self, version: RuleBookVersion) -> RuleBook:
        """A new book with ``version`` appended; it must take effect after the latest.

        Amendments only ever add a later version, so every decision already taken keeps
        the version it recorded and re-evaluates to the same result.

        Raises:
            DateOutOfOrder: ``version`` takes effect on or before the latest version.
        """
        latest = self.versions[-1]
        if version.effective_from <= latest.effective_from:
            msg = f"an amended rule book must take effect after {latest.version_id}, got {version.version_id}"
            raise DateOutOfOrder(msg, field="effective_from", value=version.version_id)
        return RuleBook((*self.versions, version))


# ------------------------------------------------------------- built-in rules

SRDEII = "002_8b3eb659ad96bcac.txt"
"""The Occitanie deliberation AP/2022-11/03 of 25 November 2022 (SRESTE, SRDEII, SRDTL…)."""

DELIBERATION = LegalReference(
    title=(
        "Délibération n° AP/2022-11/03 de l'Assemblée plénière du Conseil régional "
        "Occitanie du 25 novembre 2022, Stratégie Régionale pour l'Emploi, la Souveraineté "
        "et la Transformation Ecologique"
    ),
)


def srdeii(article: str) -> LegalReference:
    """A citation of the SRDEII 2022-2028, Action 27 (in the deliberation AP/2022-11/03)."""
    return LegalReference(
        title="SRDEII 2022-2028 (délibération n° AP/2022-11/03 du 25 novembre 2022), Action 27",
        article=article,
    )


def srdtl(article: str) -> LegalReference:
    """A citation of the SRDTL, priorité 4.7 (in the deliberation AP/2022-11/03)."""
    return LegalReference(
        title="SRDTL (délibération n° AP/2022-11/03 du 25 novembre 2022), Priorité 4.7",
        article=article,
    )


GBER = "Règlement (UE) n° 651/2014 de la Commission du 17 juin 2014"
GBER_URL = "https://eur-lex.europa.eu/legal-content/FR/TXT/?uri=CELEX:32014R0651"
DE_MINIMIS_REFERENCE = LegalReference(
    title=(
        "Règlement (UE) 2023/2831 de la Commission du 13 décembre 2023 relatif à l'application "
        "des articles 107 et 108 du traité sur le fonctionnement de l'Union européenne aux "
        "aides de minimis"
    ),
    article="art. 3, § 2",
    url="https://eur-lex.europa.eu/eli/reg/2023/2831/oj",
)

ELIGIBILITY = "Eligibilité aux dispositifs"
APPRAISAL = "Critères d'appréciation"

_E1 = Rule(
    rule_id="E1",
    title="Impact Score self-diagnosis",
    text=(
        "The applicant has made an Impact Score self-diagnosis on the 5 axes (impact strategy, "
        "social impact, ecological impact, power sharing, value sharing) on or before the "
        "eligibility date, with the simplified module if it has fewer than 10 employees and the "
        "full module otherwise. Not required of the beneficiary kinds the scheme exempts "
        "(by default public bodies and research organisations)."
    ),
    source=f"{SRDEII} L3333-3337, L20262-20264",
    references=(srdeii(ELIGIBILITY), srdtl(f"2- {ELIGIBILITY}")),
    unmodelled=(
        "the content and sincerity of the self-diagnosis (only its presence, date and module)",
        "how old a self-diagnosis may be (any earlier one is accepted)",
        "the module when the applicant's staff is unknown (not checked)",
    ),
)
_E2 = Rule(
    rule_id="E2",
    title="tax and social obligations met",
    text="The applicant declares it is up to date with its tax and social obligations.",
    source=f"{SRDEII} L3339",
    references=(srdeii(ELIGIBILITY), srdtl(f"2- {ELIGIBILITY}")),
    unmodelled=("verification of the declaration (attestations de régularité fiscale et sociale)",),
)
_E3 = Rule(
    rule_id="E3",
    title="positive equity",
    text=("Equity (fonds propres) is strictly positive. Waived by schemes for firms in difficulty."),
    source=f"{SRDEII} L3339-3343",
    references=(srdeii(ELIGIBILITY), srdtl(f"2- {ELIGIBILITY}")),
    unmodelled=(
        (
            "other signs of an unsound financial situation ('situation financière saine' is only "
            "checked through equity and court proceedings)"
        ),
    ),
)
_E4 = Rule(
    rule_id="E4",
    title="no court proceedings in progress",
    text=(
        "No court proceedings (procédure judiciaire: safeguard, receivership, liquidation) are "
        "in progress. Waived by schemes for firms in difficulty."
    ),
    source=f"{SRDEII} L3339-3343",
    references=(srdeii(ELIGIBILITY), srdtl(f"2- {ELIGIBILITY}")),
    unmodelled=("the kind of proceedings (any declared proceedings fail)",),
)
_E5 = Rule(
    rule_id="E5",
    title="commitments",
    text=(
        "The applicant commits to (a) reduce its environmental footprint and improve its energy "
        "efficiency, (b) fight discrimination of any kind, (c) ensure decent working conditions, "
        "(d) foster its employees' career development; (e) if the project has a real-estate part, "
        "states the measures limiting soil sealing; and in every case states the measures "
        "reducing the project's environmental impact (non-empty text)."
    ),
    source=f"{SRDEII} L3345-3361",
    references=(srdeii(ELIGIBILITY), srdtl(f"2- {ELIGIBILITY}")),
    unmodelled=(
        (
            "the Region's services' assessment of the quality of the commitments and measures "
            "(only their presence is checked)"
        ),
    ),
)
_R1 = Rule(
    rule_id="R1",
    title="financial income ÷ potential aid",
    text=(
        "Financial income (produits financiers) divided by the potential aid, taken as the "
        "requested amount. 0 when there is no financial income."
    ),
    source=f"{SRDEII} L3379",
    references=(srdeii(APPRAISAL), srdtl(f"3- {APPRAISAL}")),
    unmodelled=("which financial income counts (the caller supplies the figure)",),
)
_R2 = Rule(
    rule_id="R2",
    title="dividends paid ÷ self-financing capacity (CAF)",
    text=(
        "Dividends paid divided by the self-financing capacity (capacité d'autofinancement). "
        "0 when no dividend is paid; unbounded (Infinity) when dividends are paid while the "
        "CAF is zero or negative."
    ),
    source=f"{SRDEII} L3381-3383",
    references=(srdeii(APPRAISAL), srdtl(f"3- {APPRAISAL}")),
    unmodelled=("the financial year the figures come from (the caller supplies them)",),
)
_R3 = Rule(
    rule_id="R3",
    title="shareholder-only dividends ÷ requested grant",
    text=(
        "Dividends serving only to pay shareholders divided by the requested grant "
        "(subvention sollicitée). Not applicable when no grant is requested."
    ),
    source=f"{SRDEII} L3385-3387",
    references=(srdeii(APPRAISAL), srdtl(f"3- {APPRAISAL}")),
    unmodelled=("which dividends 'serve only to pay shareholders' (the caller supplies the figure)",),
)
_R4 = Rule(
    rule_id="R4",
    title="shareholder-executives' total pay",
    text=(
        "The total pay of shareholder-executives, salaries and dividends together, recorded as a "
        "figure for the committee."
    ),
    source=f"{SRDEII} L3389-3391",
    references=(srdeii(APPRAISAL), srdtl(f"3- {APPRAISAL}")),
    unmodelled=("any threshold: the sources give none and the default grid applies none",),
)
_MODULATION = Rule(
    rule_id="MODULATION",
    title="intensity modulation",
    text=(
        "The scheme's modulation grid turns the Impact Score (lowest axis, progress since the "
        "baseline) and R1–R3 into an intensity factor in 0..1, or a refusal. The grid and its "
        "version are recorded with every appraisal."
    ),
    source=f"{SRDEII} L3367-3410, L20310-20359",
    references=(srdeii(APPRAISAL), srdtl(f"3- {APPRAISAL}")),
    unmodelled=(
        "environmental and social engagement beyond regulation",
        (
            "job creation, GHG / energy / biodiversity impact, impact on the employment area, "
            "sovereignty: appraised by the Region, not scored by aidflow"
        ),
    ),
)
_CAP_REQUESTED = Rule(
    rule_id="CAP-REQUESTED",
    title="amount requested",
    text="The award is at most the amount requested.",
    source="RULES.md §3 (appraisal)",
    references=(srdeii(APPRAISAL),),
)
_CAP_SCHEME = Rule(
    rule_id="CAP-SCHEME",
    title="scheme ceiling",
    text="The award is at most the scheme's ceiling.",
    source="scheme legal basis",
    references=(DELIBERATION,),
)
_CAP_INSTRUMENT = Rule(
    rule_id="CAP-INSTRUMENT",
    title="instrument ceilings",
    text=(
        "When every instrument the scheme offers has its own ceiling, the award is at most their "
        "sum; the award's split is checked against each instrument ceiling."
    ),
    source="scheme legal basis",
    references=(DELIBERATION,),
)
_CAP_GBER = Rule(
    rule_id="CAP-GBER",
    title="GBER intensity cap",
    text=(
        "For a scheme under a GBER article with an intensity table, the award is at most the "
        "article's intensity for the applicant's size times the eligible expenses, rounded down "
        "to the cent."
    ),
    source=f"{GBER}",
    references=(LegalReference(title=GBER, article="art. 17, § 6", url=GBER_URL),),
    unmodelled=(
        (
            "GBER art. 14 (regional investment aid): the intensity depends on the regional aid map "
            "zone, not in the dossier facts"
        ),
        "GBER art. 25 (R&D): the intensity depends on the research category and bonuses",
        "the gross grant equivalent of advances and loans (their nominal amount is capped)",
        "cumulation with other aid on the same eligible costs",
    ),
)
_CAP_DE_MINIMIS = Rule(
    rule_id="CAP-DE-MINIMIS",
    title="de minimis ceiling",
    text=(
        "For a de minimis scheme, the award is at most 300 000 € minus the largest sum of de "
        "minimis aid granted to the single undertaking over any rolling 3-year window "
        "(start − 3 years, end] that contains the award date."
    ),
    source="Regulation (EU) 2023/2831, art. 3(2)",
    references=(DE_MINIMIS_REFERENCE,),
    unmodelled=(
        (
            "linked undertakings forming the 'single undertaking': the caller records their aids in "
            "the company's ledger"
        ),
        "the gross grant equivalent of a new advance or loan (its nominal amount is capped)",
        (
            "aid granted before 1 January 2024 fell under Regulation (EU) No 1407/2013 (200 000 € over "
            "three fiscal years); RULES.md §3 applies the 2023/2831 rule to every decision"
        ),
    ),
)


def _version_2022_11_25() -> RuleBookVersion:
    """Rules in force from 25 November 2022 (deliberation AP/2022-11/03), with no end yet."""
    art17 = LegalReference(title=GBER, article="art. 17, § 6", url=GBER_URL)
    return RuleBookVersion(
        version_id="2022-11-25",
        effective_from=date(2022, 11, 25),
        rules=(
            _E1,
            _E2,
            _E3,
            _E4,
            _E5,
            _R1,
            _R2,
            _R3,
            _R4,
            _MODULATION,
            _CAP_REQUESTED,
            _CAP_SCHEME,
            _CAP_INSTRUMENT,
            _CAP_GBER,
            _CAP_DE_MINIMIS,
        ),
        simplified_module_staff_below=10,
        de_minimis_ceiling=DE_MINIMIS_CEILING,
        de_minimis_years=3,
        gber_intensities=(
            # Art. 17 § 6: "20 % des coûts admissibles dans le cas des petites entreprises" and
            # "10 % … des moyennes entreprises". A micro enterprise is a small enterprise in the
            # sense of Annex I, art. 2. Large companies and ETIs get no row: art. 17 is for SMEs.
            GberIntensity("17", CompanySize.MICRO, Decimal("0.20"), art17),
            GberIntensity("17", CompanySize.SMALL, Decimal("0.20"), art17),
            GberIntensity("17", CompanySize.MEDIUM, Decimal("0.10"), art17),
        ),
        description=(
            "Eco-conditionality of regional aids adopted by the deliberation AP/2022-11/03 "
            "(SRDEII Action 27, SRDTL priority 4.7)."
        ),
    )


def default_rulebook() -> RuleBook:
    """The built-in rule book (a fresh value on each call; no state at import time)."""
    return RuleBook((_version_2022_11_25(),))
