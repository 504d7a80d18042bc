"""Every type's icon is legible where it is drawn (issue 22): on the rows and on the selection, in the light and
the dark theme. The types come from the registry; the measure is WCAG's contrast ratio."""

from __future__ import annotations

import pytest
from PySide6.QtGui import QColor, QGuiApplication, QIcon, QImage, QPalette

from connhub.gui import icons
from connhub.gui.theme import dark_palette, light_palette
from connhub.plugins.registry import Registry

REGISTRY = Registry.discover(plugins=False)
TYPES = [e.type for e in REGISTRY.entries() if e.ok]
#: What a logo must reach against what is right behind it: the brand oranges on white sit near 2.6.
MINIMUM = 2.2


@pytest.fixture(params=["light", "dark"])
def themed(request, qapp):
    before = QGuiApplication.palette()
    QGuiApplication.setPalette(light_palette() if request.param == "light" else dark_palette())
    icons.forget_type_icons()
    yield QGuiApplication.palette()
    QGuiApplication.setPalette(before)
    icons.forget_type_icons()


def square(colour: str) -> QImage:
    image = QImage(24, 24, QImage.Format.Format_ARGB32)
    image.fill(QColor(colour))
    return image


def test_the_contrast_measure_is_wcags(qapp):
    assert icons.contrast(square("#000000"), QColor("#ffffff")) == pytest.approx(21.0)
    assert icons.contrast(square("#ffffff"), QColor("#ffffff")) == pytest.approx(1.0)
    assert icons.contrast(square("#767676"), QColor("#ffffff")) == pytest.approx(4.54, abs=0.01)  # WCAG's AA grey


@pytest.mark.parametrize("type_name", TYPES)
def test_each_icon_stands_out_on_rows_and_selection(themed, type_name):
    icon = icons.type_icon(REGISTRY, type_name)  # the Registry is a TypeCatalog
    logo = QIcon(str(REGISTRY.get(type_name).folder / REGISTRY.get(type_name).manifest.icon)).pixmap(24, 24)
    for mode, role in ((QIcon.Mode.Normal, QPalette.ColorRole.Base),
                       (QIcon.Mode.Selected, QPalette.ColorRole.Highlight)):
        background = themed.color(role)
        drawn = icon.pixmap(24, 24, mode).toImage()
        corner = drawn.pixelColor(12, 0)  # the plate's top edge, when there is one
        plated = corner.alpha() == 255 and corner.rgb() == icons.PLATE.rgb()
        behind = icons.PLATE if plated else background
        shown = icons.contrast(drawn if not plated else logo.toImage(), behind)
        assert shown >= MINIMUM, (type_name, mode, background.name(), round(shown, 2))


@pytest.mark.parametrize("theme", ["light", "dark"])
@pytest.mark.parametrize("kind", ["QCheckBox", "QRadioButton"])
def test_check_boxes_and_radios_are_outlined_legibly(qtbot, theme, kind):
    """Fusion outlines the indicator in a darkened Window colour: black on black in a dark theme, unless the
    theme gives the indicators their own Window. The ring must reach 3:1 against the window behind it."""
    from PySide6 import QtWidgets

    from connhub.gui.theme import apply_theme

    app = QtWidgets.QApplication.instance()
    before = app.palette()
    apply_theme(app, theme)
    try:
        widget = getattr(QtWidgets, kind)("Monitoring")
        qtbot.addWidget(widget)
        widget.resize(160, 30)
        image = widget.grab().toImage()
        window = app.palette().color(QPalette.ColorRole.Window)
        height = image.height()
        ring = max(icons.contrast(_pixel(image.pixelColor(x, y)), window)
                   for x in range(0, 20) for y in range(height))
        assert ring >= 3.0, (theme, kind, round(ring, 2))
    finally:
        app.setPalette(before)
        for name in ("QCheckBox", "QRadioButton"):
            app.setPalette(before, name)


def _pixel(colour: QColor) -> QImage:
    image = QImage(1, 1, QImage.Format.Format_ARGB32)
    image.fill(colour)
    return image
