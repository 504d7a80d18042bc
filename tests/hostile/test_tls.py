"""TLS across types: a local TLS server whose certificate a private CA signed (so no system store trusts it)
fails with a `tls` error whose hint names the type's CA field; given that CA, the same test passes. And no
code path turns verification off unless the user chose a mode that means it."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from connhub.core.errors import ErrorClass
from connhub.plugins.registry import Registry
from connhub.services.runner import run_test
from tests.support.servers import http_server, make_tls_files, postgres_bin_dir, throwaway_postgres, throwaway_redis
from tests.support.services import free_port, missing

SRC = Path(__file__).resolve().parents[2] / "src" / "connhub"


@pytest.fixture(scope="module")
def registry():
    return Registry.discover(plugins=False)


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory):
    return make_tls_files(tmp_path_factory.mktemp("tls"))


@contextmanager
def tls_server(type_name: str, files) -> Iterator[tuple[dict, dict, str]]:
    """(config without a CA, secrets, name of the CA field) of a running TLS server of this type."""
    if type_name == "http":
        with http_server(lambda request: (200, {}, "ok"), tls=files.server_context()) as server:
            yield {"base_url": server.url}, {}, "ca_file"
    elif type_name == "smtp":
        from tests.integrations.smtp.conftest import smtp_server

        with smtp_server("mailer", "mail-pw-7", ssl_context=files.server_context(), auth_require_tls=False) as s:
            yield {"host": s.host, "port": s.port, "security": "tls", "user": "mailer"}, {"password": "mail-pw-7"}, \
                "ca_file"
    elif type_name == "redis":
        import shutil

        if not shutil.which("redis-server"):
            missing("redis-server not found on PATH — install it (apt-get install redis-server)")
        with throwaway_redis(free_port(), tls=files) as server:
            yield {"host": server.host, "port": server.port, "tls": True}, {}, "ca_file"
    elif type_name == "postgres":
        bin_dir = postgres_bin_dir()
        if bin_dir is None:
            missing("initdb not found — install PostgreSQL (apt-get install postgresql)")
        with throwaway_postgres(bin_dir, free_port(), "pg-tls-pw-3", tls=files) as server:
            yield ({"host": server.host, "port": server.port, "database": "postgres", "user": "postgres",
                    "sslmode": "verify-full"}, {"password": "pg-tls-pw-3"}, "sslrootcert")
    else:
        raise AssertionError(type_name)


def run(registry, type_name, config, secrets):
    return asyncio.run(run_test(registry.get(type_name), config, secrets, timeout=10))


@pytest.mark.parametrize("type_name", ["http", "smtp", "redis", "postgres"])
def test_private_ca_is_tls_with_a_hint_then_passes_with_the_ca(registry, tls_files, type_name):
    with tls_server(type_name, tls_files) as (config, secrets, ca_key):
        untrusted = run(registry, type_name, config, secrets)
        assert untrusted.error_class == ErrorClass.TLS, (untrusted.error_class, untrusted.message)
        assert untrusted.failed_stage == "tls", untrusted.stages
        title = next(s.title for s in registry.get(type_name).specs if s.key == ca_key)
        assert f"\u201c{title}\u201d" in untrusted.hint, untrusted.hint
        trusted = run(registry, type_name, {**config, ca_key: str(tls_files.ca)}, secrets)
        assert trusted.ok, (trusted.error_class, trusted.message)


#: Every place allowed to build a TLS client that does not check the certificate, and why it may.
ALLOWED_UNVERIFIED = {
    ("core/net.py", "context.check_hostname = False"): "tls_context(verify=False): only when a caller asks",
    ("core/net.py", "context.verify_mode = ssl.CERT_NONE"): "the same branch",
    ("integrations/postgres/__init__.py", "return tls_context(None, verify=False)"):
        "sslmode=require, chosen by the user: encrypted, not verified (libpq's meaning)",
    ("integrations/mysql/__init__.py", "return tls_context(None, verify=False)"):
        "ssl_mode PREFERRED/REQUIRED: MySQL's meaning; VERIFY_CA/VERIFY_IDENTITY verify",
}
UNVERIFIED = re.compile(r"CERT_NONE|CERT_OPTIONAL|check_hostname\s*=\s*False|verify\s*=\s*False|"
                        r"_create_unverified_context|ssl_cert_reqs\s*=\s*[\"'](none|optional)|"
                        r"ssl_check_hostname\s*=\s*False|known_hosts\s*=\s*None|insecure\s*=\s*True")
#: `verify=` taken from a setting must come from the user's own `verify_tls` field.
VERIFY_FROM_CONFIG = re.compile(r"verify\s*=\s*(?!True\b|False\b|verify\b|bool\((?:config|merged)\.get\(\"verify_tls\", True\)\))")


def test_verification_is_never_turned_off_silently():
    found, from_elsewhere = [], []
    for path in sorted(SRC.rglob("*.py")):
        rel = path.relative_to(SRC).as_posix()
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            code = line.split("#", 1)[0].strip()
            if UNVERIFIED.search(code) and (rel, code) not in ALLOWED_UNVERIFIED:
                found.append(f"{rel}:{number}: {code}")
            if "tls_context(" in code and VERIFY_FROM_CONFIG.search(code[code.index("tls_context("):]):
                from_elsewhere.append(f"{rel}:{number}: {code}")
    assert not found, "certificate checks turned off outside a user-chosen mode:\n" + "\n".join(found)
    assert not from_elsewhere, "verify= must come from the user's verify_tls field:\n" + "\n".join(from_elsewhere)
    for rel, code in ALLOWED_UNVERIFIED:  # the allow-list stays true (a removed line must leave it)
        assert code in (SRC / rel).read_text(encoding="utf-8"), (rel, code)


def test_verify_tls_false_is_the_only_way_to_skip_the_check(registry, tls_files):
    """Without a CA and without the user's verify_tls=false, no retry quietly drops verification."""
    with tls_server("http", tls_files) as (config, secrets, _ca_key):
        assert run(registry, "http", config, secrets).error_class == ErrorClass.TLS
        assert run(registry, "http", {**config, "verify_tls": True}, secrets).error_class == ErrorClass.TLS
        assert run(registry, "http", {**config, "verify_tls": False}, secrets).ok
