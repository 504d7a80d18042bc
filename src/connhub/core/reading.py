"""One bounded reader for every JSON or YAML document connhub is handed (imports, payload files, manifests,
event schemas, workflow files, webhook bodies).

A hostile file must end in a `DocumentError` that says what is wrong, never in a traceback or a machine out of
memory. So the size is checked before the whole input is read (the file's size from `fstat`, then a read that
stops one byte past the limit, which also bounds pipes, stdin and `/dev/zero`); the nesting depth is counted
without recursion before the parser (whose C code recurses once per level) sees the text; and the values are
JSON's only: duplicate keys, `NaN`/`Infinity`, YAML anchors and aliases, YAML tags beyond JSON's types and
non-text keys are refused rather than guessed at. Duplicate keys are refused (not last-wins) because two
readers of one file would otherwise disagree on what it says.
"""

from __future__ import annotations

import functools
import io
import json
import math
import os
import re
import stat
import sys
from array import array
from collections.abc import Iterable
from itertools import accumulate
from pathlib import Path
from typing import IO, Any

#: Defaults for a caller that has no better figure: an export of thousands of instances fits in 32 MiB, and no
#: connhub document nests beyond a dozen levels (JSON Schemas of event payloads are the deepest).
DEFAULT_MAX_BYTES = 32 * 1024 * 1024
DEFAULT_MAX_DEPTH = 64

JSON, YAML = "json", "yaml"
_SUFFIXES = {".json": JSON, ".yaml": YAML, ".yml": YAML}
_CHUNK = 1024 * 1024


class DocumentError(ValueError):
    """An input that is not a usable document. `reason` is the message without the source's name; `line` and
    `column` (1-based) say where, when known."""

    def __init__(self, source: str, reason: str, line: int | None = None, column: int | None = None):
        self.source, self.reason, self.line, self.column = source, reason, line, column
        where = f" at line {line}, column {column}" if line is not None and column is not None else ""
        super().__init__(f"{source}: {reason}{where}")


class DocumentTooLarge(DocumentError):
    """Larger than the caller's limit; refused before it was read whole."""


class DocumentTooDeep(DocumentError):
    """Lists or objects nested deeper than the caller's limit; refused before parsing."""


def read_document(source: str | os.PathLike[str] | bytes | bytearray | memoryview | IO[Any], *,
                  max_bytes: int = DEFAULT_MAX_BYTES, max_depth: int = DEFAULT_MAX_DEPTH,
                  formats: Iterable[str] = (JSON,), name: str | None = None) -> Any:
    """The JSON value in a file (a path as str or Path), a binary or text stream (stdin, a socket file) or
    bytes; raises DocumentError (or its subclasses) for anything else.

    With `formats=("json", "yaml")` a path's suffix picks the format (.json, .yaml, .yml); otherwise a document
    whose first character is `{` or `[` is read as JSON and any other as YAML. `name` labels the messages
    (default: the path as given, "standard input" or "the input")."""
    formats = _formats(formats)
    if isinstance(source, (bytes, bytearray, memoryview)):
        label = name or "the input"
        data = bytes(source)
        if len(data) > max_bytes:
            raise _too_large(label, max_bytes, len(data))
        return parse_document(data, max_bytes=max_bytes, max_depth=max_depth, formats=formats, name=label)
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        label = name or str(source)
        data = _read_file(path, label, max_bytes)
        chosen = _SUFFIXES.get(path.suffix.lower())
        if chosen in formats and len(formats) > 1:
            formats = (chosen,)
        return parse_document(data, max_bytes=max_bytes, max_depth=max_depth, formats=formats, name=label)
    label = name or ("standard input" if _is_stdin(source) else "the input")
    data = _read_stream(source, label, max_bytes)
    return parse_document(data, max_bytes=max_bytes, max_depth=max_depth, formats=formats, name=label)


