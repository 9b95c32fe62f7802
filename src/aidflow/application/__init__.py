"""Application layer: the ``Aidflow`` service, its input models and views."""

from __future__ import annotations

from aidflow.application.errors import (
    AlreadyExists,
    ApplicationNotFound,
    ConcurrentUpdate,
    ConventionNotFound,
    InputError,
    NotFound,
    SchemeNotFound,
)
from aidflow.application.service import Aidflow

__all__ = [
    "Aidflow",
    "AlreadyExists",
    "ApplicationNotFound",
    "ConcurrentUpdate",
    "ConventionNotFound",
    "InputError",
    "NotFound",
    "SchemeNotFound",
]
