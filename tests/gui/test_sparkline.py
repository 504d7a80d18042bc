"""The latency sparkline, rendered to images and read back pixel by pixel: the line, a failure's red dot on the
baseline, the empty state's text, HiDPI, a dark palette, and what a screen reader is told."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from PySide6.QtCore import QSize
from PySide6.QtGui import QColor, QImage, QPalette

from connhub.gui.instances.sparkline import EMPTY_TEXT, LIMIT, Sparkline
from connhub.storage.repository import TestRun

ACCENT = QColor("#0000ff")
RED = QColor("#dc2626")
LIGHT = {"window": QColor("#ffffff"), "text": QColor("#000000"), "accent": ACCENT}
DARK = {"window": QColor("#1e1e1e"), "text": QColor("#e0e0e0"), "accent": QColor("#7fb8ff")}


def runs(*outcomes) -> list[TestRun]:
    """TestRuns newest first, as Hub.history gives them, from oldest-first (ok, latency) pairs."""
    start = datetime(2026, 1, 1, tzinfo=UTC)
    made = [TestRun(start + timedelta(minutes=i), ok, None if ok else "refused", latency, None, "")
            for i, (ok, latency) in enumerate(outcomes)]
    return made[::-1]


@pytest.fixture
def spark(qtbot):
    def make(history, colors=LIGHT, size=QSize(240, 48)) -> Sparkline:
        widget = Sparkline()
        qtbot.addWidget(widget)
        palette = widget.palette()
        palette.setColor(QPalette.ColorRole.Window, colors["window"])
        palette.setColor(QPalette.ColorRole.Base, colors["window"])
        palette.setColor(QPalette.ColorRole.Text, colors["text"])
        palette.setColor(QPalette.ColorRole.WindowText, colors["text"])
        palette.setColor(QPalette.ColorRole.PlaceholderText, colors["text"])
        palette.setColor(QPalette.ColorRole.Highlight, colors["accent"])
        widget.setPalette(palette)
        widget.setAutoFillBackground(True)
        widget.resize(size)
        widget.set_runs(history)
        return widget

    return make


def render(widget: Sparkline, scale: float = 1.0) -> QImage:
    size = widget.size()
    image = QImage(round(size.width() * scale), round(size.height() * scale), QImage.Format.Format_RGB888)
    image.setDevicePixelRatio(scale)
    image.fill(widget.palette().color(QPalette.ColorRole.Window))
    widget.render(image)
    return image


def pixels_near(image: QImage, color: QColor, tolerance: int = 60) -> list[tuple[int, int]]:
    """(x, y) in device pixels of every pixel within `tolerance` of `color` on each channel."""
    data, stride = bytes(image.constBits()), image.bytesPerLine()
    target = (color.red(), color.green(), color.blue())
    where: dict[bytes, list[tuple[int, int]]] = {}
    for y in range(image.height()):
        row = data[y * stride: y * stride + 3 * image.width()]
        for x in range(image.width()):
            where.setdefault(row[3 * x: 3 * x + 3], []).append((x, y))
    return [p for pixel, points in where.items()
            if all(abs(a - b) <= tolerance for a, b in zip(pixel, target, strict=True)) for p in points]


def clusters(points: list[tuple[int, int]], gap: int = 3) -> list[float]:
    """The centre x of each group of points separated by more than `gap` pixels: one per drawn dot."""
    xs = sorted({x for x, _ in points})
    groups: list[list[int]] = []
    for x in xs:
        if groups and x - groups[-1][-1] <= gap:
            groups[-1].append(x)
        else:
            groups.append([x])
    return [(g[0] + g[-1]) / 2 for g in groups]


def test_empty_history_draws_no_tests_yet(spark):
    widget = spark([])
    image = render(widget)
    assert widget.accessibleDescription() == EMPTY_TEXT == widget.toolTip() == "No tests yet"
    text = pixels_near(image, LIGHT["text"], tolerance=120)
    assert text, "no text drawn"
    xs, ys = [x for x, _ in text], [y for _, y in text]
    assert abs((min(xs) + max(xs)) / 2 - image.width() / 2) < 12  # centred
    assert abs((min(ys) + max(ys)) / 2 - image.height() / 2) < 8
    assert pixels_near(image, ACCENT) == [] and pixels_near(image, RED) == []


def test_line_of_latencies_and_a_red_dot_per_failure(spark):
    latencies = [10, 12, 11, 12, 13, 12, 31, 12, 11, 12, 12, 13, 12, 12, 11, 12, 12, 12]
    outcomes = [(True, v) for v in latencies[:5]] + [(False, 3000.0)] + [(True, v) for v in latencies[5:17]] \
        + [(False, 5.0)] + [(True, latencies[17])]
    widget = spark(runs(*outcomes))
    image = render(widget)
    assert len(outcomes) == LIMIT

    line = pixels_near(image, ACCENT)
    assert len(line) > 100, "no line"
    xs = sorted({x for x, _ in line})
    assert xs[0] < image.width() * 0.1 and xs[-1] > image.width() * 0.6  # across the plot, oldest to newest

    red = pixels_near(image, RED)
    dots = clusters(red)
    assert len(dots) == 2, "not one red dot per failure"  # runs 5 and 18 (oldest is 0)
    assert all(y > image.height() * 0.7 for _, y in red)  # on the baseline, not at 3000 ms up high
    slot = (dots[1] - dots[0]) / 13
    assert slot > 5
    # The slowest (31 ms, run 7) is the line's highest point (y grows downwards), two slots after the failure 5.
    top_x = min(line, key=lambda p: p[1])[0]
    assert abs(top_x - (dots[0] + 2 * slot)) < slot / 2
    # The newest (run 19, working) is the line's rightmost point, one slot after the failure 18.
    assert abs(xs[-1] - (dots[1] + slot)) < slot / 2 + 4  # + the newest point's marker

    assert widget.accessibleDescription() == "Last 20 tests: 18 ok, 2 failing; median 12 ms (10 ms–31 ms)"
    assert widget.toolTip() == widget.accessibleDescription()
    assert widget.accessibleName() == "Latency of recent tests"


def test_failure_dots_keep_clear_of_the_axis_and_the_edge(spark):
    """A failure's dot sits above the axis line with a gap, and inside the widget (issue 22: dots on the border)."""
    mid = QColor("#00c000")  # the axis line is drawn in Mid: a colour nothing else uses
    widget = spark(runs((True, 10.0), (False, 1.0), (True, 12.0)))
    palette = widget.palette()
    palette.setColor(QPalette.ColorRole.Mid, mid)
    widget.setPalette(palette)
    image = render(widget)
    red_bottom = max(y for _, y in pixels_near(image, RED))
    axis = [y for y in range(image.height()) for x in range(image.width())  # greenish: the axis, antialiased
            if (c := image.pixelColor(x, y)).green() > c.red() + 40 and c.green() > c.blue() + 40]
    assert axis, "no axis line"
    assert red_bottom < min(axis) - 1, (red_bottom, min(axis))
    assert red_bottom < image.height() - 4


