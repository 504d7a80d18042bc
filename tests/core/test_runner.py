"""run_test: the one place that times, bounds, classifies and redacts a connection test."""

from __future__ import annotations

import asyncio
import base64
import json
import time
from pathlib import Path
from urllib.parse import quote, quote_plus

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from connhub.core.errors import HINTS, ErrorClass
from connhub.plugins.registry import Registry, TypeEntry
from connhub.services.runner import REDACTED, run_test
from tests.core import runner_integrations
from tests.core.runner_integrations import OkIntegration

MODULE = runner_integrations.__name__
CREDENTIALS = {
    "type": "object",
    "required": ["host"],
    "properties": {
        "host": {"type": "string", "format": "hostname"},
        "port": {"type": "integer", "minimum": 1, "maximum": 65535, "default": 5432},
        "ratio": {"type": "number"},
        "tls": {"type": "boolean"},
        "user": {"type": "string"},
        "password": {"type": "string", "writeOnly": True},
    },
}


def make_entry(tmp_path: Path, entrypoint: str) -> TypeEntry:
    """A type read from a real manifest folder, its code named by `entrypoint`."""
    folder = tmp_path / "acme"
    folder.mkdir()
    (folder / "icon.svg").write_text('<svg xmlns="http://www.w3.org/2000/svg"/>')
    (folder / "manifest.json").write_text(json.dumps({
        "manifest_version": 1, "type": "acme", "name": "Acme DB", "group": "database", "icon": "icon.svg",
        "entrypoint": entrypoint, "credentials": CREDENTIALS}))
    entry = Registry.from_folders([folder]).get("acme")
    assert entry.ok, entry.error
    return entry


def run(entry: TypeEntry, config: dict | None = None, secrets: dict | None = None, timeout: float = 5.0,
        **kwargs):
    return asyncio.run(run_test(entry, config or {"host": "db", "user": "app"}, secrets or {}, timeout, **kwargs))


@pytest.fixture(autouse=True)
def _forget_seen():
    OkIntegration.seen.clear()


def test_success_reports_latency_version_and_timed_stages(tmp_path):
    announced: list[str] = []
    result = run(make_entry(tmp_path, f"{MODULE}:OkIntegration"), on_stage=announced.append)
    assert result.ok
    assert result.error_class is None and result.failed_stage is None
    assert result.message == "Connected to Acme 1.2.3"
    assert result.server_version == "Acme 1.2.3"
    assert result.details == {"role": "reader"}
    assert [s.name for s in result.stages] == ["resolve", "connect", "auth", "probe"] == announced
    assert all(s.ok and s.duration_ms >= 4 for s in result.stages)
    assert result.latency_ms >= sum(s.duration_ms for s in result.stages) - 1
    assert result.to_dict()["error_class"] is None


def test_auth_error_is_classified_with_its_hint(tmp_path):
    result = run(make_entry(tmp_path, f"{MODULE}:AuthFailing"))
    assert not result.ok
    assert result.error_class is ErrorClass.AUTH
    assert result.message == "password authentication failed for user 'app'"
    assert result.hint == HINTS[ErrorClass.AUTH]
    assert result.failed_stage == "auth"
    assert [(s.name, s.ok) for s in result.stages] == [("connect", True), ("auth", False)]
    assert result.to_dict()["error_class"] == "auth"


def test_a_slow_server_times_out_on_time_naming_the_stage(tmp_path):
    entry = make_entry(tmp_path, f"{MODULE}:Slow")
    entry.integration()  # import outside the stopwatch
    start = time.perf_counter()
    result = run(entry, timeout=1)  # long enough for "+ 10 %" to be more than this machine's scheduling noise
    elapsed = time.perf_counter() - start
    assert elapsed < 1 * 1.1 + 0.1
    assert not result.ok
    assert result.error_class is ErrorClass.TIMEOUT
    assert result.message == "No answer within 1 s (during probe)"
    assert result.hint == HINTS[ErrorClass.TIMEOUT]
    assert result.failed_stage == "probe"
    assert 990 <= result.latency_ms < 1200


def test_cancellation_propagates_quickly(tmp_path):
    entry = make_entry(tmp_path, f"{MODULE}:Slow")
    entry.integration()

    async def scenario() -> float:
        task = asyncio.create_task(run_test(entry, {"host": "db"}, {}, timeout=10))
        await asyncio.sleep(0.05)
        task.cancel()
        start = time.perf_counter()
        with pytest.raises(asyncio.CancelledError):
            await task
        return time.perf_counter() - start

    assert asyncio.run(scenario()) < 0.1


def test_secrets_echoed_in_messages_are_redacted(tmp_path):
    password = "s3cr3t p@ss/wörd+1"
    result = run(make_entry(tmp_path, f"{MODULE}:EchoesSecret"), secrets={"password": password})
    assert not result.ok and result.error_class is ErrorClass.UNKNOWN
    assert password not in result.message
    assert "s3cr3t%20p%40ss%2Fw%C3%B6rd%2B1" not in result.message  # percent-encoded, as in a URL
    assert "s3cr3t%20p%40ss/w%C3%B6rd%2B1" not in result.message  # encoded with '/' kept
    assert result.message == (f"RuntimeError: login failed with password={REDACTED} for "
                              f"postgres://app:{REDACTED}@db/app (form: pw={REDACTED})")


