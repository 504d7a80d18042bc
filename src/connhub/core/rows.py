"""Driver values as JSON, for the results of the SQL and messaging actions: a result is checked against a JSON
Schema, logged as a JSON preview and printed by the CLI, so dates, decimals, UUIDs and bytes become text here,
once, rather than differently in each integration."""

from __future__ import annotations

import base64
import datetime as _dt
import decimal
import ipaddress
import math
import uuid
from typing import Any


def jsonable(value: Any) -> Any:
    """A JSON-typed copy of one driver value. Decimals that fit a float exactly stay numbers only if integral
    (money must not lose cents): others are text; bytes are `\\x…` hex, as psql shows them; NaN is text."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, decimal.Decimal):
        if value.is_finite() and value == value.to_integral_value() and abs(value) < 2**53:
            return int(value)
        return str(value)
    if isinstance(value, _dt.datetime | _dt.date | _dt.time):
        return value.isoformat()
    if isinstance(value, _dt.timedelta):
        return value.total_seconds()
    if isinstance(value, bytes | bytearray | memoryview):
        return "\\x" + bytes(value).hex()
    if isinstance(value, uuid.UUID | ipaddress.IPv4Address | ipaddress.IPv6Address | ipaddress.IPv4Network
                  | ipaddress.IPv6Network | ipaddress.IPv4Interface | ipaddress.IPv6Interface):
        return str(value)
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(v) for v in value]
    return str(value)


def payload(data: bytes | bytearray | str | None) -> tuple[str, str]:
    """A message body as (text, encoding): UTF-8 text as is, anything else as base64 (so no byte is lost)."""
    if data is None:
        return "", "utf-8"
    if isinstance(data, str):
        return data, "utf-8"
    try:
        return bytes(data).decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return base64.b64encode(bytes(data)).decode("ascii"), "base64"


def capped_text(data: bytes | str, cap: int) -> tuple[str, bool]:
    """At most `cap` bytes of output as text (a cut multi-byte character is dropped), and whether it was cut."""
    raw = data.encode("utf-8", "surrogateescape") if isinstance(data, str) else bytes(data)
    if len(raw) <= cap:
        return raw.decode("utf-8", "replace"), False
    return raw[:cap].decode("utf-8", "ignore"), True
