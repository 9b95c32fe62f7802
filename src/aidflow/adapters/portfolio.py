"""The portfolio read model: a projection of the notification log into SQL tables (issue 7).

What it holds, one row per aggregate, in its own tables of the store's database:

* ``portfolio_applications``: each application, its scheme, call, company size, département,
  status, and the amount awarded (and when) once decided;
* ``portfolio_conventions``: each convention, its dimensions (size at signature, the
  département of the aided site in force), status, award in force, paid, ordered, repaid,
  waived, the clawback due at its latest assessment, the breaches still open, and its
  clawback inputs (for portfolio-wide assessments, :meth:`PortfolioView.preview_clawback`);
* ``portfolio_flows``: money by calendar year (committed at the award decision, paid,
  clawed back i.e. repaid), for the chart;
* ``portfolio_declarations``: the yearly headcount declaration calendar of each convention,
  so that overdue declarations are counted as of any date.

How it is kept (eventsourcing 9.5's projection pattern, pull-based):

* :class:`PortfolioProjection` reads the application's notification log from the last
  tracked position in pages of 1 000, applies each relevant event to the aggregate it
  belongs to (kept in a bounded cache, replayed from the store at the event's previous
  version when missing), derives the rows of every aggregate the page changed from the
  aggregate's own state, and writes them *with* the page's :class:`Tracking` record in one
  transaction. So each event counts exactly once, and a crashed or killed catch-up resumes
  from the last page it committed.
* The view classes are eventsourcing tracking recorders (``SQLiteTrackingRecorder``,
  ``PostgresTrackingRecorder``) with their own tracking table (``portfolio_tracking``), so
  the read model never collides with another projection's tracking.
* The memory store keeps its read model in an in-memory SQLite database of the process.

Every statement is parameterised; table and schema names are constants (SQLite) or quoted
identifiers (PostgreSQL).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import weakref
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, ClassVar, Protocol
from uuid import UUID

import attrs
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError, Notification, Tracking, TrackingRecorder
from eventsourcing.projection import Projection
from eventsourcing.sqlite import (
    SQLiteApplicationRecorder,
    SQLiteCursor,
    SQLiteDatastore,
    SQLiteTrackingRecorder,
)

from aidflow.adapters.fast import project
from aidflow.application.service import Aidflow
from aidflow.domain.aid_application import AidApplication
from aidflow.domain.clawback import (
    BreachDecision,
    ClawbackAssessment,
    ClawbackFacts,
    ClawbackPolicy,
    DatedAmount,
)
from aidflow.domain.convention import Convention, ConventionStatus
from aidflow.domain.obligations import ConventionTerms, MonitoringFact
from aidflow.domain.values import Money

try:
    from eventsourcing.postgres import (
        PostgresApplicationRecorder,
        PostgresDatastore,
        PostgresTrackingRecorder,
    )
    from psycopg.sql import SQL
except ImportError:  # pragma: no cover - without the postgres extra, SQLite and memory only
    HAVE_POSTGRES = False
else:
    HAVE_POSTGRES = True

PAGE_SIZE = 1000
CACHE_SIZE = 2_000
"""Aggregates kept between pages (a rebuild of 1 M events stays far below 300 MB)."""

DIMENSIONS = ("scheme", "call", "size", "department", "status")
"""What the portfolio can be broken down by."""

NO_CALL = ""
UNKNOWN_SIZE = "unknown"

_APPLICATION_TOPIC = f"{AidApplication.__module__}:{AidApplication.__qualname__}."
_CONVENTION_TOPIC = f"{Convention.__module__}:{Convention.__qualname__}."
TOPIC_PREFIXES = (_APPLICATION_TOPIC, _CONVENTION_TOPIC)


def cents(amount: Decimal) -> int:
    """Money as whole cents, so that SQL sums are exact."""
    return int(amount.scaleb(2).to_integral_value())


def euros(value: int | None) -> Decimal:
    return Decimal(value or 0).scaleb(-2)


# ------------------------------------------------------------------------- rows


@dataclass(frozen=True)
class Rows:
    """The rows derived from the aggregates one page changed."""

    applications: list[tuple[Any, ...]]
    conventions: list[tuple[Any, ...]]
    flows: list[tuple[str, str, int, int]]
    declarations: list[tuple[str, str, str, str | None]]
    changed: list[str]
    changed_conventions: list[str]


def _application_row(application: AidApplication) -> tuple[Any, ...]:
    award = application.award
    size = application.beneficiary.size
    return (
        application.id.hex,
        application.reference,
        application.scheme_code,
        application.origin.call if application.origin else NO_CALL,
        size.value if size else UNKNOWN_SIZE,
        application.site.department,
        application.status.value,
        application.submitted_on.isoformat(),
        cents(award.amount.amount) if award else 0,
        award.decision.decided_on.isoformat() if award else None,
        application.convention_number,
    )


def _open_breaches(convention: Convention) -> int:
    latest = convention.latest_assessment
    if latest is None or convention.status is ConventionStatus.CLOSED:
        return 0
    return sum(1 for b in latest.breaches if b.established or b.pending)


# Clawback inputs are stored compactly: each value object as the list of its fields' values
# (dates as ISO text, money as its decimal text), which the classes' own converters read
# back. The field lists are fingerprinted: rows written under other field lists are not
# trusted (the convention is then read from its events instead).
_PARTS: tuple[tuple[str, type[Any]], ...] = (
    ("terms", ConventionTerms), ("payments", DatedAmount), ("repayments", DatedAmount),
    ("facts", MonitoringFact), ("decisions", BreachDecision),
)
_FIELDS: dict[type[Any], tuple[str, ...]] = {
    cls: tuple(f.name for f in attrs.fields(cls)) for _, cls in _PARTS
}
CLAWBACK_INPUTS_FORMAT = "clawback-inputs/1:" + hashlib.sha256(
    repr(sorted((c.__qualname__, n) for c, n in _FIELDS.items())).encode()
).hexdigest()[:16]


def _primitive(value: Any) -> Any:  # noqa: ANN401 - a field value
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Money | Decimal):
        return str(value)
    return value


def _as_list(obj: Any) -> list[Any]:  # noqa: ANN401 - an attrs value object
    return [_primitive(getattr(obj, name)) for name in _FIELDS[type(obj)]]


def encode_clawback_inputs(facts: ClawbackFacts) -> bytes:
    """The compact JSON of a convention's clawback inputs (see :func:`decode_clawback_inputs`)."""
    return json.dumps({
        "format": CLAWBACK_INPUTS_FORMAT,
        "terms": _as_list(facts.terms),
        "payments": [_as_list(p) for p in facts.payments],
        "repayments": [_as_list(r) for r in facts.repayments],
        "facts": [_as_list(f) for f in facts.facts],
        "decisions": [_as_list(d) for d in facts.decisions],
    }, separators=(",", ":")).encode()


