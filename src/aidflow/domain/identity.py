"""Deterministic identities (ADR 0002).

Each aggregate is reachable from its natural reference through a UUID5 in the
aidflow namespace, so no side index is needed and two processes creating the
same dossier collide on the same id (the store refuses the second).
"""

from __future__ import annotations

from uuid import UUID, uuid5

AIDFLOW_NAMESPACE = UUID("6f1c1f5e-8d0a-5b9e-9c51-a1d0f10e2022")
"""Fixed forever: changing it would orphan every stored aggregate."""


def natural_id(kind: str, reference: str) -> UUID:
    """UUID5 of ``kind:reference`` (e.g. ``scheme:CEA``)."""
    return uuid5(AIDFLOW_NAMESPACE, f"{kind}:{reference}")


def scheme_id(code: str) -> UUID:
    return natural_id("scheme", code)


def application_id(reference: str) -> UUID:
    return natural_id("application", reference)


def convention_id(number: str) -> UUID:
    return natural_id("convention", number)


def company_id(siren: str) -> UUID:
    return natural_id("company", siren)


def call_id(code: str) -> UUID:
    return natural_id("call", code)
