"""YAML with YAML 1.2 booleans, for interchange files.

PyYAML follows YAML 1.1, where ``on``, ``off``, ``yes`` and ``no`` are booleans: the
dossier key ``on:`` would be read as ``True``. This loader only takes
``true``/``false`` as booleans, as YAML 1.2 and JSON do.
"""

from __future__ import annotations

import re
from typing import Any

import yaml


class Yaml12Loader(yaml.SafeLoader):
    """A SafeLoader whose booleans are only true/false (so ``on:`` stays the string "on")."""


Yaml12Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
Yaml12Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def safe_load(text: str) -> Any:  # noqa: ANN401 - any YAML document
    """Parse ``text`` safely with YAML 1.2 booleans."""
    return yaml.load(text, Loader=Yaml12Loader)  # noqa: S506 - a SafeLoader subclass
