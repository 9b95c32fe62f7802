"""Personal data at rest: whole-event encryption, and crypto-shredding per data subject (ADR 0008).

Two layers, both on when ``$AIDFLOW_CIPHER_KEY`` holds an AES key (base64 of 16, 24 or 32
bytes; make one with ``python -c "from eventsourcing.cipher import AESCipher as A;
print(A.create_key(32))"``):

1. **At rest.** eventsourcing's :class:`~eventsourcing.cipher.AESCipher` (AES-GCM) encrypts
   every stored event state with that key (``CIPHER_TOPIC``/``CIPHER_KEY``, set by
   :func:`cipher_env`, which :func:`aidflow.adapters.store.env_for_store` calls).
2. **Erasable.** Inside each event, the *personal fields* listed in :data:`PERSONAL_FIELDS`
   are first *sealed*: replaced by ``{"aidflow-sealed/1": {"k": key id, "v": AES-GCM
   ciphertext}}`` under a data key of their own aggregate. Each data key is kept, wrapped
   (encrypted) with the master key, in the ``aidflow_personal_keys`` table of the same
   database, tagged with its *data subject* (``siren:<SIREN>``, or ``application:<ref>``
   for a beneficiary without SIREN). :func:`erase` destroys the keys of one subject: the
   sealed values can no longer be read and replay shows :data:`ERASED` in their place,
   while every other fact (amounts, dates, SIREN, decisions) replays as before. Stored
   event bytes never change, so the hash chain (``aidflow verify``) still holds.

The sealing is done on the JSON the transcoder produced (:class:`SealingTranscoder`), so the
domain stays unaware of it; :class:`PersonalDataMapper` tells the transcoder which event it
is encoding. Pinned to eventsourcing ``>=9.5.6,<9.6`` (``Mapper.to_stored_event`` calls
``transcoder.encode`` once per event).
"""

from __future__ import annotations

import base64
import binascii
import contextvars
import json
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol
from uuid import UUID

from eventsourcing.cipher import AESCipher
from eventsourcing.persistence import (
    Cipher,
    Compressor,
    InfrastructureFactory,
    Mapper,
    Transcoder,
)
from eventsourcing.utils import Environment, get_topic

from aidflow.domain.errors import AidflowError, InvalidValue

CIPHER_KEY_ENV_VAR = "AIDFLOW_CIPHER_KEY"
KEYS_TABLE = "aidflow_personal_keys"
SEALED = "aidflow-sealed/1"
ERASED = "[erased]"
"""What replay shows in place of an erased personal value."""
_SEALED_MARK = json.dumps(SEALED).encode()


class PersonalDataErased(AidflowError):
    """New personal data was sent for a subject whose data was erased."""


# ------------------------------------------------------------------ settings


def cipher_env(environ: Mapping[str, str]) -> dict[str, str]:
    """eventsourcing settings for ``$AIDFLOW_CIPHER_KEY`` (none when it is unset)."""
    key = environ.get(CIPHER_KEY_ENV_VAR, "").strip()
    if not key:
        return {}
    try:
        raw = base64.b64decode(key.encode(), validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) not in AESCipher.KEY_SIZES:
        msg = f"{CIPHER_KEY_ENV_VAR} must be the base64 of a 16, 24 or 32-byte AES key"
        raise InvalidValue(msg, field=CIPHER_KEY_ENV_VAR, value="(hidden)")
    return {"CIPHER_TOPIC": "eventsourcing.cipher:AESCipher", "CIPHER_KEY": key}


def _aes(key: bytes) -> AESCipher:
    return AESCipher(Environment(env={"CIPHER_KEY": base64.b64encode(key).decode()}))


# ------------------------------------------------------------- what is personal


Path = tuple[str, ...]
"""Keys from the event's JSON state down to a value; ``*`` matches every list item."""


@dataclass(frozen=True)
class PersonalFields:
    """The personal values of one event type, and where its data subject is named."""

    paths: tuple[Path, ...] = ()
    explanation_labels: tuple[str, ...] = ()
    """Explanation nodes (``{"label", "value", …}`` anywhere in the state) whose value is personal."""
    subject_siren: Path | None = None
    subject_reference: Path | None = None


_BENEFICIARY_NAME: Path = ("beneficiary", "_data_", "name")
_BENEFICIARY_SIREN: Path = ("beneficiary", "_data_", "siren", "_data_")
_R4 = ("executive_total_pay", "R4 shareholder-executives' total pay")