def parse_document(data: str | bytes, *, max_bytes: int = DEFAULT_MAX_BYTES, max_depth: int = DEFAULT_MAX_DEPTH,
                   formats: Iterable[str] = (JSON,), name: str = "the input") -> Any:
    """The same checks for a document already in memory (a webhook body, text pasted into the window)."""
    formats = _formats(formats)
    if isinstance(data, (bytes, bytearray, memoryview)):
        data = bytes(data)
        if len(data) > max_bytes:
            raise _too_large(name, max_bytes, len(data))
        text = _decode(data, name)
    else:
        if len(data) > max_bytes or len(data.encode("utf-8", "surrogatepass")) > max_bytes:
            raise _too_large(name, max_bytes, None)
        text = data.removeprefix("\ufeff")
    if not text.strip():
        raise DocumentError(name, "the file is empty" if name not in ("the input", "standard input")
                            else "there is nothing to read")
    if len(formats) == 1:
        return (_parse_json if formats[0] == JSON else _parse_yaml)(text, name, max_depth)
    if text.lstrip()[:1] not in ("{", "["):
        return _parse_yaml(text, name, max_depth)
    try:
        return _parse_json(text, name, max_depth)
    except DocumentTooDeep:
        raise
    except DocumentError as json_error:  # `{a: 1}` is YAML's flow style; if it is not that either, say JSON's
        if json_error.line is None:  # JSON that parsed but was refused (a duplicate key, NaN): not a syntax slip
            raise
        try:
            return _parse_yaml(text, name, max_depth)
        except DocumentError:
            raise json_error from None


# --- bounded reading ---------------------------------------------------------------------------------------

def _formats(formats: Iterable[str]) -> tuple[str, ...]:
    chosen = tuple(dict.fromkeys(formats))
    if not chosen or any(f not in (JSON, YAML) for f in chosen):
        raise ValueError(f"formats must be 'json' and/or 'yaml', not {formats!r}")
    return chosen


def _read_file(path: Path, label: str, max_bytes: int) -> bytes:
    try:
        with open(path, "rb") as stream:
            info = os.fstat(stream.fileno())
            if stat.S_ISDIR(info.st_mode):
                raise DocumentError(label, "is a folder, not a file")
            if stat.S_ISREG(info.st_mode) and info.st_size > max_bytes:
                raise _too_large(label, max_bytes, info.st_size)  # before reading any of it
            return _read_stream(stream, label, max_bytes)
    except FileNotFoundError:
        raise DocumentError(label, "no such file") from None
    except IsADirectoryError:
        raise DocumentError(label, "is a folder, not a file") from None
    except PermissionError:
        raise DocumentError(label, "permission denied: this user cannot read it") from None
    except OSError as exc:
        raise DocumentError(label, f"cannot be read ({exc.strerror or type(exc).__name__})") from None


def _read_stream(stream: IO[Any], label: str, max_bytes: int) -> bytes:
    """At most max_bytes + 1 bytes, in chunks: one byte too many is enough to know it is too large."""
    stream = getattr(stream, "buffer", stream)  # sys.stdin → its bytes
    chunks: list[bytes] = []
    total = 0
    try:
        while total <= max_bytes:
            chunk = stream.read(min(_CHUNK, max_bytes + 1 - total))
            if not chunk:
                break
            if isinstance(chunk, str):  # a text stream without a buffer (io.StringIO)
                chunk = chunk.encode("utf-8", "surrogatepass")
            chunks.append(chunk)
            total += len(chunk)
    except OSError as exc:
        raise DocumentError(label, f"cannot be read ({exc.strerror or type(exc).__name__})") from None
    if total > max_bytes:
        raise _too_large(label, max_bytes, None)
    return b"".join(chunks)


def _is_stdin(stream: Any) -> bool:
    try:
        return stream.fileno() == 0
    except (AttributeError, OSError, ValueError, io.UnsupportedOperation):
        return False


def _size(n: int) -> str:
    for unit, scale in (("GB", 1024**3), ("MB", 1024**2), ("KB", 1024)):
        if n >= scale:
            value = n / scale
            return f"{value:.0f} {unit}" if value == int(value) or value >= 10 else f"{value:.1f} {unit}"
    return f"{n} bytes"


def _too_large(label: str, limit: int, size: int | None) -> DocumentTooLarge:
    what = f"is {_size(size)}, larger" if size is not None else "is larger"
    return DocumentTooLarge(label, f"{what} than the {_size(limit)} connhub reads here")


