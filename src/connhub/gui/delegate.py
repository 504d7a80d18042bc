"""Paints one instance row: type icon, name, secret-free summary, and a status badge with its age."""

from __future__ import annotations

from PySide6.QtCore import QRect, QRectF, QSize, Qt
from PySide6.QtGui import QFont, QPalette, QPen
from PySide6.QtWidgets import QStyle, QStyledItemDelegate

from connhub.gui.icons import STATUS_COLORS
from connhub.gui.models import LIVE_TEXT, Roles

ROW_HEIGHT = 46


class InstanceDelegate(QStyledItemDelegate):
    def sizeHint(self, option, index) -> QSize:
        return QSize(option.rect.width(), ROW_HEIGHT)

    def paint(self, painter, option, index) -> None:
        painter.save()
        style = option.widget.style() if option.widget else None
        if style:
            style.drawPrimitive(QStyle.PrimitiveElement.PE_PanelItemViewItem, option, painter, option.widget)
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        palette = option.palette
        text_color = palette.color(QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.Text)
        muted = palette.color(QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.PlaceholderText)
        rect = option.rect.adjusted(10, 5, -10, -5)

        icon = index.data(Qt.ItemDataRole.DecorationRole)
        if icon is not None:
            icon.paint(painter, QRect(rect.left(), rect.center().y() - 12, 24, 24))

        status = index.data(Roles.STATUS) or "untested"
        live = index.data(Roles.LIVE)  # a Test all is on this row: say so instead of the saved status
        badge_text = LIVE_TEXT.get(live, live) if live else index.data(Roles.STATUS_TEXT) or status
        badge_font = QFont(option.font)
        badge_font.setPointSizeF(option.font.pointSizeF() * 0.9)
        painter.setFont(badge_font)
        badge_width = painter.fontMetrics().horizontalAdvance(badge_text) + 22
        badge = QRect(rect.right() - badge_width, rect.center().y() - 10, badge_width, 20)
        color = STATUS_COLORS.get(status, STATUS_COLORS["untested"])
        painter.setRenderHint(painter.RenderHint.Antialiasing)
        if live:  # a ring, not a dot: nothing is known yet; the palette's accent while it runs
            ring = palette.color(QPalette.ColorRole.Highlight) if live == "testing" else muted
            painter.setPen(QPen(text_color if selected else ring, 1.5))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawEllipse(QRectF(badge.left() + 4.75, badge.center().y() - 3.25, 6.5, 6.5))
            painter.setPen(text_color if selected else ring)
        else:
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(color)
            painter.drawEllipse(badge.left() + 4, badge.center().y() - 4, 8, 8)
            painter.setPen(text_color if selected else color.darker(115) if status != "untested" else muted)
        painter.drawText(badge.adjusted(16, 0, 0, 0), Qt.AlignmentFlag.AlignVCenter, badge_text)

        text_rect = rect.adjusted(34, 0, -(badge_width + 8), 0)
        name_font = QFont(option.font)
        name_font.setBold(True)
        painter.setFont(name_font)
        painter.setPen(text_color)
        name = painter.fontMetrics().elidedText(index.data(Qt.ItemDataRole.DisplayRole) or "",
                                                Qt.TextElideMode.ElideRight, text_rect.width())
        painter.drawText(text_rect.adjusted(0, 0, 0, -text_rect.height() // 2), Qt.AlignmentFlag.AlignBottom, name)
        painter.setFont(option.font)
        painter.setPen(muted)
        summary = painter.fontMetrics().elidedText(index.data(Roles.SUMMARY) or "", Qt.TextElideMode.ElideMiddle,
                                                   text_rect.width())
        painter.drawText(text_rect.adjusted(0, text_rect.height() // 2 + 1, 0, 0), Qt.AlignmentFlag.AlignTop,
                         summary)
        painter.restore()