PERSONAL_FIELDS: dict[str, PersonalFields] = {
    # The beneficiary's name: a sole trader's or a farmer's trade name is their own name.
    "aidflow.domain.aid_application:AidApplication.Submitted": PersonalFields(
        paths=(_BENEFICIARY_NAME,), subject_siren=_BENEFICIARY_SIREN, subject_reference=("reference",)),
    "aidflow.domain.convention:Convention.Signed": PersonalFields(
        paths=(_BENEFICIARY_NAME,), subject_siren=_BENEFICIARY_SIREN,
        subject_reference=("application_reference",)),
    "aidflow.domain.company:Company.Registered": PersonalFields(
        paths=(("name",),), subject_siren=("siren",)),
    # R4: the shareholder-executives' total pay (salaries + dividends) of identifiable people.
    "aidflow.domain.aid_application:AidApplication.Appraised": PersonalFields(
        paths=(("record", "ratios", "R4"), ("record", "facts", "executive_total_pay")),
        explanation_labels=_R4),
}
"""Event topic → its personal fields. docs/personal-data.md explains each choice."""


# ---------------------------------------------------------------- key stores


class KeyStore(Protocol):
    """Where the wrapped data keys live (the same database as the events)."""

    def find(self, key_id: str) -> tuple[str, bytes | None] | None:
        """(subject, wrapped key or None once erased), or None when no key was made."""
        ...

    def add(self, key_id: str, subject: str, wrapped: bytes) -> None:
        """Store a new key unless one exists for ``key_id`` (the first writer wins)."""
        ...

    def erase(self, subject: str, when: str) -> int:
        """Destroy every key of ``subject``; return how many were destroyed."""
        ...

    def subjects(self) -> dict[str, tuple[int, int]]:
        """subject → (keys, erased keys)."""
        ...


class MemoryKeyStore:
    """Keys of an in-memory store (``memory:``): they live as long as the application."""

    def __init__(self) -> None:
        self._rows: dict[str, tuple[str, bytes | None]] = {}
        self._lock = threading.Lock()

    def find(self, key_id: str) -> tuple[str, bytes | None] | None:
        return self._rows.get(key_id)

    def add(self, key_id: str, subject: str, wrapped: bytes) -> None:
        with self._lock:
            self._rows.setdefault(key_id, (subject, wrapped))

    def erase(self, subject: str, when: str) -> int:
        del when
        with self._lock:
            ids = [k for k, (s, w) in self._rows.items() if s == subject and w is not None]
            for key_id in ids:
                self._rows[key_id] = (subject, None)
        return len(ids)

    def subjects(self) -> dict[str, tuple[int, int]]:
        counts: dict[str, tuple[int, int]] = {}
        for subject, wrapped in self._rows.values():
            total, erased = counts.get(subject, (0, 0))
            counts[subject] = (total + 1, erased + (wrapped is None))
        return counts


class SQLKeyStore:
    """The ``aidflow_personal_keys`` table, through the event store's own datastore.

    ``placeholder`` is ``?`` (SQLite) or ``%s`` (PostgreSQL); every value is a parameter.
    """

    def __init__(self, transaction: Callable[[], Any], table: str, placeholder: str) -> None:
        self._transaction = transaction
        p = placeholder
        self._create = (
            f"CREATE TABLE IF NOT EXISTS {table} (key_id TEXT PRIMARY KEY, subject TEXT NOT NULL, "
            "wrapped_key BYTEA, erased_at TEXT)"
        ) if p == "%s" else (
            f"CREATE TABLE IF NOT EXISTS {table} (key_id TEXT PRIMARY KEY, subject TEXT NOT NULL, "
            "wrapped_key BLOB, erased_at TEXT)"
        )
        self._index = f"CREATE INDEX IF NOT EXISTS {table.replace('.', '_')}_subject ON {table} (subject)"
        self._find = f"SELECT subject, wrapped_key FROM {table} WHERE key_id = {p}"  # noqa: S608 - constant table name
        self._add = (
            f"INSERT INTO {table} (key_id, subject, wrapped_key) VALUES ({p}, {p}, {p}) "  # noqa: S608 - constant name
            "ON CONFLICT (key_id) DO NOTHING"
        )
        self._erase = (
            f"UPDATE {table} SET wrapped_key = NULL, erased_at = {p} "  # noqa: S608 - constant table name
            f"WHERE subject = {p} AND wrapped_key IS NOT NULL"
        )
        self._live = (
            f"SELECT COUNT(*) AS live FROM {table} WHERE subject = {p} AND wrapped_key IS NOT NULL"  # noqa: S608
        )
        self._subjects = (
            f"SELECT subject, COUNT(*), SUM(CASE WHEN wrapped_key IS NULL THEN 1 ELSE 0 END) "  # noqa: S608
            f"FROM {table} GROUP BY subject"
        )
        with self._transaction() as cursor:
            cursor.execute(self._create)
            cursor.execute(self._index)

    def find(self, key_id: str) -> tuple[str, bytes | None] | None:
        with self._transaction() as cursor:
            cursor.execute(self._find, (key_id,))
            row = cursor.fetchone()
        if row is None:
            return None
        subject, wrapped = (row["subject"], row["wrapped_key"]) if isinstance(row, Mapping) else row
        return str(subject), None if wrapped is None else bytes(wrapped)

    def add(self, key_id: str, subject: str, wrapped: bytes) -> None:
        with self._transaction() as cursor:
            cursor.execute(self._add, (key_id, subject, wrapped))

    def erase(self, subject: str, when: str) -> int:
        with self._transaction() as cursor:
            cursor.execute(self._live, (subject,))
            row = cursor.fetchone()
            live = int(row["live"] if isinstance(row, Mapping) else row[0])
            cursor.execute(self._erase, (when, subject))
        return live

    def subjects(self) -> dict[str, tuple[int, int]]:
        with self._transaction() as cursor:
            cursor.execute(self._subjects)
            rows = cursor.fetchall()
        result = {}
        for row in rows:
            values = list(row.values()) if isinstance(row, Mapping) else list(row)
            result[str(values[0])] = (int(values[1]), int(values[2] or 0))
        return result


