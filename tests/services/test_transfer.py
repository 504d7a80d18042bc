"""Export and import: plain exports carry no secret, bundles carry them sealed, imports write all or nothing."""

from __future__ import annotations

import base64
import json

import pytest

from connhub.plugins.registry import Registry
from connhub.services.hub import Hub
from connhub.services.transfer import SECRET_PLACEHOLDER, Decision, TransferError, read_import
from connhub.storage.vault import KeyringVault, VaultError


@pytest.fixture(scope="module")
def registry() -> Registry:
    return Registry.discover(plugins=False)


@pytest.fixture
def make_hub(tmp_path, registry, memory_keyring):
    hubs = []

    def make(name: str) -> Hub:
        hub = Hub(data_dir=tmp_path / name, registry=registry, vault=KeyringVault(backend=memory_keyring))
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
    hub.instances.create("postgres", "Orders", {"host": "db.local", "port": 5432, "database": "orders", "user": "app",
                                      "password": secrets["pg"]}, tags=["team-a"], environment="prod")
    hub.instances.create("http", "Billing API", {"base_url": "https://billing.example/v1", "auth.method": "bearer",
                                       "auth.token": secrets["token"]})
    hub.instances.create("redis", "Cache", {"host": "cache.local", "port": 6379})
    return hub, secrets


def test_a_plain_export_marks_secrets_and_carries_no_value(source):
    hub, secrets = source
    text = hub.transfer.export_plain(hub.instances.list())
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
    report = target.transfer.apply_import(target.transfer.plan_import(read_import(hub.transfer.export_plain(hub.instances.list()))))
    assert sorted(report.created) == ["Billing API", "Cache", "Orders"]
    orders = target.instances.find("Orders")
    assert orders.config["database"] == "orders" and orders.tags == ["team-a"] and orders.environment == "prod"
    assert orders.secret_fields == []  # nothing was stored for the placeholder
    assert not any(user.startswith(orders.id) for user in memory_keyring.secrets_of())


def test_a_bundle_round_trip_restores_the_secrets(source, make_hub):
    hub, secrets = source
    bundle = hub.transfer.export_bundle(hub.instances.list(), "correct horse battery")
    assert all(secret not in bundle for secret in secrets.values())
    assert all(base64.b64encode(s.encode()).decode() not in bundle for s in secrets.values())
    target = make_hub("target")
    target.transfer.apply_import(target.transfer.plan_import(read_import(bundle, "correct horse battery")))
    assert target.secrets.known(target.instances.find("Orders")) == {"password": secrets["pg"]}
    assert target.secrets.known(target.instances.find("Billing API")) == {"auth.token": secrets["token"]}


def test_a_wrong_passphrase_or_a_tampered_bundle_is_refused_and_nothing_written(source, make_hub):
    hub, _ = source
    bundle = hub.transfer.export_bundle(hub.instances.list(), "correct horse battery")
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
    assert target.instances.list() == []


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
        target.transfer.plan_import(document)
    message = str(caught.value)
    assert message.startswith("nothing was imported")
    assert "instance 2 ('bad port'): port: Must be at most 65535" in message
    assert "instance 3 ('alien'): unknown type 'mainframe'" in message
    assert target.instances.list() == []


def test_matches_are_skipped_overwritten_or_kept_both_as_decided(source, make_hub, fake):
    hub, secrets = source
    target = make_hub("target")
    target.instances.create("postgres", "Orders", {"host": "old.local", "port": 5432, "database": "orders", "user": "app",
                                         "password": "old-password"})
    target.instances.create("redis", "Billing API", {"host": "h", "port": 6379})  # same name, another type
    document = read_import(hub.transfer.export_bundle(hub.instances.list(), "correct horse battery"), "correct horse battery")
    plan = target.transfer.plan_import(document)
    by_name = {item.name: index for index, item in enumerate(plan)}
    assert plan[by_name["Orders"]].existing is not None
    assert plan[by_name["Billing API"]].existing is None  # matched by name *and* type

    report = target.transfer.apply_import(plan, {by_name["Orders"]: Decision.OVERWRITE})
    assert report.overwritten == ["Orders"]
    assert target.instances.find("Orders").config["host"] == "db.local"
    assert target.secrets.known(target.instances.find("Orders")) == {"password": secrets["pg"]}
    assert "Billing API (imported)" in report.created  # the name was taken by the redis instance

    again = target.transfer.plan_import(document)
    second = target.transfer.apply_import(again)  # default: skip what matches, create what does not
    assert sorted(second.skipped) == ["Cache", "Orders"]
    assert second.created == ["Billing API (imported 2)"]
    kept = target.transfer.apply_import(again, {i: Decision.KEEP_BOTH for i in range(len(again))})
    assert sorted(kept.created) == ["Billing API (imported 3)", "Cache (imported)", "Orders (imported)"]
    assert len(target.instances.list()) == 8


