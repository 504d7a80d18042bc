"""Icons: each type's SVG from its folder, the app icon, and a few drawn symbols. Cached; SVG stays crisp."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QRect, QSize, Qt
from PySide6.QtGui import QColor, QIcon, QIconEngine, QPainter, QPixmap

if TYPE_CHECKING:
    from connhub.plugins.catalog import TypeCatalog

RESOURCES = Path(__file__).resolve().parent.parent / "resources"
APP_ICON = RESOURCES / "connhub.svg"

_cache: dict[tuple[str, str, str], tuple[QIcon, QIconEngine]] = {}  # (type, row, selection) → icon, its engine
#: Below this median contrast (WCAG ratio) against what it is drawn on, a type's icon gets a light plate behind it.
LEGIBLE = 3.5
PLATE = QColor("#f1f3f5")


def type_icon(types: TypeCatalog, type_name: str) -> QIcon:
    """The type's logo, legible where the palette draws it: on the rows' colour (Normal) and on the selection
    (Selected, which views use for a selected row). A near-black one-colour glyph is tinted light on a dark
    theme; any other logo that would fade into its background sits on a light plate instead."""
    from PySide6.QtGui import QGuiApplication, QPalette

    palette = QGuiApplication.palette()
    row, selection = palette.color(QPalette.ColorRole.Base), palette.color(QPalette.ColorRole.Highlight)
    key = (type_name, row.name(), selection.name())
    cached = _cache.get(key)
    if cached is None:
        summary = types.summary(type_name)  # the first paint's listing: no manifest validation to draw a row
        path = summary.icon_path if summary is not None else None
        if not path:
            return generic_icon()
        engine = _LegibleIcon(str(path), row, selection)
        cached = _cache[key] = (QIcon(engine), engine)  # PySide: the engine's Python side must outlive the icon
    return cached[0]


class _LegibleIcon(QIconEngine):
    """Draws a logo on demand, per size and mode, deciding once per mode whether it needs the plate: nothing
    is rendered or measured for a mode or size no view asks for (the first paint draws only what it shows)."""

    def __init__(self, path: str, row: QColor, selection: QColor):
        super().__init__()
        self._path, self._row, self._selection = path, QColor(row), QColor(selection)
        self._logo: QIcon | None = None
        self._plated: dict[bool, bool] = {}  # selected → on the plate
        self._pixmaps: dict[tuple[int, int, bool], QPixmap] = {}
        self._clones: list[_LegibleIcon] = []

    def logo(self) -> QIcon:
        if self._logo is None:
            self._logo = QIcon(self._path)
            if self._row.lightness() < 128 and _is_dark_glyph(self._logo):
                self._logo = _tinted(self._logo, QColor("#e6e6e6"))
        return self._logo

    def pixmap(self, size: QSize, mode: QIcon.Mode, state: QIcon.State) -> QPixmap:
        if mode == QIcon.Mode.Disabled:
            return self.logo().pixmap(size, mode, state)
        selected = mode == QIcon.Mode.Selected
        key = (size.width(), size.height(), selected)
        pixmap = self._pixmaps.get(key)
        if pixmap is None:
            if selected not in self._plated:
                background = self._selection if selected else self._row
                self._plated[selected] = needs_plate(self.logo().pixmap(16, 16).toImage(), background)
            pixmap = self.logo().pixmap(size)
            pixmap = self._pixmaps[key] = _on_plate(pixmap) if self._plated[selected] else pixmap
        return pixmap

    def paint(self, painter: QPainter, rect: QRect, mode: QIcon.Mode, state: QIcon.State) -> None:
        ratio = painter.device().devicePixelRatioF() if painter.device() is not None else 1.0
        painter.drawPixmap(rect, self.pixmap(rect.size() * ratio, mode, state))  # crisp on HiDPI

    def clone(self) -> QIconEngine:
        twin = _LegibleIcon(self._path, self._row, self._selection)
        self._clones.append(twin)  # kept alive with this one, as the icon's own engine is in _cache
        return twin


def contrast(image, background: QColor) -> float:
    """Median WCAG contrast ratio of the image's opaque pixels (alpha over `background`) against `background`."""
    from PySide6.QtGui import QImage

    argb = image.convertToFormat(QImage.Format.Format_ARGB32)
    raw = bytes(argb.constBits())[: argb.width() * argb.height() * 4]  # B, G, R, A per pixel (little-endian)
    back = (background.red(), background.green(), background.blue())
    back_lum = _luminance(*back)
    ratios = []
    for i in range(0, len(raw), 4):
        alpha = raw[i + 3] / 255
        if alpha <= 0.5:
            continue
        rgb = (raw[i + 2], raw[i + 1], raw[i])  # ARGB32, not premultiplied: blended over the background below
        shown = [alpha * rgb[k] + (1 - alpha) * back[k] for k in range(3)]
        lighter, darker = sorted((_luminance(*shown), back_lum), reverse=True)
        ratios.append((lighter + 0.05) / (darker + 0.05))
    if not ratios:
        return 21.0
    ratios.sort()
    return ratios[len(ratios) // 2]


def needs_plate(image, background: QColor) -> bool:
    """The logo fades into `background` and stands out better on the plate."""
    here = contrast(image, background)
    return here < LEGIBLE and contrast(image, PLATE) > here


def _channel(value: int) -> float:
    value /= 255
    return value / 12.92 if value <= 0.03928 else ((value + 0.055) / 1.055) ** 2.4


_LINEAR = [_channel(v) for v in range(256)]  # sRGB → linear light, looked up: a measure is 256 pixels


def _luminance(red: float, green: float, blue: float) -> float:
    return 0.2126 * _LINEAR[round(red)] + 0.7152 * _LINEAR[round(green)] + 0.0722 * _LINEAR[round(blue)]


def _on_plate(pixmap: QPixmap) -> QPixmap:
    """The logo shrunk a little onto a rounded light square the size it had."""
    size = pixmap.width()
    out = QPixmap(pixmap.size())
    out.fill(Qt.GlobalColor.transparent)
    painter = QPainter(out)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(PLATE)
    painter.drawRoundedRect(0, 0, size, size, size * 0.22, size * 0.22)
    inset = max(1, round(size * 0.12))
    painter.drawPixmap(inset, inset, pixmap.scaled(size - 2 * inset, size - 2 * inset,
                                                   Qt.AspectRatioMode.KeepAspectRatio,
                                                   Qt.TransformationMode.SmoothTransformation))
    painter.end()
    return out


def forget_type_icons() -> None:
    """The types changed under the icons (validation after a first start's paint disagreed with it)."""
    _cache.clear()


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


def action_icon(name: str) -> QIcon:
    """A toolbar symbol (resources/action-NAME.svg, line art), drawn in the palette's button text colour at paint
    time: right in either theme, greyed when its action is off, rendered only when a toolbar shows it."""
    cached = _action_icons.get(name)
    if cached is None:
        engine = _PaletteSymbol(str(RESOURCES / f"action-{name}.svg"))
        cached = _action_icons[name] = (QIcon(engine), engine)  # the engine's Python side outlives the icon
    return cached[0]


_action_icons: dict[str, tuple[QIcon, QIconEngine]] = {}


class _PaletteSymbol(QIconEngine):
    def __init__(self, path: str):
        super().__init__()
        self._path, self._shape = path, None
        self._pixmaps: dict[tuple[int, int, str], QPixmap] = {}
        self._clones: list[_PaletteSymbol] = []

    def pixmap(self, size: QSize, mode: QIcon.Mode, state: QIcon.State) -> QPixmap:
        from PySide6.QtGui import QGuiApplication, QPalette

        group = QPalette.ColorGroup.Disabled if mode == QIcon.Mode.Disabled else QPalette.ColorGroup.Active
        colour = QGuiApplication.palette().color(group, QPalette.ColorRole.ButtonText)
        key = (size.width(), size.height(), colour.name(QColor.NameFormat.HexArgb))
        pixmap = self._pixmaps.get(key)
        if pixmap is None:
            if self._shape is None:
                self._shape = QIcon(self._path)
            pixmap = self._shape.pixmap(size)
            painter = QPainter(pixmap)
            painter.setCompositionMode(QPainter.CompositionMode.CompositionMode_SourceIn)
            painter.fillRect(pixmap.rect(), colour)
            painter.end()
            self._pixmaps[key] = pixmap
        return pixmap

    def paint(self, painter: QPainter, rect: QRect, mode: QIcon.Mode, state: QIcon.State) -> None:
        ratio = painter.device().devicePixelRatioF() if painter.device() is not None else 1.0
        painter.drawPixmap(rect, self.pixmap(rect.size() * ratio, mode, state))

    def clone(self) -> QIconEngine:
        twin = _PaletteSymbol(self._path)
        self._clones.append(twin)
        return twin


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
