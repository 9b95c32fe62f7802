"""aidflow: event-sourced lifecycle of regional business aids.

The public entry points are :class:`aidflow.application.Aidflow` (the application
service) and the value objects in :mod:`aidflow.domain.values`.
"""

from __future__ import annotations

__version__ = "0.1.0"