def decode_clawback_inputs(data: bytes) -> ClawbackFacts | None:
    """The :class:`ClawbackFacts` stored with a convention row (None if stored in another format)."""
    stored = json.loads(data)
    if stored.get("format") != CLAWBACK_INPUTS_FORMAT:
        return None
    return ClawbackFacts(
        terms=ConventionTerms(*stored["terms"]),
        payments=[DatedAmount(*p) for p in stored["payments"]],
        repayments=[DatedAmount(*r) for r in stored["repayments"]],
        facts=[MonitoringFact(*f) for f in stored["facts"]],
        decisions=[BreachDecision(*d) for d in stored["decisions"]],
    )


def _clawback_inputs(convention: Convention) -> bytes:
    return encode_clawback_inputs(convention.clawback_facts())


def _convention_row(convention: Convention) -> tuple[Any, ...]:
    latest = convention.latest_assessment
    size = convention.size_at_signature
    amended_on = max((a.signed_on for a in getattr(convention, "amendments", ())), default=None)
    return (
        convention.id.hex,
        convention.number,
        convention.application_reference,
        convention.scheme_code,
        convention.origin.call if convention.origin else NO_CALL,
        size.value if size else UNKNOWN_SIZE,
        convention.site.department,
        convention.status.value,
        convention.signed_on.isoformat(),
        cents(convention.awarded.amount),
        cents(convention.paid.amount),
        cents(convention.ordered.amount),
        cents(convention.repaid.amount),
        cents(convention.waived.amount),
        cents(latest.total_due.amount) if latest else 0,
        _open_breaches(convention),
        amended_on.isoformat() if amended_on else None,
        _clawback_inputs(convention),
    )


def _flows_of_application(application: AidApplication) -> Iterator[tuple[str, str, int, int]]:
    if application.award is not None:
        yield (application.id.hex, "committed", application.award.decision.decided_on.year,
               cents(application.award.amount.amount))


