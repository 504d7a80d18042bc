"""Export and import: plain exports carry no secret, bundles carry them sealed, imports write all or nothing."""

from __future__ import annotations

import base64
import json

import pytest

from connhub.plugins.registry import Registry
from connhub.services.hub import Hub
from connhub.services.transfer import (
    SECRET_PLACEHOLDER,
    Decision,
    TransferError,
    apply_import,
    export_bundle,
    export_plain,
    plan_import,
    read_import,
)
from connhub.storage.vault import SecretVault, VaultError


@pytest.fixture(scope="module")
def registry() -> Registry:
    return Registry.discover(plugins=False)


@pytest.fixture
def make_hub(tmp_path, registry, memory_keyring):
    hubs = []

    def make(name: str) -> Hub:
        hub = Hub(data_dir=tmp_path / name, registry=registry, vault=SecretVault(backend=memory_keyring))
        hubs.append(hub)
        return hub

    yield make
    for hub in hubs:
        hub.close()


@pytest.fixture
def fake():
    from faker import Faker

    return Faker()


@pytest.fixture
def source(make_hub, fake):
    hub = make_hub("source")
    secrets = {"pg": fake.password(length=20), "token": fake.sha256()}
    hub.create("postgres", "Orders", {"host": "db.local", "port": 5432, "database": "orders", "user": "app",
                                      "password": secrets["pg"]}, tags=["team-a"], environment="prod")
    hub.create("http", "Billing API", {"base_url": "https://billing.example/v1", "auth.method": "bearer",
                                       "auth.token": secrets["token"]})
    hub.create("redis", "Cache", {"host": "cache.local", "port": 6379})
    return hub, secrets


def test_a_plain_export_marks_secrets_and_carries_no_value(source):
    hub, secrets = source
    text = export_plain(hub, hub.instances())
    assert all(secret not in text for secret in secrets.values())
    document = json.loads(text)
    by_name = {i["name"]: i for i in document["instances"]}
    assert by_name["Orders"]["secrets"] == {"password": SECRET_PLACEHOLDER}
    assert by_name["Orders"]["config"]["host"] == "db.local" and by_name["Orders"]["environment"] == "prod"
    assert by_name["Billing API"]["secrets"] == {"auth.token": SECRET_PLACEHOLDER}
    assert by_name["Cache"]["secrets"] == {}


def test_a_plain_export_imports_with_secrets_left_to_fill_in(source, make_hub, memory_keyring):
    hub, _ = source
    target = make_hub("target")
    report = apply_import(target, plan_import(target, read_import(export_plain(hub, hub.instances()))))
    assert sorted(report.created) == ["Billing API", "Cache", "Orders"]
    orders = target.find("Orders")
    assert orders.config["database"] == "orders" and orders.tags == ["team-a"] and orders.environment == "prod"
    assert orders.secret_fields == []  # nothing was stored for the placeholder
    assert not any(user.startswith(orders.id) for user in memory_keyring.secrets_of())


def test_a_bundle_round_trip_restores_the_secrets(source, make_hub):
    hub, secrets = source
    bundle = export_bundle(hub, hub.instances(), "correct horse battery")
    assert all(secret not in bundle for secret in secrets.values())
    assert all(base64.b64encode(s.encode()).decode() not in bundle for s in secrets.values())
    target = make_hub("target")
    apply_import(target, plan_import(target, read_import(bundle, "correct horse battery")))
    assert target.secrets_of(target.find("Orders")) == {"password": secrets["pg"]}
    assert target.secrets_of(target.find("Billing API")) == {"auth.token": secrets["token"]}


