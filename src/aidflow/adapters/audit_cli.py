"""Audit commands (issue 6): ``verify``, ``export-bundle``, ``history`` and ``export scdl``.

Wired into ``aidflow`` by :func:`register_audit_commands`; ``audit_app`` holds the same
commands on their own (for tests). This module does not import :mod:`aidflow.adapters.cli`,
so that ``cli.py`` can import it at the top without an import cycle.

Exit status: 0 when everything checks, 4 when ``verify`` finds a discrepancy
(:data:`EXIT_TAMPERED`), 1 for refused input (as every aidflow command).
"""

from __future__ import annotations

import csv
import io
import json
import sys
from datetime import datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from aidflow.adapters import scdl
from aidflow.adapters.bundle import BUNDLE_FILES, BundleReport, verify_bundle
from aidflow.adapters.cli_common import (
    ForceOption,
    JsonOption,
    StoreOption,
    _print_json,
    check_output,
    err,
    iso_day,
    open_app,
    out,
    styled,
    write_output,
)
from aidflow.application import audit
from aidflow.application.errors import NotFound
from aidflow.application.views import HistoryEntry
from aidflow.domain.errors import AidflowError, InvalidValue
from aidflow.domain.values import Siret

EXIT_TAMPERED = 4

def _parse_moment(text: str | None, option: str) -> datetime | None:
    if text is None:
        return None
    try:
        return audit.as_utc(datetime.fromisoformat(text))
    except ValueError:
        msg = (
            f"{option} takes an ISO 8601 time such as 2027-03-01T12:00:00+01:00 "
            f"(UTC if no offset), got {text!r}"
        )
        raise InvalidValue(msg, field=option, value=text) from None


# ------------------------------------------------------------------ verify


def _bundle_json(report: BundleReport) -> dict[str, Any]:
    chain = report.chain
    return {
        "ok": report.ok,
        "bundle_reference": report.reference,
        "problems": report.problems,
        "findings": [] if chain is None else [
            {"kind": f.kind.value, "aggregate": report.aggregates.get(f.originator_id, f.originator_id),
             "originator_id": f.originator_id, "version": f.version, "detail": f.detail}
            for f in chain.findings
        ],
        "store_digest": None if chain is None else chain.digest.hex(),
        "links": None if chain is None else chain.links_in_digest,
        "expected_digest_found_at": report.expected_digest_found_at,
    }


def _print_findings(findings: list[dict[str, Any]]) -> None:
    table = Table(title="Discrepancies")
    for name in ("kind", "aggregate", "version", "detail"):
        table.add_column(name, overflow="fold")
    for f in findings:
        table.add_row(f["kind"], f["aggregate"], str(f["version"]), f["detail"])
    out.print(table)


def verify(
    reference: Annotated[
        str | None, typer.Argument(help="A dossier (application reference or convention number); "
                                   "the whole store when omitted.")
    ] = None,
    bundle: Annotated[
        Path | None, typer.Option("--bundle", help="Check an exported bundle offline (no database).")
    ] = None,
    expect_digest: Annotated[
        str | None, typer.Option("--expect-digest", help="A published store digest the chain must contain.")
    ] = None,
    store: StoreOption = None,
    as_json: JsonOption = False,
) -> None:
    """Recompute the hash chain from the stored events and report any tampering; print the store digest."""
    if bundle is not None:
        if not bundle.is_dir():
            msg = f"--bundle: {str(bundle)!r} is not a folder (give the folder export-bundle wrote)"
            raise InvalidValue(msg, field="--bundle", value=str(bundle))
        report = verify_bundle(bundle, expect_digest)
        data = _bundle_json(report)
        if reference is not None and report.reference not in (None, reference):
            data["problems"].append(f"the bundle is for {report.reference!r}, not {reference!r}")
            data["ok"] = False
    else:
        app = open_app(store)
        try:
            data = audit.verify_store(app, reference, expect_digest).model_dump(mode="json")
        finally:
            app.close()
    if as_json:
        _print_json(data)
    else:
        for problem in data.get("problems", []):
            out.print(styled(("problem:", "red"), f" {problem}"))
        if data["findings"]:
            _print_findings(data["findings"])
        scope = f"bundle {bundle}" if bundle is not None else (reference or "the whole store")
        verdict = ("OK", "green") if data["ok"] else ("TAMPERED", "red")
        out.print(styled(verdict, f": {scope}"))
        out.print(f"store digest: {data['store_digest']} over {data['links']} links")
        if expect_digest is not None:
            where = data.get("expected_digest_found_at")
            out.print(f"published digest {'found at link ' + str(where) if where else 'NOT found'}")
    if not data["ok"]:
        raise typer.Exit(EXIT_TAMPERED)


def export_bundle(
    reference: Annotated[str, typer.Argument(help="Application reference or convention number.")],
    directory: Annotated[Path, typer.Argument(help="Folder to write the bundle into (created).")],
    store: StoreOption = None,
    force: ForceOption = False,
) -> None:
    """Export a dossier's events, the store's chain and a manifest, verifiable offline."""
    if directory.exists() and not directory.is_dir():
        msg = f"DIRECTORY: {str(directory)!r} is a file; give a folder for the bundle"
        raise InvalidValue(msg, field="DIRECTORY", value=str(directory))
    for name in BUNDLE_FILES:
        check_output(directory / name, "DIRECTORY", force=force)
    app = open_app(store)
    try:
        manifest = audit.export_bundle(app, reference, directory)
    finally:
        app.close()
    data = json.loads(manifest.read_text(encoding="utf-8"))
    out.print(f"bundle written to {directory} ({len(data['aggregates'])} aggregates)")
    digest = data["store_digest"]
    out.print(f"store digest at export: {digest['digest']} over {digest['links']} links")
    out.print(f"check it anywhere with: aidflow verify --bundle {directory}")