def _by_year(
    kind: str, key: str, amounts: Iterable[tuple[date, Decimal]]
) -> Iterator[tuple[str, str, int, int]]:
    totals: dict[int, int] = {}
    for on, amount in amounts:
        totals[on.year] = totals.get(on.year, 0) + cents(amount)
    for year, total in sorted(totals.items()):
        yield key, kind, year, total


def _flows_of_convention(convention: Convention) -> Iterator[tuple[str, str, int, int]]:
    key = convention.id.hex
    yield from _by_year("paid", key, ((p.on, p.amount.amount) for p in convention.payments.values()))
    yield from _by_year("clawed_back", key, ((r.on, r.amount.amount) for r in convention.repayments.values()))


def _declarations(convention: Convention) -> Iterator[tuple[str, str, str, str | None]]:
    for item in convention.declarations(date.max):
        yield (
            convention.id.hex,
            item.anniversary.isoformat(),
            item.due_by.isoformat(),
            item.made_on.isoformat() if item.made_on else None,
        )


def derive_rows(aggregates: Iterable[Aggregate]) -> Rows:
    """The read-model rows of each aggregate, from its current state."""
    rows = Rows([], [], [], [], [], [])
    for aggregate in aggregates:
        rows.changed.append(aggregate.id.hex)
        if isinstance(aggregate, AidApplication):
            rows.applications.append(_application_row(aggregate))
            rows.flows.extend(_flows_of_application(aggregate))
        elif isinstance(aggregate, Convention):
            rows.conventions.append(_convention_row(aggregate))
            rows.flows.extend(_flows_of_convention(aggregate))
            rows.declarations.extend(_declarations(aggregate))
            rows.changed_conventions.append(aggregate.id.hex)
    return rows


# ------------------------------------------------------------------------- queries


@dataclass(frozen=True)
class PortfolioLine:
    """One line of the portfolio: a combination of dimensions and its figures."""

    keys: dict[str, str]
    dossiers: int
    awarded: Decimal
    paid: Decimal
    at_risk: int
    open_breaches: int
    overdue_declarations: int
    clawback_due: Decimal
    repaid: Decimal

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.keys,
            "dossiers": self.dossiers,
            "awarded": str(self.awarded),
            "paid": str(self.paid),
            "at_risk": self.at_risk,
            "open_breaches": self.open_breaches,
            "overdue_declarations": self.overdue_declarations,
            "clawback_due": str(self.clawback_due),
            "repaid": str(self.repaid),
        }


@dataclass(frozen=True)
class YearFlows:
    """Money by calendar year: committed (awards decided), paid, clawed back (repaid)."""

    year: int
    committed: Decimal
    paid: Decimal
    clawed_back: Decimal


def _check_dimensions(by: Sequence[str]) -> tuple[str, ...]:
    unknown = [d for d in by if d not in DIMENSIONS]
    if unknown:
        msg = f"unknown portfolio dimension {unknown[0]!r} (known: {', '.join(DIMENSIONS)})"
        raise ValueError(msg)
    return tuple(dict.fromkeys(by))


def _summary_sql(dims: Sequence[str], tables: Mapping[str, str]) -> str:
    """The portfolio query; ``dims`` are checked names, ``tables`` quoted constant names."""
    select = ", ".join(dims)
    group = f" GROUP BY {select} ORDER BY {select}" if dims else ""
    lead = f"{select}, " if dims else ""
    a, c, d = tables["applications"], tables["conventions"], tables["declarations"]
    return (
        f"WITH overdue AS (SELECT convention_id, COUNT(*) AS n FROM {d} "  # noqa: S608 - constant names
        "WHERE made_on IS NULL AND due_by < %(on)s GROUP BY convention_id), "
        "dossiers AS ("
        f"SELECT scheme, call, size, department, status, awarded, 0 AS paid, 0 AS breaches, "
        f"0 AS overdue, 0 AS due, 0 AS repaid FROM {a} WHERE status <> 'signed' "
        "UNION ALL "
        f"SELECT scheme, call, size, department, status, awarded, paid, open_breaches, "
        f"COALESCE(overdue.n, 0), clawback_due, repaid FROM {c} "
        "LEFT JOIN overdue ON overdue.convention_id = id "
        "AND status <> 'closed') "
        f"SELECT {lead}COUNT(*) AS n_dossiers, SUM(awarded) AS s_awarded, SUM(paid) AS s_paid, "
        "SUM(CASE WHEN breaches > 0 OR overdue > 0 THEN 1 ELSE 0 END) AS s_at_risk, "
        "SUM(breaches) AS s_breaches, SUM(overdue) AS s_overdue, SUM(due) AS s_due, "
        "SUM(repaid) AS s_repaid "
        f"FROM dossiers{group}"
    )


