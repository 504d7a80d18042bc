"""Pretty JSON that knows the line of every value, and the JSON paths of the domain's error texts, so the
Webhooks tab can highlight the lines an error is about. Pure Python: no Qt."""

from __future__ import annotations

import json
import re
from typing import Any

Parts = tuple[str | int, ...]
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def pretty(value: Any) -> tuple[str, dict[Parts, int]]:
    """The text `json.dumps(value, indent=2, ensure_ascii=False)` writes, and the 0-based line where each
    value starts (a property's line is the one with its key)."""
    lines: list[str] = []
    where: dict[Parts, int] = {}

    def emit(node: Any, parts: Parts, indent: str, lead: str, trail: str) -> None:
        where[parts] = len(lines)
        if isinstance(node, dict) and node:
            lines.append(f"{indent}{lead}{{")
            items = list(node.items())
            for i, (key, child) in enumerate(items):
                emit(child, (*parts, str(key)), indent + "  ", json.dumps(str(key), ensure_ascii=False) + ": ",
                     "," if i < len(items) - 1 else "")
            lines.append(f"{indent}}}{trail}")
        elif isinstance(node, list) and node:
            lines.append(f"{indent}{lead}[")
            for i, child in enumerate(node):
                emit(child, (*parts, i), indent + "  ", "", "," if i < len(node) - 1 else "")
            lines.append(f"{indent}]{trail}")
        else:
            lines.append(f"{indent}{lead}{json.dumps(node, ensure_ascii=False)}{trail}")

    emit(value, (), "", "", "")
    return "\n".join(lines), where


def split_error(text: str) -> tuple[Parts | None, str]:
    """"$.commits[0].id: expected string, got integer" → (("commits", 0, "id"), "expected string, …");
    (None, text) when the text does not start with a JSON path (a note such as "the body is not JSON")."""
    if not text.startswith("$"):
        return None, text
    parts: list[str | int] = []
    i, n = 1, len(text)
    while i < n and text[i] in ".[":
        if text[i] == ".":
            match = _IDENT.match(text, i + 1)
            if match is None:
                return None, text
            parts.append(match.group())
            i = match.end()
        elif text.startswith("['", i):
            j, key = i + 2, []
            while j < n and text[j] != "'":
                if text[j] == "\\" and j + 1 < n:
                    j += 1
                key.append(text[j])
                j += 1
            if not text.startswith("']", j):
                return None, text
            parts.append("".join(key))
            i = j + 2
        else:
            end = text.find("]", i)
            if end < 0 or not text[i + 1:end].isdigit():
                return None, text
            parts.append(int(text[i + 1:end]))
            i = end + 1
    if not text.startswith(": ", i):
        return None, text
    return tuple(parts), text[i + 2:]


def line_of(parts: Parts, where: dict[Parts, int]) -> int | None:
    """The line of the value at `parts`, or of its nearest shown ancestor (a missing property: the object
    that should hold it)."""
    for end in range(len(parts), -1, -1):
        if parts[:end] in where:
            return where[parts[:end]]
    return None
