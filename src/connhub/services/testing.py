"""Run one connection test: the single place that times, bounds, classifies and words a test's outcome.

Integrations only connect and raise; here the whole test is cut at `timeout`, a stray library exception
is classified, and every text that leaves is scrubbed of the secrets that went in.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import re
import time
from collections.abc import Callable
from typing import Any

from connhub.core.context import TestContext
from connhub.core.errors import (
    HINTS,
    TITLES,
    ConfigError,
    ConnectionTestError,
    ErrorClass,
    classify,
)
from connhub.core.fields import FieldKind, FieldSpec, all_specs
from connhub.core.references import resolve_references
from connhub.core.results import TestResult
from connhub.plugins.registry import PluginLoadError, TypeEntry

DEFAULT_TIMEOUT = 10.0
REDACTED = "********"


async def run_test(entry: TypeEntry, config: dict[str, Any], secrets: dict[str, Any], timeout: float,
                   on_stage: Callable[[str], None] | None = None) -> TestResult:
    """Test values (saved or not) of one type; never raises except on cancellation."""
    secret_values = [str(v) for v in secrets.values() if v not in (None, "")]
    try:
        integration = entry.integration()
        # Before the clock starts: an import blocks the event loop (no timeout can cut it) and is not the
        # server's time. The GUI has done this on a worker thread already; then it costs nothing.
        integration.preload()
    except PluginLoadError as exc:
        return _failure(ConfigError(str(exc)), TestContext(timeout), time.perf_counter(), secret_values)
    except Exception as exc:  # a driver that is missing or fails to import disables the test, worded
        return _failure(ConfigError(f"cannot load the driver of {entry.type}: {type(exc).__name__}: {exc}; "
                                    "check that connhub's dependencies are installed"),
                        TestContext(timeout), time.perf_counter(), secret_values)
    ctx = TestContext(timeout, on_stage)
    start = time.perf_counter()
    try:
        resolved = coerce(entry.specs, resolve_references(config))
        probe = await asyncio.wait_for(integration.test_connection(resolved, dict(secrets), ctx), timeout)
    except asyncio.CancelledError:
        raise
    except (asyncio.TimeoutError, TimeoutError) as exc:
        error = exc if isinstance(exc, ConnectionTestError) else classify(exc)
        error.detail = f"No answer within {timeout:g} s" + (f" (during {ctx.current_stage})"
                                                            if ctx.current_stage else "")
        return _failure(error, ctx, start, secret_values)
    except Exception as exc:  # every failure becomes a classified result
        return _failure(classify(exc), ctx, start, secret_values, ca_field=_ca_field(entry))
    return TestResult(
        ok=True,
        message=redact(f"Connected to {probe.server_version}" if probe.server_version else "Connected",
                       secret_values),
        latency_ms=_ms_since(start),
        server_version=redact(probe.server_version, secret_values) if probe.server_version else None,
        stages=ctx.stages,
        details={k: redact(str(v), secret_values) for k, v in probe.details.items()},
    )


def _failure(error: ConnectionTestError, ctx: TestContext, start: float, secrets: list[str],
             ca_field: str | None = None) -> TestResult:
    failed = next((s.name for s in reversed(ctx.stages) if not s.ok), ctx.current_stage)
    cls = error.error_class
    hint = HINTS[cls]
    if cls is ErrorClass.TLS and ca_field:
        hint = (f"Check the TLS mode and the server's certificate; if a private CA signed it, give that CA's "
                f"PEM file in \u201c{ca_field}\u201d.")
    if cls is ErrorClass.RATE_LIMITED and error.retry_after:
        hint = f"The server asks you to wait {error.retry_after:g} s before trying again."
    return TestResult(ok=False, message=redact(error.detail or TITLES[cls], secrets), error_class=cls,
                      hint=hint, latency_ms=_ms_since(start), stages=ctx.stages, failed_stage=failed)


def _ca_field(entry: TypeEntry) -> str | None:
    """The title of the type's CA certificate field (a file path whose key names a CA), for the TLS hint."""
    for spec in all_specs(entry.specs):
        key = spec.key.rsplit(".", 1)[-1]
        if spec.schema.get("format") == "file-path" and ("ca" in key.split("_") or key == "sslrootcert"):
            return spec.title
    return None


def redact(text: str, secrets: list[str]) -> str:
    """Replace every secret (and its common encodings) in a text meant for people or files. Base64 is
    decoded rather than guessed: a server echoing a Basic header carries `user:password`, not the password."""
    from urllib.parse import quote, quote_plus

    secrets = [secret for secret in secrets if len(secret) >= 3]
    for secret in sorted(secrets, key=len, reverse=True):
        forms = {secret, quote(secret, safe=""), quote(secret), quote_plus(secret, safe=""), json.dumps(secret)[1:-1]}
        for form in forms:
            text = text.replace(form, REDACTED)
    if secrets:
        text = _BASE64_RUN.sub(lambda m: REDACTED if _decodes_to_secret(m.group(), secrets) else m.group(), text)
    return text


_BASE64_RUN = re.compile(r"[A-Za-z0-9+/_-]{4,}={0,2}")


def _decodes_to_secret(run: str, secrets: list[str]) -> bool:
    for decode in (base64.b64decode, base64.urlsafe_b64decode):
        try:
            decoded = decode(run + "=" * (-len(run) % 4)).decode("utf-8", "ignore")
        except (ValueError, binascii.Error):
            continue
        if any(secret in decoded for secret in secrets):
            return True
    return False


def coerce(specs: list[FieldSpec], values: dict[str, Any]) -> dict[str, Any]:
    """Give resolved `${env:…}` values their field's type; a value that cannot be is a config error."""
    kinds = {s.key: s.kind for s in all_specs(specs)}
    out = dict(values)
    for key, value in values.items():
        if not isinstance(value, str):
            continue
        kind = kinds.get(key)
        try:
            if kind is FieldKind.INTEGER:
                out[key] = int(value)
            elif kind is FieldKind.NUMBER:
                out[key] = float(value)
            elif kind is FieldKind.BOOLEAN:
                out[key] = value.strip().lower() in ("1", "true", "yes", "on")
        except ValueError:
            raise ConfigError(f"Field '{key}' must be a number, got {value!r}") from None
    return out


def _ms_since(start: float) -> float:
    return round((time.perf_counter() - start) * 1000, 2)