def _flows_sql(table: str) -> str:
    return (
        f"SELECT year, kind, SUM(amount) AS total FROM {table} GROUP BY year, kind ORDER BY year"  # noqa: S608 - constant name
    )


def _line(dims: Sequence[str], row: Sequence[Any]) -> PortfolioLine:
    keys = {d: str(v) for d, v in zip(dims, row, strict=False)}
    rest = list(row[len(dims):])
    return PortfolioLine(
        keys=keys,
        dossiers=int(rest[0] or 0),
        awarded=euros(rest[1]),
        paid=euros(rest[2]),
        at_risk=int(rest[3] or 0),
        open_breaches=int(rest[4] or 0),
        overdue_declarations=int(rest[5] or 0),
        clawback_due=euros(rest[6]),
        repaid=euros(rest[7]),
    )


def _years(rows: Iterable[Sequence[Any]]) -> list[YearFlows]:
    by_year: dict[int, dict[str, int]] = {}
    for year, kind, amount in rows:
        by_year.setdefault(int(year), {})[str(kind)] = int(amount or 0)
    return [
        YearFlows(year, euros(k.get("committed")), euros(k.get("paid")), euros(k.get("clawed_back")))
        for year, k in sorted(by_year.items())
    ]


class PortfolioView(Protocol):
    """What every store's read model offers (a tracking recorder plus these)."""

    def write(self, rows: Rows, tracking: Tracking) -> None: ...
    def max_tracking_id(self, application_name: str) -> int | None: ...
    def summary(self, by: Sequence[str], on: date) -> list[PortfolioLine]: ...
    def flows(self) -> list[YearFlows]: ...
    def clawback_inputs(self) -> Iterator[tuple[str, str, str | None, bytes]]: ...
    def counts(self) -> tuple[int, int]: ...
    def reset(self) -> None: ...


# ---------------------------------------------------------------------- SQLite