# ----------------------------------------------------------------- history

HISTORY_COLUMNS = ("aggregate", "reference", "version", "event", "on", "recorded_at", "data")


def _history_csv(entries: list[HistoryEntry]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(HISTORY_COLUMNS)
    for e in entries:
        writer.writerow([
            e.aggregate, e.reference, e.version, e.event, e.on.isoformat() if e.on else "",
            e.recorded_at.isoformat(), json.dumps(e.data, ensure_ascii=False, sort_keys=True),
        ])
    return buffer.getvalue()


def history(
    reference: Annotated[
        str, typer.Argument(help="Application reference, convention number or scheme code.")
    ],
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Only facts whose business date is on or before DATE.")
    ] = None,
    known_at: Annotated[
        str | None,
        typer.Option("--known-at", help="Only what was recorded by this time (ISO 8601; UTC if no offset)."),
    ] = None,
    store: StoreOption = None,
    as_json: JsonOption = False,
    as_csv: Annotated[bool, typer.Option("--csv", help="Print CSV instead of a table.")] = False,
) -> None:
    """A dossier's dated history, optionally as of a business date and/or as known at a time."""
    on, moment = iso_day(as_of, "--as-of"), _parse_moment(known_at, "--known-at")
    app = open_app(store)
    try:
        entries = audit.history_as_of(app, reference, on, moment)
        state = None
        if as_json:
            try:
                state = audit.dossier_as_of(app, reference, on, moment).model_dump(mode="json")
            except NotFound:
                state = None
    finally:
        app.close()
    if as_csv:
        sys.stdout.write(_history_csv(entries))
        return
    if as_json:
        _print_json({
            "reference": reference, "as_of": on, "known_at": moment, "state": state,
            "history": [e.model_dump(mode="json") for e in entries],
        })
        return
    title = "History" + "".join(
        f", {label} {value}" for label, value in (("as of", on), ("known at", moment)) if value is not None
    )
    table = Table(title=title)
    for name in ("on", "recorded at (UTC)", "record", "event", "details"):
        table.add_column(name, overflow="fold")
    for e in entries:
        details = ", ".join(
            f"{k}={json.dumps(v, ensure_ascii=False, default=str)}" for k, v in e.data.items()
        )
        table.add_row(str(e.on or ""), e.recorded_at.strftime("%Y-%m-%d %H:%M:%S"),
                      f"{e.aggregate} v{e.version}", e.event, details[:300])
    out.print(table)


# -------------------------------------------------------------------- SCDL

export_app = typer.Typer(help="Export data in published formats.", no_args_is_help=True)


@export_app.command("scdl")
def export_scdl(
    out_file: Annotated[
        Path | None, typer.Option("--out", help="Write the CSV here (default: standard output).")
    ] = None,
    nom_attribuant: Annotated[str, typer.Option("--nom-attribuant")] = scdl.OCCITANIE.name,
    id_attribuant: Annotated[
        str, typer.Option("--id-attribuant", help="The awarding body's SIRET (14 digits).")
    ] = scdl.OCCITANIE.siret,
    minimum: Annotated[
        str, typer.Option("--minimum", help="Leave out grants below this amount (e.g. 23000).")
    ] = "0",
    store: StoreOption = None,
    force: ForceOption = False,
) -> None:
    """Awarded grants as an SCDL « subventions » 2.1.1 CSV (open-data publication)."""
    try:
        threshold = Decimal(minimum)
    except InvalidOperation:
        threshold = Decimal("NaN")
    if not threshold.is_finite() or threshold < 0:
        msg = f"--minimum takes an amount such as 23000, got {minimum!r}"
        raise InvalidValue(msg, field="--minimum", value=minimum)
    try:
        Siret(id_attribuant)
    except AidflowError as error:
        msg = f"--id-attribuant takes a valid 14-digit SIRET, got {id_attribuant!r} ({error})"
        raise InvalidValue(msg, field="--id-attribuant", value=id_attribuant) from None
    if out_file is not None:
        check_output(out_file, "--out", force=force)
    app = open_app(store)
    try:
        rows, skipped = audit.scdl_rows(app, scdl.Attribuant(nom_attribuant, id_attribuant), threshold)
    finally:
        app.close()
    if out_file is None:
        scdl.write_csv(rows, sys.stdout)
    else:
        buffer = io.StringIO(newline="")
        scdl.write_csv(rows, buffer)
        write_output(out_file, buffer.getvalue(), "--out", force=force)
        err.print(f"{len(rows)} conventions written to {out_file} ({scdl.SCDL_SCHEMA})")
    for line in skipped:
        err.print(f"skipped {line}")


# ------------------------------------------------------------------ wiring


def register_audit_commands(app: typer.Typer) -> None:
    """Add ``verify``, ``export-bundle``, ``history`` and ``export scdl`` to a Typer app."""
    app.command("verify")(verify)
    app.command("export-bundle")(export_bundle)
    app.command("history")(history)
    app.add_typer(export_app, name="export")


audit_app = typer.Typer(name="aidflow", no_args_is_help=True, add_completion=False,
                        pretty_exceptions_enable=False)
register_audit_commands(audit_app)