def test_a_keyring_that_fails_half_way_leaves_no_half_import(source, tmp_path, registry):
    from tests.support.keyrings import FullAfterKeyring

    hub, _ = source
    document = read_import(hub.transfer.export_bundle(hub.instances.list(), "correct horse battery"), "correct horse battery")
    full = FullAfterKeyring(room=1)  # takes the first secret, refuses the second
    target = Hub(data_dir=tmp_path / "full", registry=registry, vault=KeyringVault(backend=full))
    try:
        plan = target.transfer.plan_import(document)
        with pytest.raises(VaultError):
            target.transfer.apply_import(plan)
        assert target.instances.list() == []
        assert full.secrets_of() == {}  # the secret stored before the refusal was removed with its instance
    finally:
        target.close()


def test_an_import_refused_for_a_later_entry_has_not_overwritten_an_earlier_one(make_hub):
    """The defect: entry 1 overwrote `cache`, entry 2's environment was refused while writing, and the overwrite
    stayed. Every rule a write applies (name, tags, environment, values) is now checked by the plan."""
    target = make_hub("target")
    target.instances.create("redis", "cache", {"host": "old.local", "port": 6379}, environment="dev")
    document = {"format": "connhub-export", "version": 1, "instances": [
        {"name": "cache", "type": "redis", "config": {"host": "new.local", "port": 6379}},
        {"name": "queue", "type": "redis", "config": {"host": "q", "port": 6379}, "environment": "production"},
        {"name": "tagged", "type": "redis", "config": {"host": "t", "port": 6379}, "tags": ["x" * 100]},
    ]}
    with pytest.raises(TransferError) as caught:
        target.transfer.plan_import(document)
    message = str(caught.value)
    assert "instance 2 ('queue'): environment: Must be one of dev, staging, prod" in message
    assert "instance 3 ('tagged'): tags: " in message and "longer than 64 characters" in message
    [cache] = target.instances.list()
    assert (cache.config["host"], cache.environment) == ("old.local", "dev")


def test_an_overwrite_is_put_back_when_a_later_write_fails(tmp_path, registry, fake):
    """All or nothing past the plan too: a keyring that refuses the second instance's secret leaves the
    overwritten instance as it was, its secret included."""
    import keyring.errors

    from tests.support.keyrings import MemoryKeyring

    refused = fake.password(length=20)

    class RefusesOne(MemoryKeyring):
        def set_password(self, service, username, password):
            if password == refused:
                raise keyring.errors.PasswordSetError("the keyring refused the item")
            super().set_password(service, username, password)

    target = Hub(data_dir=tmp_path / "refusing", registry=registry, vault=KeyringVault(backend=RefusesOne()))
    try:
        old_password = fake.password(length=20)
        target.instances.create("postgres", "Orders", {"host": "old.local", "port": 5432, "database": "orders",
                                                       "user": "app", "password": old_password})
        document = {"format": "connhub-export", "version": 1, "instances": [
            {"name": "Orders", "type": "postgres", "config": {"host": "new.local", "port": 5432,
                                                              "database": "orders", "user": "app"},
             "secrets": {"password": fake.password(length=20)}},
            {"name": "Reports", "type": "postgres", "config": {"host": "r.local", "port": 5432,
                                                               "database": "r", "user": "app"},
             "secrets": {"password": refused}},
        ]}
        plan = target.transfer.plan_import(document)
        with pytest.raises(VaultError):
            target.transfer.apply_import(plan, {0: Decision.OVERWRITE})
        [orders] = target.instances.list()
        assert orders.config["host"] == "old.local"
        assert target.secrets.read(orders) == {"password": old_password}
    finally:
        target.close()
