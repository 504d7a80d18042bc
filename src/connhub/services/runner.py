"""The one runner: tests, actions and workflow steps all run through `run_bounded`.

It loads the type's code (off the clock), resolves `${env:…}` references, cuts the work at `timeout`, turns
every failure into a classified error, and scrubs the secrets that went in from every text that comes out.
Integrations only connect and raise. A test adds its stages and wording (`run_test`); an action adds its
parameter and result checks (services/actions.py).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

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
from connhub.core.integration import Integration
from connhub.core.references import resolve_references
from connhub.core.results import StageResult, TestResult
from connhub.plugins.registry import PluginLoadError, TypeEntry

DEFAULT_TIMEOUT = 10.0
REDACTED = "********"
T = TypeVar("T")
Work = Callable[[Integration, dict[str, Any], dict[str, Any], TestContext], Awaitable[T]]


@dataclass
class Outcome(Generic[T]):
    """What a bounded run gave: its value, or the classified error (its detail already scrubbed)."""

    value: T | None
    error: ConnectionTestError | None
    ctx: TestContext
    elapsed_ms: float
    secret_values: list[str]

    @property
    def ok(self) -> bool:
        return self.error is None


async def run_bounded(entry: TypeEntry, config: dict[str, Any], secrets: dict[str, Any], timeout: float,
                      work: Work[T], ctx: TestContext | None = None) -> Outcome[T]:
    """Run `work(integration, resolved config, secrets, ctx)` under `timeout`; never raises except on
    cancellation."""
    secret_values = [str(v) for v in secrets.values() if v not in (None, "")]
    ctx = ctx or TestContext(timeout)
    try:
        integration = entry.integration()
        # Before the clock starts: an import blocks the event loop (no timeout can cut it) and is not the
        # server's time. The GUI has done this on a worker thread already; then it costs nothing.
        integration.preload()
    except PluginLoadError as exc:
        return _failed(ConfigError(str(exc)), ctx, time.perf_counter(), secret_values)
    except Exception as exc:  # a driver that is missing or fails to import disables the run, worded
        return _failed(ConfigError(f"cannot load the driver of {entry.type}: {type(exc).__name__}: {exc}; "
                                   "check that connhub's dependencies are installed"),
                       ctx, time.perf_counter(), secret_values)
    start = time.perf_counter()
    try:
        # the manifest's defaults put in once, here, for the test and every action of every type
        resolved = integration.with_defaults(coerce(entry.specs, resolve_references(config)))
        async with asyncio.timeout(timeout):  # no extra task per run, as wait_for makes (~10 µs of a Redis get)
            value = await work(integration, resolved, dict(secrets), ctx)
    except asyncio.CancelledError:
        raise
    except (asyncio.TimeoutError, TimeoutError) as exc:
        _raise_if_given_up()
        error = exc if isinstance(exc, ConnectionTestError) else classify(exc)
        error.detail = f"No answer within {timeout:g} s" + (f" (during {ctx.current_stage})"
                                                            if ctx.current_stage else "")
        return _failed(error, ctx, start, secret_values)
    except Exception as exc:  # every failure becomes a classified error, by the type's own table if it has one
        _raise_if_given_up()
        return _failed(integration.classify_driver_error(exc, ctx), ctx, start, secret_values)
    _raise_if_given_up()
    return Outcome(value, None, ctx, _ms_since(start), secret_values)


def _raise_if_given_up() -> None:
    """A driver may swallow a cancel and end later on its own timeout (redis-py's wait_for on Python 3.11):
    the caller has given up on that run, so its late outcome must not be recorded or shown."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


def _failed(error: ConnectionTestError, ctx: TestContext, start: float, secrets: list[str]) -> Outcome:
    error.detail = redact(error.detail or TITLES[error.error_class], secrets)
    return Outcome(None, error, ctx, _ms_since(start), secrets)


async def run_test(entry: TypeEntry, config: dict[str, Any], secrets: dict[str, Any], timeout: float,
                   on_stage: Callable[[str], None] | None = None) -> TestResult:
    """Test values (saved or not) of one type; never raises except on cancellation."""
    outcome = await run_bounded(entry, config, secrets, timeout,
                                lambda integration, resolved, given, ctx:
                                integration.test_connection(resolved, given, ctx),
                                TestContext(timeout, on_stage))
    if outcome.error is not None:
        if outcome.error.error_class is ErrorClass.TIMEOUT and outcome.ctx.current_stage == "connect":
            await _name_a_silent_server(outcome, config, timeout)
        return _failure(outcome.error, outcome.ctx, outcome.elapsed_ms, ca_field=_ca_field(entry))
    probe, secret_values = outcome.value, outcome.secret_values
    return TestResult(
        ok=True,
        message=redact(f"Connected to {probe.server_version}" if probe.server_version else "Connected",
                       secret_values),
        latency_ms=outcome.elapsed_ms,
        server_version=redact(probe.server_version, secret_values) if probe.server_version else None,
        stages=outcome.ctx.stages,
        details={k: redact(str(v), secret_values) for k, v in probe.details.items()},
    )


async def _name_a_silent_server(outcome: Outcome, config: dict[str, Any], timeout: float) -> None:
    """Drivers connect and greet in one call, so a server that accepts TCP and then says nothing timed out
    "during connect". One TCP connect (a tenth of the budget, so the whole stays within timeout + 10 %) tells
    the two apart; then the stage that hung is named: the handshake."""
    host, port = config.get("host"), config.get("port")
    url = next((config[k] for k in ("base_url", "endpoint", "site_url") if isinstance(config.get(k), str)), None)
    if url:  # the HTTP-based types
        from urllib.parse import urlsplit

        try:
            parts = urlsplit(url)
            host, port = parts.hostname, parts.port or {"http": 80, "https": 443}.get(parts.scheme)
        except ValueError:
            return
    if not isinstance(host, str) or not host or not isinstance(port, int) or host.startswith("/"):
        return
    try:
        async with asyncio.timeout(min(1.0, timeout / 10)):
            _reader, writer = await asyncio.open_connection(host, port)
    except (OSError, TimeoutError):
        return  # not even TCP: "connect" it was
    writer.close()
    ctx = outcome.ctx
    ctx.stages = [StageResult("handshake", s.ok, s.duration_ms, s.detail) if s.name == "connect" and not s.ok else s
                  for s in ctx.stages]
    ctx.current_stage = "handshake"
    outcome.error.detail = (f"No answer within {timeout:g} s: the server accepted the connection, then said "
                            "nothing (during the handshake)")


def _failure(error: ConnectionTestError, ctx: TestContext, elapsed_ms: float, ca_field: str | None = None
             ) -> TestResult:
    failed = next((s.name for s in reversed(ctx.stages) if not s.ok), ctx.current_stage)
    return TestResult(ok=False, message=error.detail, error_class=error.error_class, hint=hint_for(error, ca_field),
                      latency_ms=elapsed_ms, stages=ctx.stages, failed_stage=failed)


def hint_for(error: ConnectionTestError, ca_field: str | None = None) -> str:
    """What to check, for this class of failure (a TLS one names the CA field; a rate limit says how long)."""
    cls = error.error_class
    if cls is ErrorClass.TLS and ca_field:
        return (f"Check the TLS mode and the server's certificate; if a private CA signed it, give that CA's "
                f"PEM file in \u201c{ca_field}\u201d.")
    if cls is ErrorClass.RATE_LIMITED and error.retry_after:
        return f"The server asks you to wait {error.retry_after:g} s before trying again."
    return HINTS[cls]


_CREDENTIAL_SKIP = ("webhook_secret", "oauth_", "cfg:")  # secret fields no connection test checks
_ADDRESS = ("host", "base_url", "url", "endpoint", "site_url", "path")


def fields_to_blame(error_class: ErrorClass | None, specs: list[FieldSpec]) -> list[str]:
    """The form fields most likely wrong after a failed test, best first (the form marks the first one it
    shows): auth → the password or token; dns → the host; refused → the port; tls → the CA file."""
    every = all_specs(specs)

    def leaf(spec: FieldSpec) -> str:
        return spec.key.rsplit(".", 1)[-1]

    def named(*names: str) -> list[str]:
        return [spec.key for name in names for spec in every if leaf(spec) == name]

    if error_class is ErrorClass.AUTH:
        secrets = [spec.key for spec in every if spec.kind is FieldKind.PASSWORD
                   and not any(leaf(spec).startswith(skip) or spec.key.startswith(skip) for skip in _CREDENTIAL_SKIP)]
        return secrets + named("key_file", "username", "user", "email", "access_key_id")
    if error_class is ErrorClass.PERMISSION:
        return named("username", "user", "email", "access_key_id")
    if error_class is ErrorClass.DNS:
        return named(*_ADDRESS)
    if error_class is ErrorClass.REFUSED:
        return named("port", *_ADDRESS)
    if error_class is ErrorClass.TLS:
        ca = [spec.key for spec in every if spec.schema.get("format") == "file-path"
              and ("ca" in leaf(spec).split("_") or leaf(spec) == "sslrootcert")]
        return ca + named("sslmode", "ssl_mode", "tls", "security", "verify_tls")
    return []


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


def scrub(value: Any, secrets: list[str]) -> Any:
    """`redact` over every text inside a result (dict keys too), the structure kept; nothing to do without
    secrets."""
    secrets = [secret for secret in secrets if len(secret) >= 3]
    if not secrets:
        return value
    if isinstance(value, str):
        return redact(value, secrets)
    if isinstance(value, dict):
        return {scrub(k, secrets) if isinstance(k, str) else k: scrub(v, secrets) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [scrub(item, secrets) for item in value]
    return value


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
