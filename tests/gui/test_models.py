"""The instance list model and its filter at 10,000 rows, and the relative times the list shows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from PySide6.QtCore import QModelIndex, Qt

from connhub.gui.instances.filter import InstanceFilter
from connhub.gui.instances.models import (
    InstanceListModel,
    Roles,
    age,
    status_text,
    type_tree_model,
)
from connhub.plugins.registry import Registry
from connhub.storage.repository import InstanceRecord

N = 10_000
TYPES = ("postgres", "redis", "http")


@pytest.fixture(scope="module")
def registry() -> Registry:
    return Registry.discover(plugins=False)


def make_records(n: int = N) -> list[InstanceRecord]:
    records = []
    for i in range(n):
        type_name = TYPES[i % 3]
        tags = ["prod"] if i % 10 == 0 else ["dev"]
        summary = {"postgres": f"postgres://app@db{i}.example.com:5432/app",
                   "redis": f"redis://cache{i}.example.com:6379/0",
                   "http": f"https://api{i}.example.com/v1"}[type_name]
        records.append(InstanceRecord(name=f"conn {i:05d}", type=type_name, summary=summary, tags=tags))
    return records


@pytest.fixture
def models(qtbot, registry):
    model = InstanceListModel(registry)
    proxy = InstanceFilter()
    proxy.setSourceModel(model)
    model.set_records(list(reversed(make_records())))  # the model sorts
    yield model, proxy
    proxy.setSourceModel(None)


def ids_of(model: InstanceListModel) -> list[str]:
    return [model.index(row).data(Roles.ID) for row in range(model.rowCount())]


def assert_consistent(model: InstanceListModel) -> None:
    """row_of() agrees with what each row holds, for every row."""
    records = model.records()
    assert model.rowCount() == len(records)
    assert [r.name.casefold() for r in records] == sorted(r.name.casefold() for r in records)
    for row, record in enumerate(records):
        assert model.row_of(record.id) == row
        assert model.index(row).data(Roles.ID) == record.id


def test_ten_thousand_rows(models):
    model, proxy = models
    assert model.rowCount() == N
    assert model.rowCount(model.index(0)) == 0  # a list: rows have no children
    assert proxy.rowCount() == N
    # Sorted by name, case-insensitively.
    assert proxy.index(0, 0).data() == "conn 00000"
    assert proxy.index(N - 1, 0).data() == f"conn {N - 1:05d}"
    first = model.index(0)
    assert first.data(Roles.SUMMARY) == "postgres://app@db0.example.com:5432/app"
    assert first.data(Roles.STATUS_TEXT) == "untested"
    assert model.data(QModelIndex()) is None
    assert_consistent(model)


def test_filter_by_words(models):
    model, proxy = models
    proxy.set_text("redis")  # by type (and the summary's scheme)
    assert proxy.rowCount() == len(range(1, N, 3))
    proxy.set_text("PROD")  # by tag, case-insensitively
    assert proxy.rowCount() == N // 10
    proxy.set_text("prod redis")  # every word must match
    assert proxy.rowCount() == len([i for i in range(N) if i % 10 == 0 and i % 3 == 1])
    proxy.set_text("cache43.example.com")  # by summary
    assert proxy.rowCount() == 1
    assert proxy.index(0, 0).data() == "conn 00043"
    proxy.set_text("conn 0999")  # by name, each word anywhere: conn 00999 and conn 09990 … 09999
    assert proxy.rowCount() == len([i for i in range(N) if "0999" in f"{i:05d}"]) == 11
    proxy.set_text("no such thing")
    assert proxy.rowCount() == 0
    proxy.set_text("   ")
    assert proxy.rowCount() == N


def test_filter_by_type_and_words(models):
    model, proxy = models
    proxy.set_type("http")
    assert proxy.rowCount() == len(range(2, N, 3))
    assert {proxy.index(r, 0).data(Roles.TYPE) for r in range(proxy.rowCount())} == {"http"}
    proxy.set_text("prod")
    assert proxy.rowCount() == len([i for i in range(N) if i % 10 == 0 and i % 3 == 2])
    proxy.set_type(None)
    assert proxy.rowCount() == N // 10


def test_upsert_and_remove_keep_rows_consistent(models, qtbot):
    model, proxy = models
    records = model.records()
    proxy.set_text("renamed")
    assert proxy.rowCount() == 0

    # Update in place: same row, new data, the filter follows.
    changed = records[5000]
    changed.summary = "redis://renamed.example.com:6379/0"
    with qtbot.waitSignal(model.dataChanged, timeout=1000):
        model.upsert(changed)
    assert model.row_of(changed.id) == 5000
    assert proxy.rowCount() == 1

    # Renamed: moves to its sorted place (up, then down), data and filter follow.
    changed.name = "AAA renamed"
    with qtbot.waitSignal(model.rowsMoved, timeout=1000):
        model.upsert(changed)
    assert model.rowCount() == N
    assert model.row_of(changed.id) == 0
    assert model.index(0).data() == "AAA renamed"
    assert proxy.rowCount() == 1
    proxy.set_text("")
    assert proxy.index(0, 0).data() == "AAA renamed"
    assert_consistent(model)
    changed.name = "conn 07000b"
    model.upsert(changed)
    assert model.row_of(changed.id) == 7000 and model.index(7001).data() == "conn 07001"
    assert_consistent(model)

    # Insert: at its sorted place, found, filterable.
    added = InstanceRecord(name="zz new one", type="redis", summary="redis://new.example.com:6379/0")
    with qtbot.waitSignal(model.rowsInserted, timeout=1000):
        model.upsert(added)
    assert model.rowCount() == N + 1
    assert model.row_of(added.id) == N
    assert proxy.rowCount() == N + 1
    assert proxy.index(N, 0).data() == "zz new one"
    early = InstanceRecord(name="Conn 00000a", type="redis")
    model.upsert(early)
    assert model.row_of(early.id) == 1, "case-insensitively between conn 00000 and conn 00001"
    model.remove(early.id)
    assert_consistent(model)

    # Remove from the middle, the start and the end: every later row moves up and row_of() follows.
    for victim in (records[1234], records[0], added):
        with qtbot.waitSignal(model.rowsRemoved, timeout=1000):
            model.remove(victim.id)
        assert model.row_of(victim.id) is None
    assert model.rowCount() == N - 2
    assert proxy.rowCount() == N - 2
    assert records[1234].id not in ids_of(model)
    assert_consistent(model)

    model.remove("not-an-id")  # unknown ids are ignored
    assert model.rowCount() == N - 2

    # A reset replaces everything.
    model.set_records(records[:10])
    assert model.rowCount() == 10 and proxy.rowCount() == 10
    assert_consistent(model)


def test_display_data_of_a_tested_record(registry, qtbot):
    model = InstanceListModel(registry)
    when = datetime.now(UTC) - timedelta(minutes=5)
    record = InstanceRecord(name="Orders", type="postgres", summary="postgres://app@db:5432/orders",
                            status="failing", last_error_class="auth", last_test_at=when, tags=["prod"])
    model.set_records([record])
    index = model.index(0)
    assert index.data(Qt.ItemDataRole.DisplayRole) == "Orders"
    assert index.data(Roles.STATUS_TEXT) == "auth · 5 min ago"
    assert index.data(Qt.ItemDataRole.ToolTipRole) == "Orders\npostgres://app@db:5432/orders\n#prod\nauth · 5 min ago"
    assert index.data(Roles.SEARCH_TEXT) == "orders postgres postgres://app@db:5432/orders prod"
    assert not index.data(Qt.ItemDataRole.DecorationRole).isNull()
    ok = InstanceRecord(name="x", type="redis", status="ok", last_test_at=when)
    assert status_text(ok) == "ok · 5 min ago"


def test_type_tree_lists_every_builtin_type(registry, qtbot):
    model = type_tree_model(registry)
    assert model.index(0, 0).data() == "All connections"
    types = set()
    for row in range(1, model.rowCount()):
        group = model.index(row, 0)
        assert not model.flags(group) & Qt.ItemFlag.ItemIsSelectable
        types |= {model.index(r, 0, group).data(Roles.TYPE) for r in range(model.rowCount(group))}
    assert {"postgres", "redis", "http"} <= types


NOW = datetime(2024, 5, 17, 12, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(("delta", "text"), [
    (timedelta(0), "just now"),
    (timedelta(seconds=59), "just now"),
    (timedelta(seconds=60), "1 min ago"),
    (timedelta(minutes=59, seconds=59), "59 min ago"),
    (timedelta(hours=1), "1 h ago"),
    (timedelta(hours=23, minutes=59), "23 h ago"),
    (timedelta(days=1), "1 d ago"),
    (timedelta(days=40), "40 d ago"),
    (timedelta(seconds=-30), "just now"),  # a clock that moved back never says "in the future"
])
def test_age(delta, text):
    assert age(NOW - delta, now=NOW) == text


def test_age_of_nothing():
    assert age(None, now=NOW) == ""


def test_filter_keeps_the_current_row_and_agrees_when_narrowed_or_widened(models, qtbot):
    from PySide6.QtCore import QItemSelectionModel

    model, proxy = models
    records = model.records()
    selection = QItemSelectionModel(proxy)
    target = model.index(model.row_of(records[4321].id))
    selection.setCurrentIndex(proxy.mapFromSource(target), QItemSelectionModel.SelectionFlag.ClearAndSelect)
    for text in ("4", "43", "432", "4321", "432", "4", ""):  # typed, then deleted key by key
        proxy.set_text(text)
        expected = [r for r in records if not text or any(text in part for part in (r.name, r.summary, *r.tags))]
        assert proxy.rowCount() == len(expected)
        assert selection.currentIndex().data() == "conn 04321", f"still current after {text!r}"
    proxy.set_text("00007")
    assert not selection.currentIndex().isValid(), "filtered out: no longer current"
    assert not proxy.mapFromSource(target).isValid()
    proxy.set_type("redis")
    proxy.set_text("")
    assert proxy.rowCount() == len(range(1, N, 3))
    assert proxy.mapToSource(proxy.index(0, 0)).data(Roles.TYPE) == "redis"


def test_the_filter_stays_a_sound_qt_model_as_rows_and_filters_change(registry, qtmodeltester):
    """Qt's model checker watches the filter (its row count is kept, not asked of the source each time) while
    rows are added, moved, removed, filtered by words and by type, and reset."""
    model = InstanceListModel(registry)
    proxy = InstanceFilter()
    proxy.setSourceModel(model)
    records = make_records(30)
    model.set_records(records[:20])
    qtmodeltester.check(proxy)
    proxy.set_text("conn 0001")  # both words: conn 00001 and conn 00010-00019
    assert proxy.rowCount() == 11
    model.upsert(records[25])  # "conn 00025": shown only once the filter widens
    assert proxy.rowCount() == 11
    proxy.set_text("")
    assert proxy.rowCount() == 21
    proxy.set_type("redis")
    assert proxy.rowCount() == len([r for r in records[:20] + [records[25]] if r.type == "redis"])
    moved = records[3]
    moved.name = "zzz moved"
    model.upsert(moved)
    model.remove(records[4].id)
    proxy.set_type(None)
    assert proxy.rowCount() == 20 and proxy.index(19, 0).data() == "zzz moved"
    assert not proxy.index(20, 0).isValid()
    model.set_records(records[:5])
    assert proxy.rowCount() == 5 and not proxy.index(5, 0).isValid()
    proxy.setSourceModel(None)
    assert proxy.rowCount() == 0


# --- the address line: host:port is the last thing to go ------------------------------------------------------

def test_the_address_line_gives_up_tags_path_and_user_before_host_and_port(qtbot):
    from PySide6.QtGui import QFont, QFontMetrics

    from connhub.gui.instances.delegate import fit_summary

    metrics = QFontMetrics(QFont())
    summary = "postgres://reporting_user@db-primary.eu-west.example.com:6432/analytics_warehouse"
    tags = ["billing", "critical", "nightly-exports"]

    def width(text: str) -> int:
        return metrics.horizontalAdvance(text)

    full = fit_summary(summary, tags, metrics, 10_000)
    assert full == summary + "  #billing  #critical  #nightly-exports"
    some_tags = fit_summary(summary, tags, metrics, width(summary + "  #billing  +2") + 1)
    assert some_tags == summary + "  #billing  +2", "tags give way first, counted"
    assert fit_summary(summary, tags, metrics, width(summary + "  +3") + 1) == summary + "  +3"
    hostport = "db-primary.eu-west.example.com:6432"
    for room in (width(summary) - 1, width("postgres://reporting_user@" + hostport + "/a…"),
                 width("postgres://" + hostport), width(hostport + "/…") + 10):
        line = fit_summary(summary, tags, metrics, room)
        assert hostport in line, (room, line)
        assert width(line) <= room, (room, line)
    assert "…" in fit_summary(summary, [], metrics, width(hostport) - 5), "only then the host itself"