def test_a_wrong_passphrase_or_a_tampered_bundle_is_refused_and_nothing_written(source, make_hub):
    hub, _ = source
    bundle = export_bundle(hub, hub.instances(), "correct horse battery")
    target = make_hub("target")
    with pytest.raises(TransferError, match="wrong passphrase, or the bundle was changed"):
        read_import(bundle, "wrong horse battery")
    document = json.loads(bundle)
    ciphertext = bytearray(base64.b64decode(document["ciphertext"]))
    ciphertext[10] ^= 1
    flipped = {**document, "ciphertext": base64.b64encode(bytes(ciphertext)).decode()}
    weaker = {**document, "kdf": {**document["kdf"], "n": 2**14}}  # header tampering is caught as well
    for tampered in (flipped, weaker):
        with pytest.raises(TransferError, match="wrong passphrase, or the bundle was changed"):
            read_import(json.dumps(tampered), "correct horse battery")
    with pytest.raises(TransferError, match="encrypted bundle: give its passphrase"):
        read_import(bundle)
    assert target.instances() == []


@pytest.mark.parametrize(("text", "message"), [
    ("{not json", "invalid JSON at line 1, column 2"),
    ("[]", "not a connhub export"),
    ('{"format": "connhub-export", "version": 9, "instances": []}', "this connhub reads export version 1"),
    ('{"format": "connhub-export", "version": 1, "instances": {}}', "\"instances\" must be a list"),
])
def test_malformed_files_are_refused_with_a_reason(text, message):
    with pytest.raises(TransferError, match=message):
        read_import(text)


def test_one_bad_instance_refuses_the_whole_import(make_hub):
    target = make_hub("target")
    document = {"format": "connhub-export", "version": 1, "instances": [
        {"name": "good", "type": "redis", "config": {"host": "h", "port": 6379}},
        {"name": "bad port", "type": "redis", "config": {"host": "h", "port": 70000}},
        {"name": "alien", "type": "mainframe", "config": {}},
    ]}
    with pytest.raises(TransferError) as caught:
        plan_import(target, document)
    message = str(caught.value)
    assert message.startswith("nothing was imported")
    assert "instance 2 ('bad port'): port: Must be at most 65535" in message
    assert "instance 3 ('alien'): unknown type 'mainframe'" in message
    assert target.instances() == []


def test_matches_are_skipped_overwritten_or_kept_both_as_decided(source, make_hub, fake):
    hub, secrets = source
    target = make_hub("target")
    target.create("postgres", "Orders", {"host": "old.local", "port": 5432, "database": "orders", "user": "app",
                                         "password": "old-password"})
    target.create("redis", "Billing API", {"host": "h", "port": 6379})  # same name, another type
    document = read_import(export_bundle(hub, hub.instances(), "correct horse battery"), "correct horse battery")
    plan = plan_import(target, document)
    by_name = {item.name: index for index, item in enumerate(plan)}
    assert plan[by_name["Orders"]].existing is not None
    assert plan[by_name["Billing API"]].existing is None  # matched by name *and* type

    report = apply_import(target, plan, {by_name["Orders"]: Decision.OVERWRITE})
    assert report.overwritten == ["Orders"]
    assert target.find("Orders").config["host"] == "db.local"
    assert target.secrets_of(target.find("Orders")) == {"password": secrets["pg"]}
    assert "Billing API (imported)" in report.created  # the name was taken by the redis instance

    again = plan_import(target, document)
    second = apply_import(target, again)  # default: skip what matches, create what does not
    assert sorted(second.skipped) == ["Cache", "Orders"]
    assert second.created == ["Billing API (imported 2)"]
    kept = apply_import(target, again, {i: Decision.KEEP_BOTH for i in range(len(again))})
    assert sorted(kept.created) == ["Billing API (imported 3)", "Cache (imported)", "Orders (imported)"]
    assert len(target.instances()) == 8


def test_a_keyring_that_fails_half_way_leaves_no_half_import(source, tmp_path, registry):
    from tests.support.keyrings import FullAfterKeyring

    hub, _ = source
    document = read_import(export_bundle(hub, hub.instances(), "correct horse battery"), "correct horse battery")
    full = FullAfterKeyring(room=1)  # takes the first secret, refuses the second
    target = Hub(data_dir=tmp_path / "full", registry=registry, vault=SecretVault(backend=full))
    try:
        plan = plan_import(target, document)
        with pytest.raises(VaultError):
            apply_import(target, plan)
        assert target.instances() == []
        assert full.secrets_of() == {}  # the secret stored before the refusal was removed with its instance
    finally:
        target.close()
