"""Tamper evidence: a hash chain over each aggregate's stored events, and a store digest.

Each stored event gets a *link*, written by the chained recorders
(:mod:`aidflow.adapters.chained_sqlite`, :mod:`aidflow.adapters.chained_postgres`) into the
``aidflow_chain`` table in the same transaction as the event itself::

    link(v) = SHA-256( "aidflow-chain/1" NUL
                       link(previous version of the same aggregate)   -- 32 zero bytes first
                       len+topic  len+originator id  len+version  len+timestamp  len+state )

Every field is length-prefixed (8 bytes, big-endian) so that no two different events hash
the same bytes. The originator id is its canonical text (``str(UUID)``), the version its
decimal text, the timestamp the text eventsourcing stored in the state
(``{"timestamp": {"_type_": "datetime_iso", "_data_": …}}``; empty when the state is not
plain JSON, e.g. compressed or encrypted, where the state bytes still cover it). The state
is hashed exactly as stored, so any change of a recorded fact, of its recording time or of
its version breaks the link.

The *store digest* folds every link in recording order (``chain position``, which the
recorders assign under the same lock as notification ids):
``digest(n) = SHA-256(digest(n-1) || link(n))``, ``digest(0)`` = 32 zero bytes. Publishing
``(n, digest(n))`` somewhere the database administrators cannot rewrite (a signed register,
a deliberation annex) anchors the whole store up to that point: see
``docs/explanation/threat-model.md``.

This module is pure: no database access. :func:`verify` takes rows read by a recorder or
from a bundle and says what does not match.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol, runtime_checkable
from uuid import UUID

from eventsourcing.persistence import StoredEvent

CHAIN_TABLE = "aidflow_chain"
"""The chain table's name (the same in every store)."""

CHAIN_FORMAT = "aidflow-chain/1"
"""Names the link formula above; a new formula gets a new name, never a silent change."""

GENESIS = bytes(32)
"""The "previous link" of an aggregate's first event, and the empty store's digest."""

_PREFIX = CHAIN_FORMAT.encode() + b"\0"
_LENGTH_BYTES = 8


def canonical_id(originator_id: UUID | str) -> str:
    """The originator id as hashed and as written in bundles: ``str(UUID)`` or the text id."""
    return str(originator_id)


_TIMESTAMP_FIRST = b'{"timestamp":{"_type_":"datetime_iso","_data_":"'
"""How every state aidflow's mappers write begins (the envelope's timestamp comes first)."""


def stored_timestamp(state: bytes) -> str:
    """The recording timestamp eventsourcing put in a JSON state, as stored text ('' if none).

    States that begin with the timestamp (all those aidflow writes) are read without parsing
    the whole JSON (performance, docs/scaling.md): the same text as the full parse whenever
    the state is valid JSON with one ``"timestamp"`` key; anything else takes the full parse.
    """
    if state.startswith(_TIMESTAMP_FIRST):
        start = len(_TIMESTAMP_FIRST)
        end = state.find(b'"', start)
        raw = state[start:end]
        if (
            end > 0
            and state[end : end + 2] == b'"}'
            and raw.isascii()
            and b"\\" not in raw
            and state.count(b'"timestamp"') == 1
        ):
            text = raw.decode("ascii")
            if text.isprintable():
                return text
    if not state.startswith(b"{"):
        return ""
    try:
        decoded = json.loads(state)
    except (ValueError, UnicodeDecodeError):
        return ""
    value = decoded.get("timestamp") if isinstance(decoded, dict) else None
    if isinstance(value, dict):
        value = value.get("_data_")
    return value if isinstance(value, str) else ""


def _field(data: bytes) -> bytes:
    return len(data).to_bytes(_LENGTH_BYTES, "big") + data


