"""Paints one instance row: environment stripe, type icon, name, secret-free summary with tags, an environment
chip (production stands out) and a status badge with its age. Names are edited in place (F2) over the name."""

from __future__ import annotations

from PySide6.QtCore import QRect, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QIcon, QPalette, QPen
from PySide6.QtWidgets import QStyledItemDelegate

from connhub.gui.icons import STATUS_COLORS
from connhub.gui.instances.models import ENVIRONMENT_TITLES, LIVE_TEXT, Roles

ROW_HEIGHT = 46
ENVIRONMENT_COLORS = {"dev": QColor("#2e7d32"), "staging": QColor("#d97706"), "prod": QColor("#dc2626")}
STAR, FAVOURITE_COLOR = "★", QColor("#e8a317")


class InstanceDelegate(QStyledItemDelegate):
    def sizeHint(self, option, index) -> QSize:
        return QSize(option.rect.width(), ROW_HEIGHT)

    def updateEditorGeometry(self, editor, option, index) -> None:  # noqa: N802
        """The rename box sits over the name line only, not the whole two-line row."""
        rect = option.rect.adjusted(44, 4, -120, 0)
        editor.setGeometry(rect.left(), rect.top(), rect.width(), ROW_HEIGHT // 2)

    def initStyleOption(self, option, index) -> None:  # noqa: N802
        """Nothing from the model: QStyledItemDelegate.paint then draws the row's panel (selection, focus) and
        no text or icon; `paint` draws those itself. Asking the QStyle directly from Python instead would set up
        PySide's QStyle class before the first paint (~10 ms)."""

    def paint(self, painter, option, index) -> None:
        painter.save()
        super().paint(painter, option, index)  # the row's panel only (see initStyleOption)
        selected = self.parent().selectionModel().isSelected(index)  # the list view's
        palette = option.palette
        text_color = palette.color(QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.Text)
        muted = palette.color(QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.PlaceholderText)
        rect = option.rect.adjusted(10, 5, -10, -5)
        environment = index.data(Roles.ENVIRONMENT)
        env_color = ENVIRONMENT_COLORS.get(environment)
        if env_color is not None:  # a stripe down the left edge: the environment at a glance, even unselected
            painter.fillRect(QRect(option.rect.left(), option.rect.top() + 2, 4, option.rect.height() - 4), env_color)

        icon = index.data(Qt.ItemDataRole.DecorationRole)
        if icon is not None:  # the Selected pixmaps stay legible on the highlight (gui/icons.py)
            icon.paint(painter, QRect(rect.left(), rect.center().y() - 12, 24, 24), Qt.AlignmentFlag.AlignCenter,
                       QIcon.Mode.Selected if selected else QIcon.Mode.Normal)

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

        right = badge.left() - 8
        if env_color is not None:
            chip_text = ENVIRONMENT_TITLES[environment]
            chip_font = QFont(badge_font)
            chip_font.setBold(environment == "prod")
            painter.setFont(chip_font)
            chip_width = painter.fontMetrics().horizontalAdvance(chip_text) + 12
            chip = QRect(right - chip_width, rect.center().y() - 9, chip_width, 18)
            painter.setPen(env_color)
            painter.setBrush(env_color if environment == "prod" else Qt.BrushStyle.NoBrush)
            painter.drawRoundedRect(chip, 4, 4)
            painter.setPen(QColor("white") if environment == "prod" else env_color)
            painter.drawText(chip, Qt.AlignmentFlag.AlignCenter, chip_text)
            right = chip.left() - 8
        text_rect = rect.adjusted(34, 0, 0, 0)
        text_rect.setRight(right)
        name_font = QFont(option.font)
        name_font.setBold(True)
        painter.setFont(name_font)
        name_rect = text_rect.adjusted(0, 0, 0, -text_rect.height() // 2)
        if index.data(Roles.FAVOURITE):  # a star before the name: pinned at the top
            painter.setPen(text_color if selected else FAVOURITE_COLOR)
            painter.drawText(name_rect, Qt.AlignmentFlag.AlignBottom, STAR)
            name_rect.setLeft(name_rect.left() + painter.fontMetrics().horizontalAdvance(STAR + " "))
        painter.setPen(text_color)
        name = painter.fontMetrics().elidedText(index.data(Qt.ItemDataRole.DisplayRole) or "",
                                                Qt.TextElideMode.ElideRight, name_rect.width())
        painter.drawText(name_rect, Qt.AlignmentFlag.AlignBottom, name)
        painter.setFont(option.font)
        painter.setPen(muted)
        summary = fit_summary(index.data(Roles.SUMMARY) or "", index.data(Roles.TAGS) or [],
                              painter.fontMetrics(), text_rect.width())
        painter.drawText(text_rect.adjusted(0, text_rect.height() // 2 + 1, 0, 0), Qt.AlignmentFlag.AlignTop,
                         summary)
        painter.restore()


def fit_summary(summary: str, tags: list[str], metrics: QFontMetrics, width: int) -> str:
    """The address line in `width` pixels, host:port kept whole as long as it fits at all: the part users scan
    for. What gives way first: the tags (counted, "+2"), then the path after the host, then scheme and user
    before it. The row's tooltip has the whole text."""
    def fits(text: str) -> bool:
        return metrics.horizontalAdvance(text) <= width

    marks = [f"#{tag}" for tag in tags]
    for shown in range(len(marks), -1, -1):  # as many tags as fit, the rest counted
        hidden = len(marks) - shown
        line = "  ".join([summary, *marks[:shown], *([f"+{hidden}"] if hidden else [])])
        if fits(line):
            return line
    if fits(summary):
        return summary
    head, sep, rest = summary.partition("://")
    if not sep:
        return metrics.elidedText(summary, Qt.TextElideMode.ElideMiddle, width)
    authority, slash, path = rest.partition("/")
    user, at, hostport = authority.rpartition("@")
    prefix, suffix = f"{head}://{user}{at}", f"{slash}{path}"
    if not fits(hostport):
        return metrics.elidedText(hostport, Qt.TextElideMode.ElideMiddle, width)
    if fits(prefix + hostport):  # the path gives way
        room = width - metrics.horizontalAdvance(prefix + hostport)
        return prefix + hostport + metrics.elidedText(suffix, Qt.TextElideMode.ElideRight, room)
    room = width - metrics.horizontalAdvance(hostport + ("/…" if suffix else ""))
    return metrics.elidedText(prefix, Qt.TextElideMode.ElideLeft, room) + hostport + ("/…" if suffix else "")
