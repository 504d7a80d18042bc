"""Malformed connection URLs and malformed import files are refused with a clear message, and nothing is
written: the instance count and the keyring's items are the same before and after."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connhub.core.urls import UrlError
from connhub.plugins.registry import Registry
from connhub.services.hub import Hub
from connhub.services.transfer import TransferError, read_import
from connhub.storage.vault import KeyringVault
from tests.support.keyrings import MemoryKeyring

PASSPHRASE = "correct horse battery"


@pytest.fixture(scope="module")
def registry():
    return Registry.discover(plugins=False)


@pytest.fixture
def hub(tmp_path, registry):
    keyring = MemoryKeyring()
    hub = Hub(data_dir=tmp_path / "data", registry=registry, vault=KeyringVault(backend=keyring))
    hub.keyring = keyring  # for the counts below
    hub.instances.create("postgres", "Orders", {"host": "db.local", "port": 5432, "database": "orders", "user": "app",
                                      "password": "pg-secret-1"}, tags=["a"])
    hub.instances.create("redis", "Cache", {"host": "cache.local", "port": 6379})
    yield hub
    hub.close()


def state(hub) -> tuple:
    """Everything an import or a URL could have changed."""
    return (sorted((r.name, r.type, json.dumps(r.config, sort_keys=True), tuple(r.secret_fields))
                   for r in hub.store.list()), dict(hub.keyring.entries))


# --- malformed URLs ------------------------------------------------------------------------------------

MALFORMED_URLS = {
    "postgres": ["", "postgres", "postgres:/", "mysql://db.example.com/x", "postgres://[::1/db",
                 "postgres://db.example.com:99999/db", "postgres://db.example.com:-1/db",
                 "postgres://db.example.com:port/db", "postgres://db\x00.example.com/x",
                 "postgres://db.example.com/x?sslmode=sometimes", "postgres://%zz@db.example.com/x",
                 "postgres://db.example.com:5432:5433/x", "\u202epostgres://db.example.com"],
    "redis": ["redis://cache.example.com/notanumber", "redis://cache.example.com:0", "redis://[fe80::1",
              "redis://cache.example.com:65536", "https://cache.example.com"],
    "mqtt": ["mqtt://broker.example.com:70000", "amqp://broker.example.com"],
    "http": ["", "ftp://api.example.com", "https://", "https://[::1", "https://api.example.com:99999/"],
    "ssh": ["ssh://", "ssh://bastion.example.com:0", "ssh://[::1"],
}


@pytest.mark.parametrize("type_name,url", [(t, u) for t, urls in MALFORMED_URLS.items() for u in urls])
def test_malformed_url_is_refused_with_a_message(hub, type_name, url):
    before = state(hub)
    with pytest.raises(UrlError) as caught:
        hub.types.values_from_url(type_name, url)
    message = str(caught.value)
    assert message.strip() and len(message) < 500, message
    assert "Traceback" not in message
    assert state(hub) == before


@settings(max_examples=300, deadline=None)
@given(url=st.one_of(st.text(max_size=60),
                     st.tuples(st.sampled_from(["postgres://", "redis://", "rediss://", "mqtt://", "https://",
                                                "ssh://", "amqp://", "smtp://", "nats://"]),
                               st.text(max_size=40)).map("".join)),
       type_name=st.sampled_from(["postgres", "redis", "mqtt", "http", "ssh", "rabbitmq", "smtp", "nats"]))
def test_any_url_gives_values_or_a_url_error(registry, tmp_path_factory, url, type_name):
    """Never another exception: whatever is pasted ends in form values or a message."""
    hub = Hub(data_dir=tmp_path_factory.getbasetemp() / "urls", registry=registry,
              vault=KeyringVault(backend=MemoryKeyring()))
    try:
        parsed = hub.types.values_from_url(type_name, url)
    except UrlError as exc:
        assert str(exc).strip()
    else:
        assert isinstance(parsed.values, dict)


# --- malformed import files ----------------------------------------------------------------------------

def _valid_export(hub) -> str:
    return hub.transfer.export_plain(hub.store.list())


def malformed_imports(hub) -> dict[str, tuple[str | bytes, str | None, str]]:
    """{case: (file content, passphrase, words the message must contain)}."""
    plain = _valid_export(hub)
    bundle = hub.transfer.export_bundle(hub.store.list(), PASSPHRASE)
    sealed = json.loads(bundle)
    tampered = dict(sealed)
    field = next(k for k in ("ciphertext", "data", "payload") if k in sealed)
    raw = bytearray(sealed[field].encode())
    raw[len(raw) // 2] = ord("A") if raw[len(raw) // 2] != ord("A") else ord("B")
    tampered[field] = raw.decode()
    doc = json.loads(plain)
    wrong_version = {**doc, "version": 99}
    one_bad = {**doc, "instances": [
        {**doc["instances"][0], "name": "Fresh one"},
        {**doc["instances"][1], "name": "Second", "config": {"host": "x", "port": "not a port"}}]}
    long_name = {**doc, "instances": [{**doc["instances"][0], "name": "Fresh one"},
                                      {**doc["instances"][1], "name": "n" * 300}]}
    surrogate_name = {**doc, "instances": [{**doc["instances"][0], "name": "Fresh one"},
                                           {**doc["instances"][1], "name": "bad \ud800 name"}]}
    return {
        "truncated": (plain[: len(plain) // 2], None, "invalid JSON"),
        "empty": ("", None, "invalid JSON"),
        "not an object": ("[1, 2, 3]", None, "not a connhub export"),
        "wrong version": (json.dumps(wrong_version), None, "version"),
        "huge": ('{"format": "connhub-export", "version": 1, "instances": [], "pad": "' + "x" * (33 * 2**20)
                 + '"}', None, "larger than 32 MB"),
        "deeply nested": ('{"format": "connhub-export", "version": 1, "instances": ' + "[" * 100_000
                          + "]" * 100_000 + "}", None, "nest"),
        "bundle without passphrase": (bundle, None, "passphrase"),
        "bundle, wrong passphrase": (bundle, "not the passphrase", "wrong passphrase"),
        "bundle, tampered": (json.dumps(tampered), PASSPHRASE, "changed"),
        "not UTF-8": (plain.replace("Orders", "Ordérs").encode("latin-1"), None, "UTF-8"),
        "one bad instance": (json.dumps(one_bad), None, "port"),
        "a name too long": (json.dumps(long_name), None, "200 characters"),
        "a name that is not text": (json.dumps(surrogate_name), None, "not valid text"),
        "instances not a list": (json.dumps({**doc, "instances": {"a": 1}}), None, "must be a list"),
        "unknown type": (json.dumps({**doc, "instances": [{**doc["instances"][0], "type": "nope"}]}), None,
                         "unknown type"),
    }


CASES = ["truncated", "empty", "not an object", "wrong version", "huge", "deeply nested", "bundle without passphrase",
         "bundle, wrong passphrase", "bundle, tampered", "not UTF-8", "one bad instance", "a name too long",
         "a name that is not text", "instances not a list", "unknown type"]


@pytest.mark.parametrize("case", CASES)
def test_malformed_import_is_refused_and_nothing_written(hub, case):
    content, passphrase, words = malformed_imports(hub)[case]
    before = state(hub)
    with pytest.raises(TransferError) as caught:
        hub.transfer.apply_import(hub.transfer.plan_import(read_import(content, passphrase)))
    message = str(caught.value)
    assert words.lower() in message.lower(), message[:500]
    assert len(message) < 2000 and "x" * 200 not in message
    assert state(hub) == before


def test_the_valid_export_the_cases_start_from_does_import(hub):
    """The malformed cases are refused for what was broken, not because the base file was bad."""
    content = json.dumps({**json.loads(_valid_export(hub)), "instances": [
        {**json.loads(_valid_export(hub))["instances"][1], "name": "Fresh one"}]})
    report = hub.transfer.apply_import(hub.transfer.plan_import(read_import(content)))
    assert report.created == ["Fresh one"]


# --- any import file: a message or a correct save, never a traceback or a partial write -------------------

_HOSTILE_TEXT = st.text(alphabet=st.sampled_from(list("ab 1:é\x00\x1b\x7f\u202e\u200b\ud800\n\t[]{}\"") + ["\x9b"]),
                        max_size=30)


def _instances() -> st.SearchStrategy:
    names = st.one_of(st.text(max_size=20), _HOSTILE_TEXT)
    configs = st.fixed_dictionaries({"host": st.one_of(st.text(max_size=20), st.integers(), st.none()),
                                     "port": st.one_of(st.integers(-5, 70000), st.text(max_size=5))})
    instance = st.fixed_dictionaries(
        {"name": names, "type": st.sampled_from(["redis", "redis", "postgres", "nope", ""]), "config": configs},
        optional={"tags": st.lists(st.one_of(_HOSTILE_TEXT, st.integers(), st.none()), max_size=4),
                  "environment": st.sampled_from(["dev", "prod", "production", "", "\x1b[2J"]),
                  "secrets": st.dictionaries(st.sampled_from(["password", "x"]),
                                             st.one_of(st.text(max_size=10), st.integers()), max_size=2)})
    return st.lists(instance, max_size=4)


def _documents() -> st.SearchStrategy:
    nested = st.integers(1, 3000).map(lambda n: '{"format": "connhub-export", "version": 1, "instances": '
                                      + "[" * n + "]" * n + "}")
    shaped = _instances().map(lambda items: json.dumps({"format": "connhub-export", "version": 1,
                                                         "instances": items}))
    return st.one_of(st.binary(max_size=200), st.text(max_size=200), nested, shaped,
                     shaped.map(lambda text: text.encode("utf-8", "surrogatepass")))


@settings(max_examples=150, deadline=None)
@given(content=_documents())
def test_any_import_file_is_saved_whole_or_refused_with_nothing_written(registry, tmp_path_factory, content):
    keyring = MemoryKeyring()
    hub = Hub(data_dir=tmp_path_factory.mktemp("fuzz"), registry=registry, vault=KeyringVault(backend=keyring))
    hub.keyring = keyring
    try:
        hub.instances.create("redis", "Cache", {"host": "cache.local", "port": 6379})
        before = state(hub)
        try:
            plan = hub.transfer.plan_import(read_import(content))
            report = hub.transfer.apply_import(plan)
        except TransferError as exc:
            message = str(exc)
            assert message.strip() and "Traceback" not in message
            assert state(hub) == before
        else:
            saved = {r.name for r in hub.store.list()}
            assert set(report.created) <= saved
            assert len(saved) == 1 + len(report.created)
            for name in report.created:  # what was saved passed the one rule for names
                assert name == " ".join(name.split()) and not any(ord(c) < 32 or 0x7f <= ord(c) < 0xa0
                                                                  for c in name)
    finally:
        hub.close()
