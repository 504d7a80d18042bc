"""`${env:NAME}` references: a non-secret value that is looked up only when a test runs."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Any

REFERENCE = re.compile(r"^\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}$")


def is_reference(value: Any) -> bool:
    return isinstance(value, str) and REFERENCE.fullmatch(value) is not None


def resolve_references(values: dict[str, Any], environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Replace every `${env:NAME}` value; an unset variable raises ConfigError naming it."""
    from connhub.core.errors import ConfigError

    env = os.environ if environ is None else environ
    out = {}
    for key, value in values.items():
        match = REFERENCE.fullmatch(value) if isinstance(value, str) else None
        if match:
            name = match.group(1)
            if name not in env:
                raise ConfigError(f"Field '{key}' refers to the environment variable {name}, which is not set")
            value = env[name]
        out[key] = value
    return out
