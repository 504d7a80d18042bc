"""The "tests at once" setting of Test all: kept in the database, bounded, and forgiving of a hand-edited value."""

from __future__ import annotations

import pytest

from connhub.plugins.registry import Registry
from connhub.services.hub import Hub
from connhub.storage.vault import KeyringVault


@pytest.fixture
def make_hub(tmp_path, memory_keyring):
    made = []

    def make() -> Hub:
        hub = Hub(data_dir=tmp_path / "data", registry=Registry.discover(plugins=False),
                  vault=KeyringVault(backend=memory_keyring))
        made.append(hub)
        return hub

    yield make
    for hub in made:
        hub.close()


def test_default_round_trip_and_persistence(make_hub):
    hub = make_hub()
    assert hub.settings.concurrency == 8
    hub.settings.set_concurrency(3)
    assert hub.settings.concurrency == 3
    assert make_hub().settings.concurrency == 3  # another process sees it
    for good in (1, 64):
        hub.settings.set_concurrency(good)
        assert hub.settings.concurrency == good


@pytest.mark.parametrize("bad", [0, 65, -1, "8", True, 2.5, None])
def test_out_of_range_or_not_a_whole_number_is_refused(make_hub, bad):
    hub = make_hub()
    with pytest.raises(ValueError, match="whole number from 1 to 64"):
        hub.settings.set_concurrency(bad)
    assert hub.settings.concurrency == 8


@pytest.mark.parametrize(("stored", "read"), [("500", 64), ("0", 1), ("lots", 8), ("", 8)])
def test_a_hand_edited_value_falls_back_inside_the_range(make_hub, stored, read):
    hub = make_hub()
    hub.store.set_setting("concurrency", stored)
    assert hub.settings.concurrency == read