class SQLitePortfolioView(SQLiteTrackingRecorder):
    """The read model in the store's SQLite database (or an in-memory one for ``memory:``)."""

    tables: ClassVar[dict[str, str]] = {
        "tracking": "portfolio_tracking",
        "applications": "portfolio_applications",
        "conventions": "portfolio_conventions",
        "flows": "portfolio_flows",
        "declarations": "portfolio_declarations",
    }

    def __init__(self, datastore: SQLiteDatastore, **kwargs: Any) -> None:  # noqa: ANN401 - base signature
        super().__init__(datastore, **kwargs)
        t = self.tables
        self.insert_tracking_statement = self.insert_tracking_statement.replace(
            "INTO tracking", f"INTO {t['tracking']}").replace("WHERE tracking.", f"WHERE {t['tracking']}.")
        self.select_max_tracking_id_statement = (
            f"SELECT MAX(notification_id) FROM {t['tracking']} WHERE application_name=?"  # noqa: S608
        )
        self._upsert_application = (
            f"INSERT OR REPLACE INTO {t['applications']} VALUES (?,?,?,?,?,?,?,?,?,?,?)"  # noqa: S608
        )
        self._upsert_convention = (
            f"INSERT OR REPLACE INTO {t['conventions']} VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"  # noqa: S608
        )

    def construct_create_table_statements(self) -> list[str]:
        t = self.tables
        return [
            (f"CREATE TABLE IF NOT EXISTS {t['tracking']} (application_name TEXT, notification_id INTEGER, "
             "PRIMARY KEY (application_name)) WITHOUT ROWID"),
            (f"CREATE TABLE IF NOT EXISTS {t['applications']} (id TEXT PRIMARY KEY, reference TEXT, "
             "scheme TEXT, call TEXT, size TEXT, department TEXT, status TEXT, submitted_on TEXT, "
             "awarded INTEGER, decided_on TEXT, convention TEXT)"),
            (f"CREATE TABLE IF NOT EXISTS {t['conventions']} (id TEXT PRIMARY KEY, number TEXT, "
             "application_reference TEXT, scheme TEXT, call TEXT, size TEXT, department TEXT, status TEXT, "
             "signed_on TEXT, awarded INTEGER, paid INTEGER, ordered INTEGER, repaid INTEGER, "
             "waived INTEGER, clawback_due INTEGER, open_breaches INTEGER, amended_on TEXT, "
             "clawback_inputs BLOB)"),
            (f"CREATE TABLE IF NOT EXISTS {t['flows']} (aggregate_id TEXT, kind TEXT, year INTEGER, "
             "amount INTEGER, PRIMARY KEY (aggregate_id, kind, year)) WITHOUT ROWID"),
            (f"CREATE TABLE IF NOT EXISTS {t['declarations']} (convention_id TEXT, anniversary TEXT, "
             "due_by TEXT, made_on TEXT, PRIMARY KEY (convention_id, anniversary)) WITHOUT ROWID"),
        ]

    def write(self, rows: Rows, tracking: Tracking) -> None:
        """The rows of one page and its tracking record, in one transaction."""
        t = self.tables
        with self.datastore.transaction(commit=True) as c:
            self._write(c, rows, t)
            self._insert_tracking(c, tracking)

    def _write(self, c: SQLiteCursor, rows: Rows, t: Mapping[str, str]) -> None:
        c.executemany(self._upsert_application, rows.applications)
        c.executemany(self._upsert_convention, rows.conventions)
        c.executemany(f"DELETE FROM {t['flows']} WHERE aggregate_id=?", [(i,) for i in rows.changed])  # noqa: S608
        c.executemany(f"INSERT INTO {t['flows']} VALUES (?,?,?,?)", rows.flows)  # noqa: S608
        c.executemany(
            f"DELETE FROM {t['declarations']} WHERE convention_id=?",  # noqa: S608
            [(i,) for i in rows.changed_conventions],
        )
        c.executemany(f"INSERT INTO {t['declarations']} VALUES (?,?,?,?)", rows.declarations)  # noqa: S608

    def summary(self, by: Sequence[str], on: date) -> list[PortfolioLine]:
        dims = _check_dimensions(by)
        sql = _summary_sql(dims, self.tables).replace("%(on)s", ":on")
        with self.datastore.transaction(commit=False) as c:
            c.execute(sql, {"on": on.isoformat()})
            rows = c.fetchall()
        return [_line(dims, tuple(r)) for r in rows if r[len(dims)]]

    def flows(self) -> list[YearFlows]:
        with self.datastore.transaction(commit=False) as c:
            c.execute(_flows_sql(self.tables["flows"]))
            return _years(tuple(r) for r in c.fetchall())

    def clawback_inputs(self) -> Iterator[tuple[str, str, str | None, bytes]]:
        last = ""
        statement = (
            f"SELECT id, number, amended_on, clawback_inputs FROM {self.tables['conventions']} "  # noqa: S608
            "WHERE id > ? ORDER BY id LIMIT 2000"
        )
        while True:
            with self.datastore.transaction(commit=False) as c:
                c.execute(statement, (last,))
                page = [tuple(r) for r in c.fetchall()]
            yield from page
            if len(page) < 2000:  # noqa: PLR2004 - the page size above
                return
            last = page[-1][0]

    def counts(self) -> tuple[int, int]:
        with self.datastore.transaction(commit=False) as c:
            c.execute(f"SELECT COUNT(*) FROM {self.tables['applications']}")  # noqa: S608
            applications = int(c.fetchone()[0])
            c.execute(f"SELECT COUNT(*) FROM {self.tables['conventions']}")  # noqa: S608
            return applications, int(c.fetchone()[0])

    def reset(self) -> None:
        """Empty the read model and its tracking (a rebuild starts from notification 1)."""
        with self.datastore.transaction(commit=True) as c:
            for name in ("applications", "conventions", "flows", "declarations"):
                c.execute(f"DELETE FROM {self.tables[name]}")  # noqa: S608
            c.execute(
                f"DELETE FROM {self.tables['tracking']} WHERE application_name <> ?",  # noqa: S608
                (self.table_migration_identifier,),
            )


# ---------------------------------------------------------------------- PostgreSQL


def _sql(statement: str) -> Any:  # noqa: ANN401 - psycopg's SQL, typed for literal strings
    """A statement built from constant table names and the store's quoted schema name."""
    return SQL(statement)