def test_only_the_last_20_are_drawn_newest_at_the_right(spark):
    widget = spark(runs(*[(True, 5.0 + i) for i in range(30)]))
    assert len(widget.runs()) == LIMIT and widget.runs()[-1].latency_ms == 34.0  # the newest kept
    assert widget.accessibleDescription() == "Last 20 tests: 20 ok; median 24 ms (15 ms–34 ms)"  # 10 oldest gone
    image = render(widget)
    line = pixels_near(image, ACCENT)
    top_x = min(line, key=lambda p: p[1])[0]  # the newest is the slowest here: top right of the plot
    assert top_x > image.width() * 0.6


def test_hidpi_draws_at_device_resolution(spark):
    widget = spark(runs((True, 10.0), (True, 20.0), (False, None), (True, 15.0)))
    normal, double = render(widget, 1.0), render(widget, 2.0)
    assert (double.width(), double.height()) == (2 * normal.width(), 2 * normal.height())
    line1, line2 = pixels_near(normal, ACCENT), pixels_near(double, ACCENT)
    assert len(line2) > 2.5 * len(line1)  # a finer, not a blown-up, line: about 4x the pixels
    assert max(x for x, _ in line2) > 2 * max(x for x, _ in line1) - 6
    assert pixels_near(double, RED)


def test_dark_palette_uses_its_own_colours(spark):
    widget = spark(runs(*[(True, float(v)) for v in (8, 9, 12, 9)]), colors=DARK)
    image = render(widget)
    assert pixels_near(image, DARK["accent"], tolerance=40), "the line is not in the palette's accent"
    assert pixels_near(image, ACCENT, tolerance=60) == []
    labels = pixels_near(image, DARK["text"], tolerance=90)
    assert labels and min(x for x, _ in labels) > image.width() * 0.6  # "12 ms" / "8.0 ms" at the right
    empty = render(spark([], colors=DARK))
    assert pixels_near(empty, DARK["text"], tolerance=90)


def test_single_and_all_failing_histories_say_so(spark):
    one = spark(runs((True, 7.25)))
    assert one.accessibleDescription() == "Last 1 test: 1 ok; median 7.2 ms"
    assert pixels_near(render(one), ACCENT)  # a lone point still shows
    down = spark(runs((False, 30.0), (False, 30.0), (False, 30.0)))
    assert down.accessibleDescription() == "Last 3 tests: 0 ok, 3 failing"
    image = render(down)
    assert pixels_near(image, ACCENT) == []
    assert len(clusters(pixels_near(image, RED))) == 3