def _decode(data: bytes, label: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DocumentError(label, f"is not UTF-8 text (byte {exc.start} cannot be decoded): save it as UTF-8"
                            ) from None


def _position(text: str, offset: int) -> tuple[int, int]:
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


# --- JSON --------------------------------------------------------------------------------------------------

# A JSON string (an unterminated one runs to the end, so no start is scanned twice), and what is left.
_JSON_STRING = re.compile(r'"[^"\\]*(?:\\(?:.|\Z)[^"\\]*)*(?:"|\Z)', re.DOTALL)
_NOT_BRACKETS = re.compile(r"[^\[\]{}]+")
_STEPS = str.maketrans({"[": "\x01", "{": "\x01", "]": "\xff", "}": "\xff"})
_TOKENS = re.compile(_JSON_STRING.pattern + r"|[\[{]+|[\]}]+", re.DOTALL)


def _json_depth_check(text: str, label: str, max_depth: int) -> None:
    """Refuse nesting beyond max_depth by counting brackets outside strings: loops in C, never recursion.

    The brackets alone become +1/-1 steps whose running sum is the depth. Before a stray closing bracket the
    sum is the parser's depth exactly; after one, the parser has already stopped with a syntax error."""
    if text.count("[") + text.count("{") <= max_depth:
        return
    steps = _NOT_BRACKETS.sub("", _JSON_STRING.sub("", text)).translate(_STEPS).encode("latin-1")
    if max(accumulate(array("b", steps)), default=0) <= max_depth:
        return
    reason = f"lists or objects are nested more than {max_depth} levels deep"
    depth = 0
    for match in _TOKENS.finditer(text):  # slower, only to say where
        token = match.group()
        if token[0] in "[{":
            depth += len(token)
            if depth > max_depth:
                line, column = _position(text, match.start() + len(token) - (depth - max_depth))
                raise DocumentTooDeep(label, reason, line, column)
        elif token[0] in "]}":
            depth -= len(token)
    raise DocumentTooDeep(label, reason)


class _Duplicate(Exception):
    def __init__(self, key: str):
        self.key = key


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _Duplicate(key)
        out[key] = value
    return out


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"the number {text[:40]} is too large")
    return value


def _parse_json(text: str, label: str, max_depth: int) -> Any:
    _json_depth_check(text, label, max_depth)
    try:
        return json.loads(text, object_pairs_hook=_pairs, parse_constant=_no_constant, parse_float=_finite_float)
    except json.JSONDecodeError as exc:
        message = _JSON_MESSAGES.get(exc.msg, exc.msg)
        raise DocumentError(label, f"is not valid JSON ({message})", exc.lineno, exc.colno) from None
    except _Duplicate as exc:
        raise DocumentError(label, f"the key {_shown_key(exc.key)} appears twice in one object: keep one") from None
    except RecursionError:  # the depth check makes this unreachable; kept so a crash cannot come back
        raise DocumentTooDeep(label, "lists or objects are nested too deeply") from None
    except ValueError as exc:  # NaN/Infinity, 1e999, an integer of more than 4300 digits
        raise DocumentError(label, f"is not valid JSON ({_value_problem(exc)})") from None


_JSON_MESSAGES = {
    "Invalid control character at": "a control character inside a string: write it as an escape such as \\u001b",
    "Expecting value": "expected a value here",
}


def _value_problem(exc: ValueError) -> str:
    text = str(exc)
    if "integer string conversion" in text:
        return f"a number has more than {sys.get_int_max_str_digits()} digits"
    return _short(text)


def _shown_key(key: Any) -> str:
    shown = json.dumps(key, ensure_ascii=True)
    return shown if len(shown) <= 60 else shown[:59] + "…\""


def _short(message: str) -> str:
    message = message.splitlines()[0] if message else message
    return message if len(message) <= 160 else message[:159] + "…"


# --- YAML --------------------------------------------------------------------------------------------------

#: Words YAML 1.1 (PyYAML) reads as booleans but YAML 1.2 as text; as an unquoted key they mean the word.
_YAML11_WORDS = frozenset({"on", "off", "yes", "no", "y", "n"})


