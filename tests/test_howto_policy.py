"""The how-to "Test your clawback policy" is a test module: its code blocks run here.

At import, every ```python block of docs/how-to/test-your-clawback-policy.md runs, in order, in
this module's namespace, exactly as a reader pastes them into ``test_my_policy.py``. pytest
then collects what the page defines: its Hypothesis properties (``test_*``) and its state
machine (``TestToleratedShortfallLifecycle``). The tests below check what the page shows.
"""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path
from typing import Any

HOWTO = Path(__file__).resolve().parent.parent / "docs" / "how-to" / "test-your-clawback-policy.md"
_FENCE = re.compile(r"^```(?P<lang>[\w-]*)\n(?P<body>.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)
_BLOCKS: list[tuple[str, str]] = [(m["lang"], m["body"]) for m in _FENCE.finditer(HOWTO.read_text("utf-8"))]
_PRINTED: list[tuple[int, str]] = []  # (block index, what the block printed)


def _run_the_page(namespace: dict[str, Any]) -> None:
    for index, (lang, code) in enumerate(_BLOCKS):
        if lang != "python":
            continue
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            exec(compile(code, f"{HOWTO.name} python block {index}", "exec"), namespace)  # noqa: S102 - the page is the test
        _PRINTED.append((index, printed.getvalue()))


_run_the_page(globals())


def test_the_page_shows_its_blocks_in_order():
    python_blocks = [i for i, (lang, _) in enumerate(_BLOCKS) if lang == "python"]
    assert len(python_blocks) == 4, "policy, plugging it in, properties, state machine"


def test_each_block_prints_what_the_page_shows_after_it():
    shown = 0
    for index, printed in _PRINTED:
        following = _BLOCKS[index + 1] if index + 1 < len(_BLOCKS) else None
        if following is not None and following[0] == "text":
            assert printed.strip() == following[1].strip()
            shown += 1
        else:
            assert printed == "", f"block {index} prints something the page does not show"
    assert shown == 1


def test_the_page_defines_the_policy_its_properties_and_its_machine():
    namespace = globals()
    policy = namespace["policy"]
    assert (policy.name, policy.version) == ("region-tolerated-shortfall", "1")
    for name in (
        "test_total_due_stays_within_paid_minus_repaid",
        "test_never_claims_more_than_the_default",
        "test_a_tolerated_shortfall_is_never_an_o2_breach",
    ):
        assert callable(namespace[name])
    machine = namespace["ToleratedShortfallLifecycle"]
    assert isinstance(machine.policy, namespace["ToleratedShortfallPolicy"])
    assert namespace["TestToleratedShortfallLifecycle"] is machine.TestCase
