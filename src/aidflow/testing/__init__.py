# Copyright (C) 2026 aidflow developers. SPDX-License-Identifier: MIT
"""Test helpers for aidflow users: Hypothesis strategies in :mod:`aidflow.testing.strategies`.

Hypothesis is a test-time dependency: importing :mod:`aidflow.testing.strategies`
requires it, while :mod:`aidflow.domain` never imports anything from here.
"""