@functools.cache
def _yaml_loader() -> tuple[type, type]:
    """PyYAML's safe loader (the C one when present) narrowed to JSON's values, and the error it refuses with.
    Built on first use: YAML costs its import only to the callers that read YAML."""
    import yaml
    from yaml.constructor import ConstructorError

    class Refused(ConstructorError):
        """A value this reader does not accept (not a syntax error)."""

    base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

    class Loader(base):  # type: ignore[misc, valid-type]
        def construct_mapping(self, node, deep=False):
            if not isinstance(node, yaml.MappingNode):
                raise Refused(None, None, "expected a mapping", node.start_mark)
            mapping: dict[str, Any] = {}
            for key_node, value_node in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    raise Refused(None, None, "merge keys (<<) are not accepted: write the keys out",
                                  key_node.start_mark)
                key = self.construct_object(key_node, deep=deep)
                if isinstance(key, bool) and not key_node.style \
                        and key_node.value.lower() in _YAML11_WORDS:
                    key = key_node.value  # `on:` (a workflow's trigger, as in GitHub Actions) is text in YAML 1.2
                if not isinstance(key, str):
                    raise Refused(None, None, f"the key {_short(str(key))} is not text: quote it",
                                  key_node.start_mark)
                if key in mapping:
                    raise Refused(None, None, f"the key {_shown_key(key)} appears twice in one mapping: keep one",
                                  key_node.start_mark)
                mapping[key] = self.construct_object(value_node, deep=deep)
            return mapping

        def construct_yaml_map(self, node):  # without the two steps that only self-references need
            yield self.construct_mapping(node, deep=True)

        def construct_yaml_float(self, node):
            value = super().construct_yaml_float(node)
            if not math.isfinite(value):
                raise Refused(None, None, ".nan and .inf are not accepted: JSON has no such numbers",
                              node.start_mark)
            return value

        def construct_timestamp_as_text(self, node):
            return self.construct_scalar(node)  # a date stays the text it was written as (JSON has no dates)

        def refuse_tag(self, node):
            raise Refused(None, None, f"the tag {node.tag.removeprefix('tag:yaml.org,2002:')!r} is not accepted: "
                          "only text, numbers, true/false, null, lists and mappings", node.start_mark)

    Loader.add_constructor("tag:yaml.org,2002:map", Loader.construct_yaml_map)
    Loader.add_constructor("tag:yaml.org,2002:float", Loader.construct_yaml_float)
    Loader.add_constructor("tag:yaml.org,2002:timestamp", Loader.construct_timestamp_as_text)
    for tag in ("binary", "set", "omap", "pairs"):
        Loader.add_constructor(f"tag:yaml.org,2002:{tag}", Loader.refuse_tag)
    Loader.add_constructor(None, Loader.refuse_tag)  # any other tag (!!python/…, !custom)
    return Loader, Refused


def _parse_yaml(text: str, label: str, max_depth: int) -> Any:
    import yaml

    loader, refused = _yaml_loader()
    too_deep = f"lists or mappings are nested more than {max_depth} levels deep"
    try:
        # The events first (libyaml's parser is a loop): anchors, aliases and depth are refused before anything
        # is built, so an alias bomb never expands and the composer (which recurses) never sees a deep document.
        depth = 0
        for event in yaml.parse(text, Loader=loader):
            if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
                raise _at(DocumentError, label, "YAML anchors and aliases (&name, *name) are not accepted: write "
                          "the value out each time", event.start_mark)
            if isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent)):
                depth += 1
                if depth > max_depth:
                    raise _at(DocumentTooDeep, label, too_deep, event.start_mark)
            elif isinstance(event, (yaml.SequenceEndEvent, yaml.MappingEndEvent)):
                depth -= 1
        return yaml.load(text, Loader=loader)  # noqa: S506 (a safe loader, narrowed further)
    except DocumentError:
        raise
    except refused as exc:
        raise _at(DocumentError, label, exc.problem, exc.problem_mark) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        reason = _short(" ".join(filter(None, (exc.context, exc.problem))) or "cannot be read")
        if "maximum nesting depth" in reason:  # libyaml's own limit (1000), should ours be higher
            raise _at(DocumentTooDeep, label, too_deep, mark) from None
        raise _at(DocumentError, label, f"is not valid YAML ({reason})", mark) from None
    except yaml.YAMLError as exc:  # a ReaderError: a character YAML does not allow
        raise DocumentError(label, f"is not valid YAML ({_short(str(exc))})") from None
    except RecursionError:  # the depth check makes this unreachable; kept so a crash cannot come back
        raise DocumentTooDeep(label, "lists or mappings are nested too deeply") from None
    except ValueError as exc:  # an integer of more than 4300 digits
        raise DocumentError(label, f"is not valid YAML ({_value_problem(exc)})") from None


def _at(kind: type[DocumentError], label: str, reason: str, mark: Any) -> DocumentError:
    if mark is None:
        return kind(label, reason)
    return kind(label, reason, mark.line + 1, mark.column + 1)