def _quoted(name: str) -> str:
    """A PostgreSQL identifier, quoted (names come from constants and the store's schema)."""
    return '"' + name.replace('"', '""') + '"'


if HAVE_POSTGRES:

    class PostgresPortfolioView(PostgresTrackingRecorder):
        """The read model in the store's PostgreSQL schema."""

        tables: ClassVar[dict[str, str]] = SQLitePortfolioView.tables

        def __init__(self, datastore: PostgresDatastore, **kwargs: Any) -> None:  # noqa: ANN401 - base signature
            super().__init__(datastore, tracking_table_name=self.tables["tracking"], **kwargs)
            schema = _quoted(datastore.schema)
            self.names = {k: f"{schema}.{_quoted(v)}" for k, v in self.tables.items()}
            n = self.names
            self.sql_create_statements.extend(_sql(statement) for statement in (
                (f"CREATE TABLE IF NOT EXISTS {n['applications']} (id text PRIMARY KEY, reference text, "
                 "scheme text, call text, size text, department text, status text, submitted_on text, "
                 "awarded bigint, decided_on text, convention text)"),
                (f"CREATE TABLE IF NOT EXISTS {n['conventions']} (id text PRIMARY KEY, number text, "
                 "application_reference text, scheme text, call text, size text, department text, "
                 "status text, signed_on text, awarded bigint, paid bigint, ordered bigint, repaid bigint, "
                 "waived bigint, clawback_due bigint, open_breaches integer, amended_on text, "
                 "clawback_inputs bytea)"),
                (f"CREATE TABLE IF NOT EXISTS {n['flows']} (aggregate_id text, kind text, year integer, "
                 "amount bigint, PRIMARY KEY (aggregate_id, kind, year))"),
                (f"CREATE TABLE IF NOT EXISTS {n['declarations']} (convention_id text, anniversary text, "
                 "due_by text, made_on text, PRIMARY KEY (convention_id, anniversary))"),
            ))
            self._upsert_application = _sql(_upsert(n["applications"], _APPLICATION_COLUMNS))
            self._upsert_convention = _sql(_upsert(n["conventions"], _CONVENTION_COLUMNS))
            self._statements = {
                "delete_flows": _sql(f"DELETE FROM {n['flows']} WHERE aggregate_id = ANY(%s)"),  # noqa: S608
                "insert_flow": _sql(f"INSERT INTO {n['flows']} VALUES (%s,%s,%s,%s)"),  # noqa: S608
                "delete_declarations": _sql(
                    f"DELETE FROM {n['declarations']} WHERE convention_id = ANY(%s)"),  # noqa: S608
                "insert_declaration": _sql(f"INSERT INTO {n['declarations']} VALUES (%s,%s,%s,%s)"),  # noqa: S608
            }

        def write(self, rows: Rows, tracking: Tracking) -> None:
            """The rows of one page and its tracking record, in one transaction."""
            s = self._statements
            with self.datastore.transaction(commit=True) as curs:
                if rows.applications:
                    curs.executemany(self._upsert_application, rows.applications)
                if rows.conventions:
                    curs.executemany(self._upsert_convention, rows.conventions)
                if rows.changed:
                    curs.execute(s["delete_flows"], (rows.changed,))
                if rows.flows:
                    curs.executemany(s["insert_flow"], rows.flows)
                if rows.changed_conventions:
                    curs.execute(s["delete_declarations"], (rows.changed_conventions,))
                if rows.declarations:
                    curs.executemany(s["insert_declaration"], rows.declarations)
                self._insert_tracking(curs, tracking)

        def summary(self, by: Sequence[str], on: date) -> list[PortfolioLine]:
            dims = _check_dimensions(by)
            with self.datastore.transaction(commit=False) as curs:
                curs.execute(_sql(_summary_sql(dims, self.names)), {"on": on.isoformat()})
                rows = [tuple(r.values()) for r in curs.fetchall()]
            return [_line(dims, r) for r in rows if r[len(dims)]]

        def flows(self) -> list[YearFlows]:
            with self.datastore.transaction(commit=False) as curs:
                curs.execute(_sql(_flows_sql(self.names["flows"])))
                return _years(tuple(r.values()) for r in curs.fetchall())

        def clawback_inputs(self) -> Iterator[tuple[str, str, str | None, bytes]]:
            last = ""
            statement = _sql(
                f"SELECT id, number, amended_on, clawback_inputs FROM {self.names['conventions']} "  # noqa: S608
                "WHERE id > %s ORDER BY id LIMIT 2000"
            )
            while True:
                with self.datastore.transaction(commit=False) as curs:
                    curs.execute(statement, (last,))
                    page = [tuple(r.values()) for r in curs.fetchall()]
                yield from page
                if len(page) < 2000:  # noqa: PLR2004 - the page size above
                    return
                last = page[-1][0]

        def counts(self) -> tuple[int, int]:
            with self.datastore.transaction(commit=False) as curs:
                curs.execute(_sql(f"SELECT COUNT(*) AS n FROM {self.names['applications']}"))  # noqa: S608
                applications = int(curs.fetchone()["n"])  # type: ignore[index]
                curs.execute(_sql(f"SELECT COUNT(*) AS n FROM {self.names['conventions']}"))  # noqa: S608
                return applications, int(curs.fetchone()["n"])  # type: ignore[index]

        def reset(self) -> None:
            """Empty the read model and its tracking (a rebuild starts from notification 1)."""
            with self.datastore.transaction(commit=True) as curs:
                for name in ("applications", "conventions", "flows", "declarations"):
                    curs.execute(_sql(f"DELETE FROM {self.names[name]}"))  # noqa: S608
                curs.execute(
                    _sql(f"DELETE FROM {self.names['tracking']} WHERE application_name <> %s"),  # noqa: S608
                    (self.table_migration_identifier,),
                )