def key_store_for(factory: InfrastructureFactory[Any]) -> KeyStore:
    """The key store beside the events of ``factory``'s store."""
    datastore = getattr(factory, "datastore", None)
    module = type(factory).__module__
    if datastore is None or module == "eventsourcing.popo":
        return MemoryKeyStore()
    if module == "eventsourcing.sqlite":
        return SQLKeyStore(lambda: datastore.transaction(commit=True), KEYS_TABLE, "?")
    schema = getattr(datastore, "schema", "public")
    return SQLKeyStore(lambda: datastore.transaction(commit=True), f"{schema}.{KEYS_TABLE}", "%s")


# ----------------------------------------------------------------- sealing


_encoding: contextvars.ContextVar[tuple[str, str] | None] = contextvars.ContextVar(
    "aidflow_personal_encoding", default=None
)


class Sealer:
    """Seals and unseals personal values with per-aggregate data keys wrapped by the master key."""

    def __init__(self, master_key: str, keys: KeyStore) -> None:
        self.master = AESCipher(Environment(env={"CIPHER_KEY": master_key}))
        self.keys = keys

    def _data_key(self, key_id: str, subject: str | None) -> AESCipher:
        found = self.keys.find(key_id)
        if found is None:
            wrapped = self.master.encrypt(AESCipher.random_bytes(32))
            self.keys.add(key_id, subject or f"aggregate:{key_id}", wrapped)
            found = self.keys.find(key_id)
        if found is None or found[1] is None:
            shown = found[0] if found else subject
            msg = f"the personal data of {shown} was erased: no new personal data can be recorded for it"
            raise PersonalDataErased(msg, field="subject", value=shown)
        return _aes(self.master.decrypt(found[1]))

    def seal(self, state: bytes, topic: str, key_id: str) -> bytes:
        fields = PERSONAL_FIELDS.get(topic)
        if fields is None:
            return state
        document = json.loads(state)
        subject = _subject(document, fields)
        cipher: list[AESCipher] = []

        def sealed(value: Any) -> dict[str, Any]:  # noqa: ANN401 - any JSON value
            if not cipher:
                cipher.append(self._data_key(key_id, subject))
            plain = json.dumps(value, ensure_ascii=False).encode()
            return {SEALED: {"k": key_id, "v": base64.b64encode(cipher[0].encrypt(plain)).decode()}}

        for path in fields.paths:
            _replace(document, path, sealed)
        if fields.explanation_labels:
            for node in _explanation_nodes(document):
                if node.get("label") in fields.explanation_labels and "value" in node:
                    node["value"] = sealed(node["value"])
        return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()

    def unseal(self, state: bytes) -> bytes:
        if _SEALED_MARK not in state:
            return state
        ciphers: dict[str, AESCipher | None] = {}

        def opened(envelope: dict[str, Any]) -> Any:  # noqa: ANN401 - any JSON value
            key_id = str(envelope["k"])
            if key_id not in ciphers:
                found = self.keys.find(key_id)
                ciphers[key_id] = None if found is None or found[1] is None else _aes(
                    self.master.decrypt(found[1]))
            cipher = ciphers[key_id]
            if cipher is None:
                return ERASED
            return json.loads(cipher.decrypt(base64.b64decode(envelope["v"])))

        return json.dumps(_open_all(json.loads(state), opened), ensure_ascii=False).encode()