def link(previous: bytes, topic: str, originator_id: str, version: int, state: bytes) -> bytes:
    """The link of one stored event, chained on the aggregate's previous link."""
    digest = hashlib.sha256(_PREFIX)
    digest.update(previous)
    for text in (topic, originator_id, str(version), stored_timestamp(state)):
        digest.update(_field(text.encode()))
    digest.update(_field(state))
    return digest.digest()


def fold_digest(links: Iterable[bytes], start: bytes = GENESIS) -> bytes:
    """The store digest over links in recording order."""
    digest = start
    for value in links:
        digest = hashlib.sha256(digest + value).digest()
    return digest


def running_digests(links: Iterable[bytes]) -> Iterator[bytes]:
    """``digest(1), digest(2), …``: every prefix's digest, to find a published one."""
    digest = GENESIS
    for value in links:
        digest = hashlib.sha256(digest + value).digest()
        yield digest


def new_links(
    heads: Mapping[str, tuple[int, bytes]], stored_events: Sequence[StoredEvent]
) -> list[tuple[StoredEvent, bytes]]:
    """Links for events about to be inserted, given each aggregate's current head link.

    ``heads`` maps a canonical originator id to its highest chained (version, link);
    events of one batch chain on each other in the order given.
    """
    current = dict(heads)
    rows = []
    for event in stored_events:
        key = canonical_id(event.originator_id)
        previous = current.get(key, (None, GENESIS))[1]
        value = link(previous, event.topic, key, event.originator_version, event.state)
        current[key] = (event.originator_version, value)
        rows.append((event, value))
    return rows


# ---------------------------------------------------------------------- rows


@dataclass(frozen=True)
class EventRow:
    """One stored event as read back (from the events table or a bundle)."""

    originator_id: str
    version: int
    topic: str
    state: bytes
    notification_id: int | None = None


@dataclass(frozen=True)
class LinkRow:
    """One row of the chain table: the link recorded with an event, at a chain position."""

    position: int
    originator_id: str
    version: int
    link: bytes


@runtime_checkable
class ChainedRecorder(Protocol):
    """What a recorder that keeps the chain offers for verification."""

    def read_chain(
        self, originator_ids: Sequence[UUID | str] | None = None
    ) -> tuple[list[EventRow], list[LinkRow]]:
        """Events and links (all, or of some aggregates), read in one snapshot."""
        ...

    def read_links(self) -> list[LinkRow]:
        """Every link, in chain position order (for the store digest)."""
        ...


# -------------------------------------------------------------------- verify


class FindingKind(StrEnum):
    MODIFIED = "modified"
    DELETED = "deleted"
    INSERTED = "inserted"
    REORDERED = "reordered"


@dataclass(frozen=True)
class Finding:
    """One discrepancy between the stored events and their chain."""

    kind: FindingKind
    originator_id: str
    version: int
    detail: str


@dataclass
class ChainReport:
    """What :func:`verify` found, and the store digest it computed."""

    findings: list[Finding] = field(default_factory=list)
    events_checked: int = 0
    aggregates_checked: int = 0
    heads: dict[str, tuple[int, bytes]] = field(default_factory=dict)
    digest: bytes = GENESIS
    links_in_digest: int = 0

    @property
    def ok(self) -> bool:
        return not self.findings