_APPLICATION_COLUMNS = ("id", "reference", "scheme", "call", "size", "department", "status",
                        "submitted_on", "awarded", "decided_on", "convention")
_CONVENTION_COLUMNS = ("id", "number", "application_reference", "scheme", "call", "size", "department",
                       "status", "signed_on", "awarded", "paid", "ordered", "repaid", "waived",
                       "clawback_due", "open_breaches", "amended_on", "clawback_inputs")


def _upsert(table: str, columns: Sequence[str]) -> str:
    values = ",".join("%s" for _ in columns)
    updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in columns[1:])
    return f"INSERT INTO {table} VALUES ({values}) ON CONFLICT (id) DO UPDATE SET {updates}"  # noqa: S608


# ---------------------------------------------------------------------- views by store


_MEMORY_VIEWS: weakref.WeakKeyDictionary[Aidflow, SQLitePortfolioView] = weakref.WeakKeyDictionary()


def open_view(app: Aidflow) -> PortfolioView:
    """The read model of ``app``'s store (tables created on first use)."""
    recorder = app.recorder
    if isinstance(recorder, SQLiteApplicationRecorder):
        view: PortfolioView = SQLitePortfolioView(recorder.datastore)
        view.create_table()  # type: ignore[attr-defined]
        return view
    if HAVE_POSTGRES and isinstance(recorder, PostgresApplicationRecorder):
        pg_view = PostgresPortfolioView(recorder.datastore)
        pg_view.create_table()
        return pg_view
    memory = _MEMORY_VIEWS.get(app)
    if memory is None:
        memory = SQLitePortfolioView(SQLiteDatastore(":memory:", pool_size=1, max_overflow=0))
        memory.create_table()
        _MEMORY_VIEWS[app] = memory
    return memory


# ---------------------------------------------------------------------- projection


@dataclass(frozen=True)
class CatchUp:
    """Passed to the ``progress`` callback after each page."""

    position: int
    head: int
    events: int


