"""Audit bundles: one dossier's stored events and the store's chain, checkable offline.

A bundle is a directory of three files:

``events.jsonl``
    The dossier's stored events, one JSON object per line: ``originator_id``, ``version``,
    ``topic``, ``notification_id`` and the state exactly as stored, as text (``state``)
    when it is UTF-8, else base64 (``state_base64``).
``chain.jsonl``
    Every link of the store in recording order (``position``, ``link`` in hex); the
    dossier's links also name their ``originator_id`` and ``version``. The other dossiers'
    links are there only to recompute the store digest and reveal nothing else.
``manifest.json``
    ``format``, the aidflow version, the chain format, the dossier reference and its
    aggregates, the store digest at export, each aggregate's head link, and the SHA-256 of
    the two other files.

:func:`verify_bundle` needs neither the database nor any configuration: it re-hashes the
files, recomputes every link of the dossier from its events, the store digest from the
links, and compares them with the manifest (and with a published digest, if given).
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aidflow.adapters.chain import (
    CHAIN_FORMAT,
    ChainReport,
    EventRow,
    LinkRow,
    running_digests,
    verify,
)
from aidflow.adapters.files import write_whole

BUNDLE_FORMAT = "aidflow-bundle/1"
EVENTS_FILE = "events.jsonl"
CHAIN_FILE = "chain.jsonl"
MANIFEST_FILE = "manifest.json"
BUNDLE_FILES = (MANIFEST_FILE, EVENTS_FILE, CHAIN_FILE)
"""The files a bundle folder holds (``export-bundle`` will not replace them without --force)."""


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _event_line(event: EventRow) -> str:
    data: dict[str, Any] = {
        "originator_id": event.originator_id,
        "version": event.version,
        "topic": event.topic,
        "notification_id": event.notification_id,
    }
    try:
        data["state"] = event.state.decode("utf-8")
    except UnicodeDecodeError:
        data["state_base64"] = base64.b64encode(event.state).decode("ascii")
    return json.dumps(data, ensure_ascii=False, sort_keys=True)


def write_bundle(
    directory: Path,
    *,
    reference: str,
    aggregates: Mapping[str, str],
    events: Sequence[EventRow],
    links: Sequence[LinkRow],
    all_links: Sequence[LinkRow],
    digest: bytes,
    heads: Mapping[str, tuple[int, bytes]],
    aidflow_version: str,
    store: str,
) -> Path:
    """Write the bundle files into ``directory`` (created if needed); returns the manifest path."""
    directory.mkdir(parents=True, exist_ok=True)
    events_path, chain_path = directory / EVENTS_FILE, directory / CHAIN_FILE
    write_whole(events_path, "".join(_event_line(e) + "\n" for e in events))
    own = {(r.originator_id, r.version) for r in links}
    lines = []
    for row in sorted(all_links, key=lambda r: r.position):
        item: dict[str, Any] = {"position": row.position, "link": row.link.hex()}
        if (row.originator_id, row.version) in own:
            item |= {"originator_id": row.originator_id, "version": row.version}
        lines.append(json.dumps(item, sort_keys=True) + "\n")
    write_whole(chain_path, "".join(lines))
    manifest = {
        "format": BUNDLE_FORMAT,
        "chain_format": CHAIN_FORMAT,
        "aidflow_version": aidflow_version,
        "reference": reference,
        "exported_at": datetime.now(UTC).isoformat(),
        "store": store,
        "aggregates": dict(aggregates),
        "store_digest": {"links": len(all_links), "digest": digest.hex()},
        "heads": {k: {"version": v, "link": link.hex()} for k, (v, link) in sorted(heads.items())},
        "files": {EVENTS_FILE: _sha256(events_path), CHAIN_FILE: _sha256(chain_path)},
    }
    manifest_path = directory / MANIFEST_FILE
    write_whole(manifest_path, json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")
    return manifest_path


@dataclass
class BundleReport:
    """The outcome of :func:`verify_bundle`."""

    reference: str | None = None
    problems: list[str] = field(default_factory=list)
    chain: ChainReport | None = None
    aggregates: dict[str, str] = field(default_factory=dict)
    expected_digest_found_at: int | None = None

    @property
    def ok(self) -> bool:
        return not self.problems and self.chain is not None and self.chain.ok


def _read_lines(path: Path, problems: list[str]) -> list[dict[str, Any]]:
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        try:
            value = json.loads(line)
        except ValueError as error:
            problems.append(f"{path.name} line {number} is not JSON: {error}")
            continue
        if not isinstance(value, dict):
            problems.append(f"{path.name} line {number} is not a JSON object")
            continue
        rows.append(value)
    return rows


def _event_row(data: Mapping[str, Any]) -> EventRow:
    state = (
        data["state"].encode("utf-8") if "state" in data else base64.b64decode(data["state_base64"])
    )
    return EventRow(
        originator_id=str(data["originator_id"]), version=int(data["version"]), topic=str(data["topic"]),
        state=state, notification_id=data.get("notification_id"),
    )


def _load_manifest(directory: Path, report: BundleReport) -> dict[str, Any] | None:
    manifest_path = directory / MANIFEST_FILE
    if not manifest_path.is_file():
        report.problems.append(f"no {MANIFEST_FILE} in {directory}")
        return None
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as error:
        report.problems.append(f"{MANIFEST_FILE} is not JSON: {error}")
        return None
    if not isinstance(manifest, dict):
        report.problems.append(f"{MANIFEST_FILE} is not a JSON object")
        return None
    if manifest.get("format") != BUNDLE_FORMAT or manifest.get("chain_format") != CHAIN_FORMAT:
        report.problems.append(
            f"unknown bundle format {manifest.get('format')!r} / {manifest.get('chain_format')!r} "
            f"(this aidflow reads {BUNDLE_FORMAT} / {CHAIN_FORMAT})"
        )
        return None
    report.reference = manifest.get("reference")
    report.aggregates = dict(manifest.get("aggregates", {}))
    for name, expected in manifest.get("files", {}).items():
        path = directory / name
        if not path.is_file():
            report.problems.append(f"{name} is missing")
        elif _sha256(path) != expected:
            report.problems.append(f"{name} was modified: its SHA-256 differs from the manifest's")
    return manifest


def _compare_with_manifest(manifest: Mapping[str, Any], chain: ChainReport, report: BundleReport) -> None:
    recorded = manifest.get("store_digest", {})
    if recorded.get("digest") != chain.digest.hex() or recorded.get("links") != chain.links_in_digest:
        report.problems.append(
            f"store digest {chain.digest.hex()} over {chain.links_in_digest} links differs from the "
            f"manifest's {recorded.get('digest')} over {recorded.get('links')}"
        )
    heads = {k: (v, link.hex()) for k, (v, link) in chain.heads.items()}
    expected_heads = {k: (h.get("version"), h.get("link")) for k, h in manifest.get("heads", {}).items()}
    for originator_id in sorted(set(heads) | set(expected_heads)):
        if heads.get(originator_id) != expected_heads.get(originator_id):
            label = report.aggregates.get(originator_id, originator_id)
            report.problems.append(
                f"{label}: head link {heads.get(originator_id)} differs from the manifest's "
                f"{expected_heads.get(originator_id)}"
            )


def verify_bundle(directory: Path, expect_digest: str | None = None) -> BundleReport:
    """Check a bundle offline; ``expect_digest`` is a published store digest to look for."""
    report = BundleReport()
    manifest = _load_manifest(directory, report)
    if manifest is None:
        return report
    try:
        events = [_event_row(d) for d in _read_lines(directory / EVENTS_FILE, report.problems)]
        chain_rows = _read_lines(directory / CHAIN_FILE, report.problems)
        all_links = [
            LinkRow(position=int(d["position"]), originator_id=str(d.get("originator_id", "")),
                    version=int(d.get("version", 0)), link=bytes.fromhex(d["link"]))
            for d in chain_rows
        ]
    except (KeyError, ValueError, TypeError, AttributeError) as error:
        report.problems.append(f"malformed bundle line: {type(error).__name__}: {error}")
        return report
    own = [r for r, d in zip(all_links, chain_rows, strict=True) if "originator_id" in d]
    report.chain = verify(events, own, all_links=all_links, check_order=True)
    _compare_with_manifest(manifest, report.chain, report)
    if expect_digest is not None:
        wanted = expect_digest.strip().lower()
        digests = running_digests(r.link for r in all_links)
        report.expected_digest_found_at = next(
            (n for n, d in enumerate(digests, start=1) if d.hex() == wanted), None
        )
        if report.expected_digest_found_at is None:
            report.problems.append(f"the published digest {wanted} is not a digest of this store's chain")
    return report
