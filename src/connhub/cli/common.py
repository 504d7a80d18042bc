"""What every command module shares: the exit codes, the mask of a secret, the usage error, and the reading of
typed values. Light on purpose (no connhub import at the top): `connhub --help` imports it."""

from __future__ import annotations

from typing import Any

MASK = "********"
EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    """A command used wrongly: main() prints `connhub: <message>` and exits 2."""


def parse_value(spec, raw: str) -> Any:
    """A --set VALUE as the field's kind wants it; what cannot be read is left for validation to word."""
    from connhub.core.fields import FieldKind

    if spec.kind is FieldKind.BOOLEAN:
        if raw.lower() in ("1", "true", "yes", "on"):
            return True
        if raw.lower() in ("0", "false", "no", "off"):
            return False
        raise UsageError(f"{spec.key} takes true or false, not {raw!r}")
    if spec.kind in (FieldKind.INTEGER, FieldKind.NUMBER):
        try:
            return int(raw) if spec.kind is FieldKind.INTEGER else float(raw)
        except ValueError:
            return raw  # left for validation to word ("Enter a whole number"), or a ${env:…} reference
    return raw


def safe(text: Any) -> str:
    """Text connhub did not write (a name, a tag, a description, a server's answer, an error) as it may be
    printed: every character that could drive the terminal is shown as an escape (connhub.core.text)."""
    from connhub.core.text import terminal_safe

    return terminal_safe(text)


def timeout_option(seconds: float | None, option: str = "--timeout") -> float | None:
    """A --timeout as given (None: the saved setting), checked like every timeout (connhub.core.context):
    0, negative, NaN, infinity and 1e9 are usage errors that say the range."""
    if seconds is None:
        return None
    from connhub.core.context import TimeoutOutOfRange, check_timeout

    try:
        return check_timeout(seconds)
    except TimeoutOutOfRange as exc:
        raise UsageError(f"{option}: {exc}") from None


def read_json_input(file: str, *, max_bytes: int | None = None) -> Any:
    """The JSON document in FILE, or standard input for "-", read by the one bounded reader
    (connhub.core.reading: the size checked before it is read whole, the depth before it is parsed).
    A file that cannot be opened is a UsageError; one that is not a usable document a DocumentError."""
    import errno
    import os
    import sys
    from pathlib import Path

    from connhub.core.reading import DEFAULT_MAX_BYTES, read_document

    limit = max_bytes or DEFAULT_MAX_BYTES
    if file == "-":
        return read_document(sys.stdin.buffer, max_bytes=limit, name="standard input")
    path = Path(file)
    problem = (errno.ENOENT if not path.exists() else errno.EISDIR if path.is_dir()
               else errno.EACCES if not os.access(path, os.R_OK) else None)
    if problem is not None:  # said as before, and without opening it (a FIFO would block)
        raise UsageError(f"cannot read {file}: {os.strerror(problem)}")
    return read_document(path, max_bytes=limit, name=file)


def secrets_from_args(args, secret_keys: set[str]) -> dict[str, str]:
    """The secrets given by `--secret-stdin FIELD` (a line each, in order) and `--secret-env FIELD=VAR`; a field
    that is not one of `secret_keys`, or a variable that is not set, is a usage error (no value is echoed)."""
    import os
    import sys

    def check(key: str) -> None:
        if key not in secret_keys:
            raise UsageError(f"{key!r} is not a secret field of this type; secret fields: "
                             f"{', '.join(sorted(secret_keys))}")

    values: dict[str, str] = {}
    for key in args.secret_stdin:
        check(key)
        values[key] = sys.stdin.readline().rstrip("\r\n")
    for item in args.secret_env:
        key, sep, var = item.partition("=")
        check(key)
        if not sep or var not in os.environ:
            raise UsageError(f"--secret-env {key}=VAR: environment variable {var or '?'!r} is not set")
        values[key] = os.environ[var]
    return values