class PortfolioProjection(Projection[TrackingRecorder]):
    """Keeps the portfolio read model up to date with an ``Aidflow`` store.

    ``process_event`` handles one event (the eventsourcing ``Projection`` interface);
    :meth:`catch_up` reads the notification log in pages and commits each page's rows with
    its tracking record, which is how the CLI and the benchmark run it.
    """

    name = "portfolio"
    topics = ()

    def __init__(self, view: PortfolioView, app: Aidflow, cache_size: int = CACHE_SIZE) -> None:
        super().__init__(view=view)  # type: ignore[arg-type]
        self.portfolio = view
        self.app = app
        self.cache_size = cache_size
        self._cache: dict[UUID, Aggregate] = {}

    def process_event(self, domain_event: Any, tracking: Tracking) -> None:  # noqa: ANN401 - any event
        changed: dict[UUID, Aggregate] = {}
        self._apply(domain_event, changed)
        self._commit(changed, tracking)

    def process_notifications(self, notifications: Sequence[Notification]) -> int:
        """Apply a page of notifications and commit it; returns how many events were relevant."""
        changed: dict[UUID, Aggregate] = {}
        relevant = 0
        to_domain_event = self.app.mapper.to_domain_event
        for notification in notifications:
            if notification.topic.startswith(TOPIC_PREFIXES):
                self._apply(to_domain_event(notification), changed)
                relevant += 1
        self._commit(changed, Tracking(self.app.name, notifications[-1].id))
        return relevant

    def catch_up(self, progress: Callable[[CatchUp], None] | None = None, page_size: int = PAGE_SIZE) -> int:
        """Process every notification after the tracked position; returns how many were read."""
        head = self.app.recorder.max_notification_id() or 0
        position = self.portfolio.max_tracking_id(self.app.name) or 0
        done = 0
        while position < head:
            page = self.app.recorder.select_notifications(start=position + 1, limit=page_size, stop=head)
            if not page:
                break
            try:
                self.process_notifications(page)
            except IntegrityError:
                # Another process committed this page first: continue from where it got to.
                self._cache.clear()
                position = self.portfolio.max_tracking_id(self.app.name) or 0
                continue
            done += len(page)
            position = page[-1].id
            if progress is not None:
                progress(CatchUp(position=position, head=head, events=done))
        return done

    def _apply(self, domain_event: Any, changed: dict[UUID, Aggregate]) -> None:  # noqa: ANN401
        originator_id = domain_event.originator_id
        version = domain_event.originator_version
        aggregate = changed.get(originator_id) or self._cache.get(originator_id)
        if aggregate is not None and aggregate.version != version - 1:
            aggregate = None
        if aggregate is None and version > 1:
            aggregate = self._load(originator_id, version - 1)
        aggregate = domain_event.mutate(aggregate)
        changed[originator_id] = aggregate

    def _load(self, originator_id: UUID, version: int) -> Aggregate:
        found: Aggregate = self.app.repository.get(originator_id, version=version, projector_func=project)
        return found

    def _commit(self, changed: Mapping[UUID, Aggregate], tracking: Tracking) -> None:
        rows = derive_rows(changed.values())
        try:
            self.portfolio.write(rows, tracking)
        except Exception:
            self._cache.clear()
            raise
        self._cache.update(changed)
        overflow = len(self._cache) - self.cache_size
        if overflow > 0:
            for key in list(itertools.islice(self._cache, overflow + self.cache_size // 2)):
                del self._cache[key]


# ---------------------------------------------------------------------- the service


class Portfolio:
    """The portfolio of one ``Aidflow`` store: catch up, then query."""

    def __init__(self, app: Aidflow) -> None:
        self.app = app
        self.view = open_view(app)
        self.projection = PortfolioProjection(self.view, app)

    def catch_up(self, progress: Callable[[CatchUp], None] | None = None) -> int:
        return self.projection.catch_up(progress)

    def rebuild(self, progress: Callable[[CatchUp], None] | None = None) -> int:
        """Empty the read model and project the whole notification log again."""
        self.view.reset()
        self.projection = PortfolioProjection(self.view, self.app)
        return self.projection.catch_up(progress)

    def summary(self, by: Sequence[str] = ("scheme",), on: date | None = None) -> list[PortfolioLine]:
        return self.view.summary(by, on or self.app.clock())

    def flows(self) -> list[YearFlows]:
        return self.view.flows()

    def preview_clawback(
        self, on: date, policy: ClawbackPolicy | None = None
    ) -> Iterator[tuple[str, ClawbackAssessment]]:
        """What an assessment as of ``on`` would find on every convention, from the read model.

        Recording nothing. A convention amended after ``on`` is assessed from its events (the
        terms in force on ``on`` differ from those stored with its row).
        """
        chosen = policy or self.app.clawback_policy
        day = on.isoformat()
        for _, number, amended_on, data in self.view.clawback_inputs():
            facts = None if amended_on is not None and amended_on > day else decode_clawback_inputs(data)
            if facts is None:
                facts = self.app.convention(number).clawback_facts(on)
            yield number, chosen.assess(facts, on)


__all__ = [
    "DIMENSIONS",
    "CatchUp",
    "Portfolio",
    "PortfolioLine",
    "PortfolioProjection",
    "PortfolioView",
    "PostgresPortfolioView",
    "SQLitePortfolioView",
    "YearFlows",
    "open_view",
]
