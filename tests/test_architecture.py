"""The domain stays pure: it imports only the standard library, attrs, python-dateutil,
``eventsourcing.domain`` and itself (STYLE: ports and adapters; ``aidflow.domain`` docstring).

Every module file of ``aidflow.domain`` is parsed (not imported), so an import hidden
in a function or under ``TYPE_CHECKING`` counts too.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import aidflow.domain

DOMAIN = "aidflow.domain"
DOMAIN_DIR = Path(aidflow.domain.__file__).parent
ALLOWED_THIRD_PARTY = ("attr", "attrs", "dateutil", "eventsourcing.domain", DOMAIN)
FORBIDDEN = ("aidflow.application", "aidflow.adapters", "pydantic", "sqlite3", "psycopg")


def domain_modules() -> list[Path]:
    return sorted(DOMAIN_DIR.rglob("*.py"))


def module_name(path: Path) -> str:
    parts = path.relative_to(DOMAIN_DIR).with_suffix("").parts
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join((DOMAIN, *parts))


def imported_names(path: Path) -> Iterator[tuple[int, str]]:
    """(line, absolute dotted name) of every import in the file; ``from x import y`` gives ``x.y``."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base_parts = package.split(".")
                base = ".".join(base_parts[: len(base_parts) - (node.level - 1)])
                module = f"{base}.{node.module}" if node.module else base
            else:
                module = node.module or ""
            for alias in node.names:
                yield node.lineno, module if alias.name == "*" else f"{module}.{alias.name}"
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute | ast.Name)
            and (node.func.attr if isinstance(node.func, ast.Attribute) else node.func.id)
            in ("import_module", "__import__")
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            yield node.lineno, node.args[0].value


def _within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def violation(name: str) -> str | None:
    """Why importing ``name`` from the domain is not allowed, or None if it is."""
    if any(_within(name, forbidden) for forbidden in FORBIDDEN):
        return "forbidden in the domain"
    top = name.partition(".")[0]
    if top in sys.stdlib_module_names and top != "sqlite3":
        return None
    if any(_within(name, allowed) for allowed in ALLOWED_THIRD_PARTY):
        return None
    if name == "eventsourcing":
        return "import eventsourcing.domain only"
    return "not stdlib, attrs, dateutil, eventsourcing.domain or aidflow.domain"


def test_the_domain_has_modules() -> None:
    names = {module_name(p) for p in domain_modules()}
    assert {"aidflow.domain.values", "aidflow.domain.scheme", "aidflow.domain.errors"} <= names


@pytest.mark.parametrize("path", domain_modules(), ids=lambda p: p.stem)
def test_domain_module_imports_only_allowed_packages(path: Path) -> None:
    problems = [
        f"{path.name}:{line}: {name} ({reason})"
        for line, name in imported_names(path)
        if (reason := violation(name)) is not None
    ]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize(
    ("name", "allowed"),
    [
        ("datetime.date", True),
        ("attrs.frozen", True),
        ("attr.s", True),
        ("dateutil.relativedelta.relativedelta", True),
        ("eventsourcing.domain.Aggregate", True),
        ("aidflow.domain.values.Money", True),
        ("aidflow.domainx", False),
        ("aidflow.application.service", False),
        ("aidflow.adapters.store", False),
        ("pydantic.BaseModel", False),
        ("sqlite3", False),
        ("psycopg.sql", False),
        ("eventsourcing.persistence.Transcoding", False),
        ("eventsourcing.application.Application", False),
        ("eventsourcing", False),
        ("yaml", False),
        ("requests", False),
    ],
)
def test_the_rule_itself(name: str, allowed: bool) -> None:
    assert (violation(name) is None) is allowed


def test_relative_imports_are_resolved(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    package = tmp_path / "domain"
    package.mkdir()
    module = package / "rules.py"
    module.write_text(
        "from .values import Money\nfrom ..application import service\n"
        "import importlib\nimportlib.import_module('pydantic')\n",
        encoding="utf-8",
    )
    monkeypatch.setattr(sys.modules[__name__], "DOMAIN_DIR", package)
    assert [name for _, name in imported_names(module)] == [
        "aidflow.domain.values.Money", "aidflow.application.service", "importlib", "pydantic",
    ]
