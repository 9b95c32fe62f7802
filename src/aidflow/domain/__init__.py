"""Pure domain: aggregates, value objects and rules.

Imports only the standard library, attrs, python-dateutil and ``eventsourcing.domain``
(enforced by ``tests/test_architecture.py``).
"""