def test_secrets_in_form_encoding_are_redacted():
    from connhub.services.runner import redact

    password = "two words&more"
    assert redact(f"body: password={quote_plus(password)}", [password]) == f"body: password={REDACTED}"


def test_a_basic_auth_header_echoed_back_is_redacted_but_ordinary_base64_is_kept():
    from connhub.services.runner import redact

    password = "hunter2-canary"
    header = base64.b64encode(f"alice:{password}".encode()).decode()
    harmless = base64.b64encode(b"alice:something-else").decode()
    assert redact(f"Server: echo Basic {header}", [password]) == f"Server: echo Basic {REDACTED}"
    assert redact(f"Server: echo Basic {harmless}", [password]) == f"Server: echo Basic {harmless}"


@given(secret=st.text(min_size=3, max_size=40), prefix=st.text(max_size=20), suffix=st.text(max_size=20))
@settings(max_examples=300, deadline=None)
def test_no_written_form_of_a_secret_survives_redaction(secret, prefix, suffix):
    """Whatever surrounds it, a secret leaves neither as is, URL-encoded, JSON-escaped nor inside Basic."""
    from connhub.services.runner import redact

    forms = {secret, quote(secret, safe=""), quote_plus(secret), json.dumps(secret)[1:-1],
             base64.b64encode(f"user:{secret}".encode()).decode()}
    for form in forms:
        assume(form not in prefix and form not in suffix)
        assert form not in redact(f"{prefix} {form} {suffix}", [secret])


def test_env_references_are_resolved_and_coerced(tmp_path, monkeypatch):
    monkeypatch.setenv("ACME_PORT", "6543")
    monkeypatch.setenv("ACME_RATIO", "0.5")
    monkeypatch.setenv("ACME_TLS", "yes")
    monkeypatch.setenv("ACME_HOST", "db.internal")
    config = {"host": "${env:ACME_HOST}", "port": "${env:ACME_PORT}", "ratio": "${env:ACME_RATIO}",
              "tls": "${env:ACME_TLS}", "user": "app"}
    result = run(make_entry(tmp_path, f"{MODULE}:OkIntegration"), config=config, secrets={"password": "pw123"})
    assert result.ok, result.message
    seen_config, seen_secrets = OkIntegration.seen[-1]
    assert seen_config == {"host": "db.internal", "port": 6543, "ratio": 0.5, "tls": True, "user": "app"}
    assert type(seen_config["port"]) is int
    assert seen_secrets == {"password": "pw123"}


def test_a_variable_that_is_not_a_number_is_a_config_error(tmp_path, monkeypatch):
    monkeypatch.setenv("ACME_PORT", "fifty")
    result = run(make_entry(tmp_path, f"{MODULE}:OkIntegration"), config={"host": "db", "port": "${env:ACME_PORT}"})
    assert result.error_class is ErrorClass.CONFIG
    assert result.message == "Field 'port' must be a number, got 'fifty'"
    assert OkIntegration.seen == []


def test_an_unset_variable_is_a_config_error_naming_it(tmp_path, monkeypatch):
    monkeypatch.delenv("ACME_UNSET_HOST", raising=False)
    result = run(make_entry(tmp_path, f"{MODULE}:OkIntegration"), config={"host": "${env:ACME_UNSET_HOST}"})
    assert not result.ok
    assert result.error_class is ErrorClass.CONFIG
    assert result.message == "Field 'host' refers to the environment variable ACME_UNSET_HOST, which is not set"
    assert result.hint == HINTS[ErrorClass.CONFIG]
    assert OkIntegration.seen == []


def test_code_that_cannot_be_loaded_is_a_config_error_with_the_fix(tmp_path):
    result = run(make_entry(tmp_path, "connhub_test_no_such_module:Nope"))
    assert not result.ok
    assert result.error_class is ErrorClass.CONFIG
    assert result.message == (
        "cannot load connhub_test_no_such_module:Nope for acme: ModuleNotFoundError: No module named "
        "'connhub_test_no_such_module'; check the entrypoint and that the plugin's dependencies are installed")


def test_an_entrypoint_that_is_not_an_integration_is_a_config_error(tmp_path):
    result = run(make_entry(tmp_path, f"{MODULE}:NotAnIntegration"))
    assert result.error_class is ErrorClass.CONFIG
    assert result.message == (f"{MODULE}:NotAnIntegration is not a connhub Integration subclass: derive it "
                              "from connhub.core.integration.Integration")


def test_a_disabled_type_is_a_config_error(tmp_path):
    entry = TypeEntry("acme", "test", tmp_path, None, "icon 'icon.svg' not found beside manifest.json")
    result = run(entry)
    assert result.error_class is ErrorClass.CONFIG
    assert result.message == "acme is disabled: icon 'icon.svg' not found beside manifest.json"


def test_an_integration_can_be_given_in_memory(tmp_path):
    entry = make_entry(tmp_path, "connhub_test_never_imported:Nope")
    entry._integration = OkIntegration(entry.manifest)
    assert run(entry).ok
