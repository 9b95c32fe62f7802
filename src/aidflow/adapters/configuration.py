"""A Region's own schemes, grids and clawback policy for the ``aidflow`` command (ADR 0010).

The library takes them as arguments (``Aidflow(catalogue=…, grids=…, clawback_policy=…)``).
The command line reads them from the environment, so that every ``aidflow`` command of a
deployment uses the same rules without repeating options:

``AIDFLOW_CATALOGUE``
    Catalogue YAML files (``aidflow: catalogue/1``), separated by ``os.pathsep`` (``:``).
    Their schemes are added to the built-in catalogue; a code given again replaces the
    built-in scheme of that code, and a later file wins over an earlier one.
``AIDFLOW_GRIDS``
    Modulation grid YAML files, or folders of them, separated by ``os.pathsep``. They are
    added to the built-in grids (a scheme's own grid wins over the default one).
``AIDFLOW_CLAWBACK_POLICY``
    ``package.module:name``: a clawback policy object (``name``, ``version``, ``assess``), or
    a class or function that takes no argument and returns one. The module is imported from
    the Python path, like any plugin: set it only to code you trust.

A value that cannot be used (a missing file, an invalid catalogue, a module or a name that
does not exist, an object that is not a policy) is refused with the variable's name as the
field, before the store is opened.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from aidflow.adapters.catalogue import builtin_catalogue, parse_catalogue
from aidflow.adapters.parameters import load_modulation_file, load_modulation_grids
from aidflow.domain.appraisal import ModulationGrid, ModulationGrids
from aidflow.domain.clawback import ClawbackPolicy
from aidflow.domain.errors import AidflowError, InvalidValue

CATALOGUE_ENV_VAR = "AIDFLOW_CATALOGUE"
GRIDS_ENV_VAR = "AIDFLOW_GRIDS"
POLICY_ENV_VAR = "AIDFLOW_CLAWBACK_POLICY"


def _paths(variable: str, value: str) -> list[Path]:
    paths = [Path(part) for part in value.split(os.pathsep) if part.strip()]
    for path in paths:
        if not path.exists():
            msg = f"{variable}: {str(path)!r} does not exist"
            raise InvalidValue(msg, field=variable, value=str(path))
    return paths


def _catalogue(value: str) -> dict[str, Any]:
    catalogue = dict(builtin_catalogue())  # a copy: the built-in one is cached
    for path in _paths(CATALOGUE_ENV_VAR, value):
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            msg = f"{CATALOGUE_ENV_VAR}: cannot read {str(path)!r}: {error}"
            raise InvalidValue(msg, field=CATALOGUE_ENV_VAR, value=str(path)) from None
        try:
            catalogue |= parse_catalogue(text, str(path))
        except AidflowError as error:
            msg = f"{CATALOGUE_ENV_VAR}: {error.message}"
            raise InvalidValue(msg, field=CATALOGUE_ENV_VAR, value=str(path)) from None
    return catalogue


def _grids(value: str) -> ModulationGrids:
    grids: list[ModulationGrid] = list(load_modulation_grids().grids)
    for path in _paths(GRIDS_ENV_VAR, value):
        files = sorted(path.glob("*.yaml")) if path.is_dir() else [path]
        for file in files:
            try:
                grids.extend(load_modulation_file(file))
            except AidflowError as error:
                msg = f"{GRIDS_ENV_VAR}: {error.message}"
                raise InvalidValue(msg, field=GRIDS_ENV_VAR, value=str(file)) from None
    return ModulationGrids(tuple(grids))


def _is_policy(candidate: object) -> bool:
    return all(hasattr(candidate, name) for name in ("name", "version", "assess")) and callable(
        getattr(candidate, "assess", None)
    )


def load_policy(spec: str) -> ClawbackPolicy:
    """The clawback policy named by ``package.module:name`` (see the module docstring)."""
    module_name, _, attribute = spec.partition(":")
    if not module_name or not attribute:
        msg = f"{POLICY_ENV_VAR}: give the policy as package.module:name, got {spec!r}"
        raise InvalidValue(msg, field=POLICY_ENV_VAR, value=spec)
    try:
        found: Any = importlib.import_module(module_name)
        for part in attribute.split("."):
            found = getattr(found, part)
    except Exception as error:  # noqa: BLE001 - any failure of the plugin's import is a refusal
        msg = f"{POLICY_ENV_VAR}: cannot find {spec!r}: {type(error).__name__}: {error}"
        raise InvalidValue(msg, field=POLICY_ENV_VAR, value=spec) from None
    if not _is_policy(found) or isinstance(found, type):
        if not callable(found):
            msg = f"{POLICY_ENV_VAR}: {spec!r} is not a clawback policy (it needs name, version and assess)"
            raise InvalidValue(msg, field=POLICY_ENV_VAR, value=spec)
        try:
            found = found()
        except Exception as error:  # noqa: BLE001 - the plugin's own failure, reported as a refusal
            msg = f"{POLICY_ENV_VAR}: {spec!r} failed when called: {type(error).__name__}: {error}"
            raise InvalidValue(msg, field=POLICY_ENV_VAR, value=spec) from None
    if not _is_policy(found):
        msg = f"{POLICY_ENV_VAR}: {spec!r} did not give a clawback policy (it needs name, version and assess)"
        raise InvalidValue(msg, field=POLICY_ENV_VAR, value=spec)
    policy: ClawbackPolicy = found
    return policy


def configured_options(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """``Aidflow`` keyword arguments from the environment (none set: the built-in rules)."""
    env = os.environ if environ is None else environ
    options: dict[str, Any] = {}
    if env.get(CATALOGUE_ENV_VAR, "").strip():
        options["catalogue"] = _catalogue(env[CATALOGUE_ENV_VAR])
    if env.get(GRIDS_ENV_VAR, "").strip():
        options["grids"] = _grids(env[GRIDS_ENV_VAR])
    if env.get(POLICY_ENV_VAR, "").strip():
        options["clawback_policy"] = load_policy(env[POLICY_ENV_VAR].strip())
    return options
