"""``aidflow erase SUBJECT``: crypto-shred one data subject's personal fields (ADR 0008).

Wire it into the main CLI with ``register_privacy_commands(cli)``. This module does not
import :mod:`aidflow.adapters.cli`, so ``cli.py`` can import it at the top.

Erasure destroys the subject's data keys (:func:`aidflow.adapters.personal.erase`): the
sealed personal fields read ``[erased]`` from then on, everything else replays as before
and the hash chain still verifies. It is refused while the Region must still keep the
dossier (:func:`retention_until`) unless ``--despite-retention REASON`` is given — the
decision belongs to the Region's data-protection officer, not to the tool
(docs/personal-data.md).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from typing import Annotated

import typer

from aidflow.adapters.cli_common import open_app, out
from aidflow.adapters.personal import CIPHER_KEY_ENV_VAR, erase, sealer_of
from aidflow.adapters.store import describe_store, resolve_store_url
from aidflow.application.service import Aidflow
from aidflow.domain.aid_application import AidApplication
from aidflow.domain.errors import AidflowError, InvalidValue
from aidflow.domain.retention import keep_until
from aidflow.domain.values import Siren

StoreOption = Annotated[
    str | None,
    typer.Option("--store", help="Store URL (default: $AIDFLOW_STORE, else sqlite:///aidflow.sqlite)",
                 show_default=False),
]


class RetentionInForce(AidflowError):
    """The Region must still keep the subject's dossiers: erasure is refused."""


@dataclass
class Retention:
    """Why, and until when, a subject's dossiers must be kept."""

    subject: str
    dossiers: list[str] = field(default_factory=list)
    until: date | None = None
    reasons: list[str] = field(default_factory=list)

    def keep(self, until: date, reason: str) -> None:
        if self.until is None or until > self.until:
            self.until = until
        self.reasons.append(reason if until == date.max else f"{reason} until {until}")


def subject_of(app: Aidflow, text: str) -> str:
    """``siren:<SIREN>`` for a SIREN, else the subject of an application or convention reference."""
    given = text.strip()
    if given.startswith(("siren:", "application:")):
        return given
    if given.replace(" ", "").isdigit():
        try:
            return f"siren:{Siren(given).value}"
        except InvalidValue as error:
            raise InvalidValue(error.message, field="subject", value=given) from None
    application, _ = app.resolve(given)
    siren = application.beneficiary.siren
    return f"siren:{siren.value}" if siren else f"application:{application.reference}"


def _applications_of(app: Aidflow, subject: str) -> list[AidApplication]:
    kind, _, value = subject.partition(":")
    if kind == "application":
        return [app.application(value)]
    return [a for a in app.applications() if a.beneficiary.siren and a.beneficiary.siren.value == value]


def retention_until(app: Aidflow, subject: str) -> Retention:
    """The last day the Region must keep the subject's dossiers, with the reasons
    (the rule is :func:`aidflow.domain.retention.keep_until`)."""
    retention = Retention(subject)
    for application in _applications_of(app, subject):
        retention.dossiers.append(application.reference)
        number = application.convention_number
        convention = None if number is None else app.convention(number)
        for until, reason in keep_until(application, convention):
            retention.keep(until, reason)
    return retention


def erase_command(
    subject: Annotated[str, typer.Argument(help="A SIREN, an application reference or a convention number.")],
    despite_retention: Annotated[
        str | None,
        typer.Option("--despite-retention", metavar="REASON",
                     help="Erase although the retention period runs (e.g. a DPO decision number)."),
    ] = None,
    store: StoreOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Erase one data subject's personal fields (crypto-shredding); the dossiers stay replayable."""
    url = resolve_store_url(store)
    app = open_app(url)
    try:
        if sealer_of(app.mapper) is None:
            msg = (f"personal data is not sealed in {describe_store(url)}: set {CIPHER_KEY_ENV_VAR} "
                   "before recording, so that it can be erased")
            raise InvalidValue(msg, field=CIPHER_KEY_ENV_VAR, value=None)
        key = subject_of(app, subject)
        retention = retention_until(app, key)
        today = app.clock()
        if retention.until is not None and retention.until >= today and not despite_retention:
            until = "the recovery is settled" if retention.until == date.max else str(retention.until)
            msg = (f"{key} must be kept until {until} ({'; '.join(retention.reasons)}); "
                   "erase with --despite-retention REASON only on the data-protection officer's decision")
            raise RetentionInForce(msg, field="subject", value=key)
        destroyed = erase(app.mapper, key)
    finally:
        app.close()
    result = {"subject": key, "keys_destroyed": destroyed, "dossiers": retention.dossiers,
              "despite_retention": despite_retention}
    if as_json:
        out.print_json(json.dumps(result))
        return
    out.print(f"{key}: {destroyed} data keys destroyed; personal fields of "
              f"{', '.join(retention.dossiers) or 'no dossier'} now read [erased].")


def register_privacy_commands(app: typer.Typer) -> None:
    """Add ``erase`` to a Typer app."""
    app.command("erase")(erase_command)