def _check_aggregate(
    originator_id: str, events: Mapping[int, EventRow], links: Sequence[LinkRow]
) -> list[Finding]:
    findings: list[Finding] = []
    previous_link: dict[int, bytes] = {}
    mismatched: list[int] = []
    previous = GENESIS
    previous_version: int | None = None
    for row in links:
        previous_link[row.version] = previous
        gap = previous_version is not None and row.version != previous_version + 1
        event = events.get(row.version)
        if gap and previous_version is not None:
            missing = f"{previous_version + 1}" if row.version == previous_version + 2 else (
                f"{previous_version + 1}-{row.version - 1}")
            findings.append(Finding(
                FindingKind.DELETED, originator_id, previous_version + 1,
                f"version(s) {missing} missing from both the events and the chain "
                "(deleted with their links)"))
        if event is None:
            findings.append(Finding(
                FindingKind.DELETED, originator_id, row.version,
                "the chain records this version but the stored event is missing (deleted)"))
        elif link(previous, event.topic, originator_id, event.version, event.state) != row.link and not gap:
            mismatched.append(row.version)
        previous, previous_version = row.link, row.version
    chained = {row.version: row for row in links}
    findings.extend(
        Finding(FindingKind.INSERTED, originator_id, version,
                "stored event has no chain link (written outside aidflow)")
        for version in sorted(set(events) - set(chained))
    )
    for version in mismatched:
        event = events[version]
        moved_from = [
            other for other in mismatched
            if other != version and chained[other].link == link(
                previous_link[other], event.topic, originator_id, other, event.state)
        ]
        if moved_from:
            findings.append(Finding(
                FindingKind.REORDERED, originator_id, version,
                f"the event stored at version {version} is the one chained at version {moved_from[0]}"))
        else:
            findings.append(Finding(
                FindingKind.MODIFIED, originator_id, version,
                "stored event differs from the one chained (topic, state or timestamp modified)"))
    return findings


def _check_order(events: Iterable[EventRow], links: Sequence[LinkRow]) -> list[Finding]:
    """Notification order must follow chain order (both are recording order).

    Consecutive chained events are compared, so one moved event is reported once.
    """
    notification = {(e.originator_id, e.version): e.notification_id for e in events}
    findings = []
    last: tuple[int, LinkRow] | None = None
    for row in links:
        number = notification.get((row.originator_id, row.version))
        if number is None:
            continue
        if last is not None and number <= last[0]:
            before = last[1]
            findings.append(Finding(
                FindingKind.REORDERED, row.originator_id, row.version,
                f"notification {number} comes before notification {last[0]} "
                f"({before.originator_id} v{before.version}), but it was recorded after it"))
        last = (number, row)
    return findings


def verify(
    events: Iterable[EventRow],
    links: Iterable[LinkRow],
    *,
    all_links: Sequence[LinkRow] | None = None,
    check_order: bool = True,
) -> ChainReport:
    """Recompute every link from the stored events and compare with the chain.

    Args:
        events: the stored events to check (all, or some aggregates').
        links: the chain rows of the same aggregates.
        all_links: every chain row of the store in position order, for the store digest
            (default: ``links``).
        check_order: also check that notification order follows chain order.

    Each aggregate is checked link by link against its *stored* previous link, so a
    finding points at the very version that changed rather than at everything after it.
    """
    event_list = list(events)
    link_list = sorted(links, key=lambda r: r.position)
    by_aggregate_events: dict[str, dict[int, EventRow]] = defaultdict(dict)
    for event in event_list:
        by_aggregate_events[event.originator_id][event.version] = event
    by_aggregate_links: dict[str, list[LinkRow]] = defaultdict(list)
    for row in link_list:
        by_aggregate_links[row.originator_id].append(row)
    report = ChainReport(events_checked=len(event_list))
    for originator_id in sorted(set(by_aggregate_events) | set(by_aggregate_links)):
        rows = sorted(by_aggregate_links[originator_id], key=lambda r: r.version)
        report.findings += _check_aggregate(originator_id, by_aggregate_events[originator_id], rows)
        if rows:
            report.heads[originator_id] = (rows[-1].version, rows[-1].link)
    report.aggregates_checked = len(set(by_aggregate_events) | set(by_aggregate_links))
    if check_order:
        report.findings += _check_order(event_list, link_list)
    digest_links = link_list if all_links is None else sorted(all_links, key=lambda r: r.position)
    report.digest = fold_digest(r.link for r in digest_links)
    report.links_in_digest = len(digest_links)
    report.findings.sort(key=lambda f: (f.originator_id, f.version, f.kind.value))
    return report
