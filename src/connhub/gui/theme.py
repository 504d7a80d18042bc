"""Light, dark or the system's choice: the Fusion style with a palette, so every widget (and every palette()
colour the delegates and the sparkline read) follows the theme. The choice lives in QSettings ("ui/theme")."""

from __future__ import annotations

from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication, QStyleFactory, QWidget

THEMES = {"system": "Follow the system", "light": "Light", "dark": "Dark"}

# Colours for the labels that say an outcome, an error or the keyring's trouble, picked by object name (and the
# "outcome" property). Set on those labels alone (`styled`): a style sheet on the window would put every widget
# under Qt's style-sheet style, which made the first paint of the window a third slower.
LABEL_STYLE = """
QLabel#fieldError { color: #d93025; }
QLabel#testHeadline[outcome="ok"], QLabel#detailStatus[outcome="ok"] { color: #15803d; font-weight: 600; }
QLabel#testHeadline[outcome="failed"], QLabel#detailStatus[outcome="failed"] { color: #d93025; font-weight: 600; }
QLabel#keyringBanner { background: #fef3c7; color: #78350f; padding: 8px; border-bottom: 1px solid #f59e0b; }
"""


def styled(label: QWidget, name: str) -> QWidget:
    """Name `label` after one of LABEL_STYLE's rules and give it the sheet."""
    label.setObjectName(name)
    label.setStyleSheet(LABEL_STYLE)
    return label


def saved_theme() -> str:
    value = QSettings().value("ui/theme", "system")
    return value if value in THEMES else "system"


def save_theme(theme: str) -> None:
    QSettings().setValue("ui/theme", theme)


def is_dark(theme: str) -> bool:
    if theme == "system":
        return QGuiApplication.styleHints().colorScheme() == Qt.ColorScheme.Dark
    return theme == "dark"


def apply_theme(app: QApplication, theme: str) -> None:
    """Fusion looks the same everywhere and honours every palette role (the platform styles do not)."""
    app.setStyle(QStyleFactory.create("Fusion"))
    apply_palette(app, theme)


def apply_palette(app: QApplication, theme: str) -> None:
    """The theme's colours, for an app already in the Fusion style (gui/shell/app.py starts it so: `-style Fusion`)."""
    palette = dark_palette() if is_dark(theme) else light_palette()
    app.setPalette(palette)
    indicators = QPalette(palette)  # Fusion outlines a check box or radio in Window darkened by 1/1.4: too faint
    indicators.setColor(QPalette.ColorRole.Window, QColor(INDICATOR_WINDOW["dark" if is_dark(theme) else "light"]))
    for kind in ("QCheckBox", "QRadioButton"):
        app.setPalette(indicators, kind)
    for widget in app.allWidgets():  # a widget with a style sheet keeps the palette it was polished with
        if sheet := widget.styleSheet():
            widget.setStyleSheet("")
            widget.setStyleSheet(sheet)


# Fusion's own light palette (QStyle.standardPalette), spelled out: asking the style for it sets up PySide's
# QStyle class, about 10 ms of a cold start. tests/gui/test_window_features.py pins it to Fusion's.
LIGHT = {"WindowText": "#000000", "Button": "#efefef", "Light": "#ffffff", "Midlight": "#cacaca", "Dark": "#9f9f9f",
         "Mid": "#b8b8b8", "Text": "#000000", "BrightText": "#ffffff", "ButtonText": "#000000", "Base": "#ffffff",
         "Window": "#efefef", "Shadow": "#767676", "Highlight": "#308cc6", "HighlightedText": "#ffffff",
         "Link": "#0000ff", "LinkVisited": "#ff00ff", "AlternateBase": "#f7f7f7", "ToolTipBase": "#ffffdc",
         "ToolTipText": "#000000", "PlaceholderText": "#80000000", "Accent": "#308cc6"}
LIGHT_DISABLED = {"WindowText": "#bebebe", "Dark": "#bebebe", "Text": "#bebebe", "ButtonText": "#bebebe",
                  "Base": "#efefef", "Shadow": "#b1b1b1", "Highlight": "#919191", "Accent": "#919191"}


#: What check boxes and radios take as Window, so that Fusion's outline of them (Window darkened by 1/1.4) has 3:1
#: against the window: on a light one (#efefef would give 1.7:1) and a dark one (where it is black on black).
INDICATOR_WINDOW = {"light": "#b0b0b0", "dark": "#a4aab3"}


def light_palette() -> QPalette:
    palette = QPalette()
    roles, disabled = QPalette.ColorRole, QPalette.ColorGroup.Disabled
    for name, colour in LIGHT.items():
        palette.setColor(roles[name], QColor(colour))
    for name, colour in LIGHT_DISABLED.items():
        palette.setColor(disabled, roles[name], QColor(colour))
    return palette


def dark_palette() -> QPalette:
    palette = QPalette()
    roles = QPalette.ColorRole
    colours = {
        roles.Window: "#1f2125", roles.WindowText: "#e6e6e6", roles.Base: "#16181b",
        roles.AlternateBase: "#24272c", roles.ToolTipBase: "#2b2e33", roles.ToolTipText: "#e6e6e6",
        roles.Text: "#e6e6e6", roles.Button: "#2a2d32", roles.ButtonText: "#e6e6e6", roles.BrightText: "#ff6b6b",
        roles.Link: "#6ab0ff", roles.Highlight: "#2f6fcf", roles.HighlightedText: "#ffffff",
        roles.PlaceholderText: "#9097a0", roles.Mid: "#3a3d42", roles.Dark: "#111315", roles.Light: "#3b3f45",
        roles.Midlight: "#33363b", roles.Shadow: "#000000",
    }
    for role, colour in colours.items():
        palette.setColor(role, QColor(colour))
    disabled = QPalette.ColorGroup.Disabled
    for role in (roles.Text, roles.ButtonText, roles.WindowText):
        palette.setColor(disabled, role, QColor("#6b7078"))
    return palette


def error_color(palette: QPalette) -> QColor:
    """A red that reads on the palette's background: darker on light themes, lighter on dark ones."""
    dark = palette.color(QPalette.ColorRole.Window).lightness() < 128
    return QColor("#ff8a80") if dark else QColor("#c5221f")


def muted_color(palette: QPalette) -> QColor:
    """Help and hint text: the text colour mixed into the window's, readable on light and dark themes."""
    text, window = palette.color(QPalette.ColorRole.WindowText), palette.color(QPalette.ColorRole.Window)
    mix = 0.62  # enough contrast for small text on both light and dark backgrounds
    return QColor(round(text.red() * mix + window.red() * (1 - mix)),
                  round(text.green() * mix + window.green() * (1 - mix)),
                  round(text.blue() * mix + window.blue() * (1 - mix)))
