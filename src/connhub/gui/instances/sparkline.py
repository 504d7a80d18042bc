"""A latency sparkline of an instance's last tests, drawn with QPainter: a glance says "steady", "getting slower"
or "it keeps failing" before any number is read.

Oldest on the left, newest at the right edge, one slot per test out of the last `LIMIT`, so the picture keeps its
scale as tests are added. Working tests are joined by a line (a failure breaks it); failures are red dots on the
baseline, where a latency would mean nothing. Colours come from the palette (a dark theme just works) except the
failure red, which is the list's own "failing" colour. The same summary is the tooltip and the accessible
description, so a screen reader hears what the picture shows.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence

from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QFont, QPainter, QPalette, QPen, QPolygonF
from PySide6.QtWidgets import QSizePolicy, QWidget

from connhub.core.records import TestRun
from connhub.gui.icons import STATUS_COLORS

LIMIT = 20
EMPTY_TEXT = "No tests yet"


class Sparkline(QWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("latencySparkline")
        self.setAccessibleName("Latency of recent tests")
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self._runs: list[TestRun] = []  # oldest first
        self.set_runs([])

    # --- data -----------------------------------------------------------------------------------------------

    def set_runs(self, runs: Sequence[TestRun]) -> None:
        """The instance's history as `Hub.history` gives it (newest first); only the last `LIMIT` are drawn."""
        self._runs = list(runs[:LIMIT])[::-1]
        text = self.summary()
        self.setAccessibleDescription(text)
        self.setToolTip(text)
        self.update()

    def runs(self) -> list[TestRun]:
        return list(self._runs)

    def latencies(self) -> list[float]:
        return [r.latency_ms for r in self._runs if r.ok and r.latency_ms is not None]

    def summary(self) -> str:
        """"Last 20 tests: 18 ok, 2 failing; median 12 ms (10–31 ms)"."""
        if not self._runs:
            return EMPTY_TEXT
        count = len(self._runs)
        ok = sum(r.ok for r in self._runs)
        parts = [f"{ok} ok"] + ([f"{count - ok} failing"] if ok < count else [])
        text = f"Last {count} test{'s' if count != 1 else ''}: {', '.join(parts)}"
        if values := self.latencies():
            low, high = min(values), max(values)
            spread = f" ({_ms(low)}–{_ms(high)})" if len(values) > 1 and _ms(low) != _ms(high) else ""
            text += f"; median {_ms(statistics.median(values))}{spread}"
        return text

    # --- drawing ----------------------------------------------------------------------------------------------

    def sizeHint(self) -> QSize:
        return QSize(240, max(44, self.fontMetrics().height() * 3))

    def minimumSizeHint(self) -> QSize:
        return QSize(80, max(36, self.fontMetrics().height() * 2 + 8))

    def paintEvent(self, _event) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        palette = self.palette()
        area = QRectF(self.contentsRect()).adjusted(2, 3, -2, -3)
        muted = palette.color(QPalette.ColorRole.PlaceholderText)
        if not self._runs:
            painter.setPen(muted)
            painter.drawText(area, Qt.AlignmentFlag.AlignCenter, EMPTY_TEXT)
            painter.end()
            return

        values = self.latencies()
        small = QFont(self.font())
        small.setPointSizeF(self.font().pointSizeF() * 0.85)
        painter.setFont(small)
        metrics = painter.fontMetrics()
        labels = (_ms(max(values)), _ms(min(values))) if values else ()
        label_width = max((metrics.horizontalAdvance(t) for t in labels), default=0)
        plot = area.adjusted(0, 0, -(label_width + 6) if labels else 0, 0)
        if labels:  # slowest at the top, fastest at the bottom of the line's band, right of the plot
            painter.setPen(muted)
            column = QRectF(plot.right() + 6, area.top(), label_width, area.height())
            painter.drawText(column, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignTop, labels[0])
            if labels[1] != labels[0]:
                painter.drawText(column, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignBottom, labels[1])

        dot = 3.0
        baseline = plot.bottom() - dot - 2  # failure dots float just above the axis line, clear of the edge
        band_top, band_bottom = plot.top() + dot, baseline - 2 * dot - 1  # the line stays clear of failure dots
        slot = plot.width() / LIMIT
        low, high = (min(values), max(values)) if values else (0.0, 0.0)

        def x(i: int) -> float:
            return plot.right() - (len(self._runs) - 1 - i + 0.5) * slot

        def y(latency: float) -> float:
            if high == low:
                return (band_top + band_bottom) / 2
            return band_bottom - (latency - low) / (high - low) * (band_bottom - band_top)

        faint = QPen(palette.color(QPalette.ColorRole.Mid), 1)
        faint.setCosmetic(True)
        painter.setPen(faint)
        painter.drawLine(QPointF(plot.left(), plot.bottom()), QPointF(plot.right(), plot.bottom()))

        accent = palette.color(QPalette.ColorRole.Highlight)
        line = QPen(accent, 1.6, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap, Qt.PenJoinStyle.RoundJoin)
        segments: list[list[QPointF]] = [[]]
        for i, run in enumerate(self._runs):
            if run.ok and run.latency_ms is not None:
                segments[-1].append(QPointF(x(i), y(run.latency_ms)))
            elif segments[-1]:
                segments.append([])
        painter.setPen(line)
        painter.setBrush(accent)
        for points in segments:
            if len(points) > 1:
                painter.drawPolyline(QPolygonF(points))
            elif points:  # a lone working test between failures: a dot, or it would not show at all
                painter.drawEllipse(points[0], dot * 0.6, dot * 0.6)
        last = self._runs[-1]
        if last.ok and last.latency_ms is not None:  # the newest, marked: that is "now"
            painter.setPen(Qt.PenStyle.NoPen)
            painter.drawEllipse(QPointF(x(len(self._runs) - 1), y(last.latency_ms)), dot * 0.9, dot * 0.9)

        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(STATUS_COLORS["failing"])
        for i, run in enumerate(self._runs):
            if not run.ok:
                painter.drawEllipse(QPointF(x(i), baseline), dot, dot)
        painter.end()


def _ms(value: float) -> str:
    return f"{value:.0f} ms" if value >= 10 else f"{value:.1f} ms"
