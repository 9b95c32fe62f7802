"""SCDL « subventions » export: the essential data of grant conventions, as published open data.

Format: the SCDL schema ``subventions`` version 2.1.1 (OpenDataFrance, on schema.data.gouv.fr,
``site/scdl/subventions/2.1.1/documentation.md``), the published form of « Décret
n° 2017-779 du 5 mai 2017 relatif à l'accès sous forme électronique aux données essentielles
des conventions de subvention » and « Arrêté du 17 novembre 2017 relatif aux conditions de
mises à disposition des données essentielles des conventions de subvention ». CSV, UTF-8,
comma-separated, one header row with the 16 field names in schema order.

How aidflow fills it (one row per signed convention with a grant part):

- ``montant`` is the *grant* part of the award (« subvention »). Repayable advances, loans
  and equity are not grants and are left out of the amount; a convention with no grant
  part yields no row.
- ``nature`` is « aide en numéraire »: aidflow pays money only.
- ``conditionsVersement`` is « unique » when the whole grant was paid in one balance
  payment, else « échelonné » (aidflow conventions pay an advance, interim payments and a
  balance).
- ``datesPeriodeVersement`` is that payment's date when unique, else the period from the
  first payment (or the signature, before any payment) to the last payment once the
  balance is paid, or to the programme's end (the forecast last payment) before that.
- ``notificationUE`` is « non »: aidflow's regimes (de minimis, GBER/RGEC, none) are
  exempt from notification to the Commission; only an individually notified aid is « oui ».
- ``pourcentageSubvention`` is ``1.00`` (one beneficiary per convention).
- ``idRAE``, ``rnaBeneficiaire`` and ``dispositifAide`` are left empty (not modelled).

Unmodelled: the decree's 23 000 € threshold only makes publication *mandatory* above it;
``minimum`` filters rows when a publisher wants only those.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, TextIO

from aidflow.domain.values import PaymentKind

if TYPE_CHECKING:
    from aidflow.domain.aid_application import AidApplication
    from aidflow.domain.convention import Convention

SCDL_SCHEMA = "scdl/subventions 2.1.1"
FIELDS = (
    "nomAttribuant",
    "idAttribuant",
    "dateConvention",
    "referenceDecision",
    "nomBeneficiaire",
    "idBeneficiaire",
    "rnaBeneficiaire",
    "objet",
    "montant",
    "nature",
    "conditionsVersement",
    "datesPeriodeVersement",
    "idRAE",
    "notificationUE",
    "pourcentageSubvention",
    "dispositifAide",
)
OBJECT_MAX_LENGTH = 255  # "limitée à 256 caractères maximum" / "Moins de 256 caractères"
ZERO = Decimal("0.00")
NOTIFIED_REGIMES = frozenset({"notified"})
"""State-aid regimes notified individually to the Commission (none in aidflow's catalogue yet)."""


@dataclass(frozen=True)
class Attribuant:
    """The body awarding the grants: its official name and SIRET (14 digits)."""

    name: str
    siret: str


OCCITANIE = Attribuant(name="Région Occitanie", siret="20005379100014")
"""Default attribuant: the Région's head office (Hôtel de Région, Toulouse).

The SIREN 200053791 is the one in the deliberation's act number
(``31-200053791-20221125-13507A-DE-1-1``, 002_8b3eb659ad96bcac.txt L764). The NIC 00014 is
the head office's as public directories list it; the source documents do not give it. The
SIRET passes the Luhn check (``tests/adapters/test_scdl_export.py``). An earlier default,
20005379100011, did not. Another establishment of the Région passes its own with
``aidflow export scdl --id-attribuant``."""


def _period(convention: Convention) -> tuple[str, str]:
    """(conditionsVersement, datesPeriodeVersement)."""
    payments = sorted(convention.payments.values(), key=lambda p: (p.on, p.ref))
    if len(payments) == 1 and payments[0].kind is PaymentKind.BALANCE:
        return "unique", payments[0].on.isoformat()
    start = payments[0].on if payments else convention.signed_on
    end = payments[-1].on if convention.balance_paid else max(convention.programme_end, start)
    if payments and not convention.balance_paid:
        end = max(end, payments[-1].on)
    return "échelonné", f"{start.isoformat()}/{end.isoformat()}"


def _objet(scheme_title: str, convention: Convention) -> str:
    text = f"{scheme_title} — convention {convention.number}"
    return text[:OBJECT_MAX_LENGTH]


def row_for(
    *,
    convention: Convention,
    application: AidApplication,
    scheme_title: str,
    regime: str,
    attribuant: Attribuant = OCCITANIE,
    minimum: Decimal = ZERO,
) -> tuple[dict[str, str] | None, str | None]:
    """The SCDL row of one convention, or (None, why it has none)."""
    grant = convention.award.grant.amount
    if grant <= 0:
        return None, None
    if grant < minimum:
        return None, f"grant {grant} is below the {minimum} threshold"
    siret = convention.site.siret if convention.site.siret is not None else application.site.siret
    if siret is None:
        return None, "no SIRET for the beneficiary's site (idBeneficiaire is required for companies)"
    award = application.award
    conditions, period = _period(convention)
    row = {
        "nomAttribuant": attribuant.name,
        "idAttribuant": attribuant.siret,
        "dateConvention": convention.signed_on.isoformat(),
        "referenceDecision": award.decision.deliberation if award is not None else "",
        "nomBeneficiaire": convention.beneficiary.name,
        "idBeneficiaire": str(siret),
        "rnaBeneficiaire": "",
        "objet": _objet(scheme_title, convention),
        "montant": f"{grant:.2f}",
        "nature": "aide en numéraire",
        "conditionsVersement": conditions,
        "datesPeriodeVersement": period,
        "idRAE": "",
        "notificationUE": "oui" if regime in NOTIFIED_REGIMES else "non",
        "pourcentageSubvention": "1.00",
        "dispositifAide": "",
    }
    return row, None


def write_csv(rows: Iterable[dict[str, str]], stream: TextIO) -> int:
    """Write the header and rows; returns how many rows were written."""
    writer = csv.DictWriter(stream, fieldnames=FIELDS, lineterminator="\n")
    writer.writeheader()
    count = 0
    for row in rows:
        writer.writerow(row)
        count += 1
    return count