def _subject(document: Mapping[str, Any], fields: PersonalFields) -> str | None:
    siren = _get(document, fields.subject_siren) if fields.subject_siren else None
    if isinstance(siren, str) and siren:
        return f"siren:{siren}"
    reference = _get(document, fields.subject_reference) if fields.subject_reference else None
    if isinstance(reference, str) and reference:
        return f"application:{reference}"
    return None


def _get(document: Any, path: Path) -> Any:  # noqa: ANN401 - any JSON value
    node = document
    for key in path:
        if not isinstance(node, Mapping) or key not in node:
            return None
        node = node[key]
    return node


def _replace(node: Any, path: Path, change: Callable[[Any], Any]) -> None:  # noqa: ANN401
    if not path:
        return
    key, rest = path[0], path[1:]
    children: list[tuple[Any, Any]] = []
    if key == "*" and isinstance(node, list):
        children = list(enumerate(node))
    elif isinstance(node, dict) and key in node:
        children = [(key, node[key])]
    for index, child in children:
        if rest:
            _replace(child, rest, change)
        elif child is not None:
            node[index] = change(child)


def _explanation_nodes(node: Any) -> Iterator[dict[str, Any]]:  # noqa: ANN401
    if isinstance(node, dict):
        if "label" in node:
            yield node
        for value in node.values():
            yield from _explanation_nodes(value)
    elif isinstance(node, list):
        for value in node:
            yield from _explanation_nodes(value)


def _open_all(node: Any, opened: Callable[[dict[str, Any]], Any]) -> Any:  # noqa: ANN401
    if isinstance(node, dict):
        if len(node) == 1 and SEALED in node and isinstance(node[SEALED], dict):
            return opened(node[SEALED])
        return {k: _open_all(v, opened) for k, v in node.items()}
    if isinstance(node, list):
        return [_open_all(v, opened) for v in node]
    return node


class SealingTranscoder(Transcoder):
    """Wraps the application's transcoder: seals personal fields on encode, opens them on decode."""

    def __init__(self, inner: Transcoder, sealer: Sealer) -> None:
        self.inner = inner
        self.sealer = sealer

    def encode(self, obj: Any) -> bytes:  # noqa: ANN401 - any event state
        state = self.inner.encode(obj)
        context = _encoding.get()
        if context is None:
            return state
        topic, key_id = context
        return self.sealer.seal(state, topic, key_id)

    def decode(self, data: bytes) -> Any:  # noqa: ANN401 - any event state
        return self.inner.decode(self.sealer.unseal(data))


class PersonalDataMapper(Mapper[UUID]):
    """eventsourcing's Mapper, telling the sealing transcoder which event it encodes."""

    def __init__(
        self,
        transcoder: Transcoder,
        compressor: Compressor | None = None,
        cipher: Cipher | None = None,
        *,
        sealer: Sealer,
    ) -> None:
        super().__init__(SealingTranscoder(transcoder, sealer), compressor=compressor, cipher=cipher)
        self.sealer = sealer

    def to_stored_event(self, domain_event: Any) -> Any:  # noqa: ANN401 - eventsourcing's protocols
        token = _encoding.set((get_topic(type(domain_event)), str(domain_event.originator_id)))
        try:
            return super().to_stored_event(domain_event)
        finally:
            _encoding.reset(token)


def construct_mapper(factory: InfrastructureFactory[Any], transcoder: Transcoder) -> Mapper[UUID]:
    """The application's mapper: sealing personal data when a cipher key is configured."""
    master_key = factory.env.get("CIPHER_KEY")
    if not master_key:
        return factory.mapper(transcoder=transcoder)
    sealer = Sealer(master_key, key_store_for(factory))
    return PersonalDataMapper(transcoder, factory.compressor(), factory.cipher(), sealer=sealer)


def sealer_of(mapper: Mapper[Any]) -> Sealer | None:
    return mapper.sealer if isinstance(mapper, PersonalDataMapper) else None


# ------------------------------------------------------------------- erasure


def erase(mapper: Mapper[Any], subject: str, when: datetime | None = None) -> int:
    """Destroy the data keys of ``subject``; return how many keys were destroyed."""
    sealer = sealer_of(mapper)
    if sealer is None:
        msg = (f"personal data is not sealed in this store: set {CIPHER_KEY_ENV_VAR} "
               "before recording, so that it can be erased")
        raise InvalidValue(msg, field=CIPHER_KEY_ENV_VAR, value=None)
    moment = (when or datetime.now(UTC)).isoformat()
    return sealer.keys.erase(subject, moment)
