"""A small JSONPath subset for mapping API answers: `$`, `.key`, `['key']`, `[0]`, `[-1]`, `[*]` and `.*`.

Enough for the paths HTTP APIs document (`$.items[*]`, `$.data.id`, `$.response_metadata.next_cursor`) and
nothing that can run away: no filters, no scripts, no recursive descent. A path without a wildcard is
*singular* (one value or nothing); a wildcard makes it a list of matches.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

MAX_PATH_CHARS = 300
MAX_STEPS = 32
_NAME = re.compile(r"[A-Za-z0-9_$@-]+")
_INDEX = re.compile(r"-?[0-9]{1,9}")
_WILDCARD = object()


class JsonPathError(ValueError):
    """The path is outside the subset; the message says what to write instead."""


@dataclass(frozen=True)
class JsonPath:
    text: str
    steps: tuple[Any, ...]  # str (a key), int (an index) or _WILDCARD

    @property
    def singular(self) -> bool:
        return _WILDCARD not in self.steps

    def find(self, data: Any) -> Any:
        """The value (None when absent) for a singular path; the list of matches otherwise."""
        matches = self.matches(data)
        if self.singular:
            return matches[0] if matches else None
        return matches

    def matches(self, data: Any) -> list[Any]:
        """Every value the path reaches, in document order (walks only the path, whatever the data's depth)."""
        current = [data]
        for step in self.steps:
            reached: list[Any] = []
            for node in current:
                if step is _WILDCARD:
                    if isinstance(node, list):
                        reached.extend(node)
                    elif isinstance(node, dict):
                        reached.extend(node.values())
                elif isinstance(step, int):
                    if isinstance(node, list) and -len(node) <= step < len(node):
                        reached.append(node[step])
                elif isinstance(node, dict) and step in node:
                    reached.append(node[step])
            current = reached
        return current


def compile_path(text: Any) -> JsonPath:
    """Parse a path of the subset, or raise JsonPathError naming the problem."""
    if not isinstance(text, str):
        raise JsonPathError(f"{text!r} is not a JSONPath: write it as text starting with '$', e.g. '$.items[*]'")
    if len(text) > MAX_PATH_CHARS:
        raise JsonPathError(f"JSONPath is longer than {MAX_PATH_CHARS} characters: shorten it")
    if not text:
        raise JsonPathError("JSONPath is empty: write '$' for the whole answer, or e.g. '$.items[*]'")
    if not text.startswith("$"):
        suggestion = ("$" if text[:1] in (".", "[") else "$.") + text
        raise JsonPathError(f"JSONPath {text!r} must start with '$' (the whole answer): write {suggestion!r}")
    steps: list[Any] = []
    pos = 1
    while pos < len(text):
        if text.startswith("..", pos):
            raise JsonPathError(f"JSONPath {text!r} uses '..' (recursive descent), which connhub does not "
                                "support: spell out each key, e.g. '$.data.items[*]'")
        if text[pos] == ".":
            if text.startswith(".*", pos):
                steps.append(_WILDCARD)
                pos += 2
                continue
            match = _NAME.match(text, pos + 1)
            if match is None:
                raise JsonPathError(f"JSONPath {text!r} has a '.' not followed by a key at character {pos + 1}: "
                                    "write '.key', or \"['odd key']\" for keys with other characters")
            steps.append(match.group())
            pos = match.end()
        elif text[pos] == "[":
            step, pos = _bracket(text, pos)
            steps.append(step)
        else:
            raise JsonPathError(f"JSONPath {text!r} has {text[pos]!r} at character {pos + 1}: join keys with "
                                "'.' and write indexes as [0] or [*]")
        if len(steps) > MAX_STEPS:
            raise JsonPathError(f"JSONPath {text!r} has more than {MAX_STEPS} steps: shorten it")
    return JsonPath(text, tuple(steps))


def _bracket(text: str, pos: int) -> tuple[Any, int]:
    """One `[...]` step starting at `pos`: `*`, an index, or a quoted key."""
    close_hint = (f"JSONPath {text!r} has an unfinished '[' at character {pos + 1}: write [0], [*] or "
                  "['key']")
    inner = pos + 1
    if text.startswith("*]", inner):
        return _WILDCARD, inner + 2
    match = _INDEX.match(text, inner)
    if match and text.startswith("]", match.end()):
        return int(match.group()), match.end() + 1
    if inner < len(text) and text[inner] in "'\"":
        quote, chars, i = text[inner], [], inner + 1
        while i < len(text):
            char = text[i]
            if char == "\\" and i + 1 < len(text):
                chars.append(text[i + 1])
                i += 2
                continue
            if char == quote:
                if not text.startswith("]", i + 1):
                    raise JsonPathError(close_hint)
                return "".join(chars), i + 2
            chars.append(char)
            i += 1
        raise JsonPathError(close_hint)
    if text[inner:inner + 1] == "?" or text[inner:inner + 1] == "(":
        raise JsonPathError(f"JSONPath {text!r} uses a filter or script, which connhub does not support: "
                            "select with keys, indexes and [*] only")
    if re.match(r"-?[0-9]*:", text[inner:]):
        raise JsonPathError(f"JSONPath {text!r} uses a slice, which connhub does not support: use [*] or "
                            "one index")
    raise JsonPathError(close_hint)


def format_location(parts: Any) -> str:
    """A JSONPath naming one place, from keys and indexes (jsonschema's `absolute_path`): `$.rows[3].id`."""
    out = "$"
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        elif isinstance(part, str) and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", part):
            out += f".{part}"
        else:
            escaped = str(part).replace("\\", "\\\\").replace("'", "\\'")
            out += f"['{escaped}']"
    return out
