"""Two members saving the same instance of one PostgreSQL catalog: the second is told, with the row as the first
left it, and nothing is lost, even when both saves race; names are unique per workspace across the team, by
the database itself."""

from __future__ import annotations

import threading

import pytest

from connhub.core.records import EditConflict, InstanceRecord, NameTaken
from connhub.plugins.registry import Registry
from connhub.services.hub import Hub
from connhub.storage.vault import KeyringVault
from tests.support.keyrings import MemoryKeyring

REGISTRY = Registry.discover(plugins=False)
REDIS = {"host": "127.0.0.1", "port": 6379}


@pytest.fixture
def members(tmp_path, catalog):
    url = catalog[0].replace("postgresql://", "postgresql+psycopg://")
    hubs = [Hub(data_dir=tmp_path / who, db_url=url, registry=REGISTRY, vault=KeyringVault(backend=MemoryKeyring()))
            for who in ("a", "b")]
    yield hubs
    for hub in hubs:
        hub.close()


def test_the_second_save_gets_a_conflict_with_the_first_one_s_version(members):
    a, b = members
    record = a.instances.create("redis", "conflicted", dict(REDIS))
    seen_by_b = b.instances.find("conflicted")
    a.instances.update(record.id, {**REDIS, "host": "10.0.0.1"}, expected_updated_at=record.updated_at)
    with pytest.raises(EditConflict) as conflict:
        b.instances.update(seen_by_b.id, {**REDIS, "host": "10.0.0.2"}, expected_updated_at=seen_by_b.updated_at)
    assert conflict.value.current.config["host"] == "10.0.0.1"  # theirs, to show beside B's own
    assert b.instances.find("conflicted").config["host"] == "10.0.0.1"
    # B, told, saves again from the current version: now it is B's, knowingly.
    b.instances.update(seen_by_b.id, {**REDIS, "host": "10.0.0.2"},
                       expected_updated_at=conflict.value.current.updated_at)
    assert a.instances.find("conflicted").config["host"] == "10.0.0.2"


def test_racing_saves_of_one_version_let_exactly_one_win(members):
    """Both read version v and pass the first check; the row version in the UPDATE refuses the later one."""
    a, b = members
    record = a.instances.create("redis", "raced", dict(REDIS))
    store_a, store_b = a.store, b.store
    outcomes: list[str] = []
    barrier = threading.Barrier(2)

    def save(store, host):
        copy = InstanceRecord(**{**vars(record), "config": {**REDIS, "host": host}})
        barrier.wait()
        try:
            store.update(copy, expected_version=record.version)
            outcomes.append(host)
        except EditConflict:
            outcomes.append("conflict")

    threads = [threading.Thread(target=save, args=(s, h)) for s, h in ((store_a, "1.1.1.1"), (store_b, "2.2.2.2"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(outcomes)[-1] == "conflict" and outcomes.count("conflict") == 1, outcomes
    winner = next(o for o in outcomes if o != "conflict")
    final = a.instances.find("raced")
    assert final.config["host"] == winner and final.version == record.version + 1


def test_names_are_unique_per_workspace_across_the_team_by_the_database(members):
    a, b = members
    a.instances.create("redis", "only-once", dict(REDIS))
    with pytest.raises(NameTaken):
        b.instances.create("redis", "only-once", dict(REDIS))
    # Even past the service's own check (two members saving at the same moment): the constraint refuses it.
    with pytest.raises(NameTaken):
        b.store.add(InstanceRecord(name="only-once", type="redis", config=dict(REDIS)))
    b.instances.use_workspace("other")
    assert b.instances.create("redis", "only-once", dict(REDIS)).workspace == "other"
