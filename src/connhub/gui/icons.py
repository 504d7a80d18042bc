"""Icons: each type's SVG from its folder, the app icon, and a few drawn symbols. Cached; SVG stays crisp."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QIcon, QPainter, QPixmap

if TYPE_CHECKING:
    from connhub.plugins.catalog import TypeCatalog

RESOURCES = Path(__file__).resolve().parent.parent / "resources"
APP_ICON = RESOURCES / "connhub.svg"

_cache: dict[tuple[str, bool], QIcon] = {}  # (type, dark theme)


def type_icon(types: TypeCatalog, type_name: str) -> QIcon:
    dark = _dark_palette()
    icon = _cache.get((type_name, dark))
    if icon is None:
        summary = types.summary(type_name)  # the first paint's listing: no manifest validation to draw a row
        path = summary.icon_path if summary is not None else None
        icon = QIcon(path) if path else generic_icon()
        if dark and path and _is_dark_glyph(icon):
            icon = _tinted(icon, QColor("#e6e6e6"))
        _cache[(type_name, dark)] = icon
    return icon


def forget_type_icons() -> None:
    """The types changed under the icons (validation after a first start's paint disagreed with it)."""
    _cache.clear()


def _dark_palette() -> bool:
    from PySide6.QtGui import QGuiApplication, QPalette

    return QGuiApplication.palette().color(QPalette.ColorRole.Window).lightness() < 128


def _is_dark_glyph(icon: QIcon) -> bool:
    """A one-colour near-black logo (GitHub's, a terminal): invisible on a dark background."""
    image = icon.pixmap(24, 24).toImage()
    opaque = [image.pixelColor(x, y) for x in range(image.width()) for y in range(image.height())
              if image.pixelColor(x, y).alpha() > 128]
    return bool(opaque) and max(max(c.red(), c.green(), c.blue()) for c in opaque) < 90


def _tinted(icon: QIcon, color: QColor) -> QIcon:
    """The same shape in `color`, at every size the views ask for (stays crisp on HiDPI)."""
    tinted = QIcon()
    for size in (16, 24, 32, 48, 64):
        pixmap = icon.pixmap(size, size)
        painter = QPainter(pixmap)
        painter.setCompositionMode(QPainter.CompositionMode.CompositionMode_SourceIn)
        painter.fillRect(pixmap.rect(), color)
        painter.end()
        tinted.addPixmap(pixmap)
    return tinted


@cache
def app_icon() -> QIcon:
    return QIcon(str(APP_ICON))


def _svg_icon(svg: str) -> QIcon:
    from PySide6.QtCore import QByteArray  # only for the drawn symbols, after the first paint
    from PySide6.QtSvg import QSvgRenderer

    renderer = QSvgRenderer(QByteArray(svg.encode()))
    icon = QIcon()
    for size in (16, 24, 32, 48, 64):
        pixmap = QPixmap(size, size)
        pixmap.fill(Qt.GlobalColor.transparent)
        painter = QPainter(pixmap)
        renderer.render(painter)
        painter.end()
        icon.addPixmap(pixmap)
    return icon


@cache
def generic_icon() -> QIcon:
    return _svg_icon('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24"><rect x="3" y="3" width="18" '
                     'height="18" rx="4" fill="#8a94a6"/><path d="M8 12h8M12 8v8" stroke="#fff" '
                     'stroke-width="2" stroke-linecap="round"/></svg>')


@cache
def warning_icon() -> QIcon:
    return _svg_icon('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24"><path d="M12 2 23 21H1z" '
                     'fill="#d97706"/><path d="M12 9v5" stroke="#fff" stroke-width="2.2" stroke-linecap="round"/>'
                     '<circle cx="12" cy="17.5" r="1.3" fill="#fff"/></svg>')


STATUS_COLORS = {"ok": QColor("#16a34a"), "failing": QColor("#dc2626"), "untested": QColor("#9ca3af")}
