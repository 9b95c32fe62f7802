"""Realistic benchmark data: the demo portfolio's dossiers, repeated with unique references."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from aidflow.adapters.demo import SEED, demo_dossiers


def realistic_dossiers(count: int) -> Iterator[dict[str, Any]]:
    """``count`` dossiers from the demo generator (re-seeded per round), references made unique.

    Each round of the demo generator gives 42 dossiers of six schemes with the demo's mix of
    withdrawn, rejected, awarded, paid, monitored and assessed dossiers. The round number is
    appended to every reference and convention number so that no two dossiers collide.
    """
    produced = 0
    round_ = 0
    while produced < count:
        for dossier in demo_dossiers(SEED + round_):
            if produced >= count:
                return
            yield _suffixed(dossier, f"-R{round_}")
            produced += 1
        round_ += 1


def _suffixed(dossier: dict[str, Any], suffix: str) -> dict[str, Any]:
    text = json.dumps(dossier, ensure_ascii=False)
    reference = dossier["reference"]
    text = text.replace(f'"{reference}', f'"{reference}{suffix}')
    for step in dossier["steps"]:
        if step.get("do") == "sign":
            number = step["convention"]
            text = text.replace(f'"{number}"', f'"{number}{suffix}"')
    result: dict[str, Any] = json.loads(text)
    return result
