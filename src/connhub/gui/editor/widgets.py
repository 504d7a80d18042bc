"""Small reusable editors for the credential form: a password box with a reveal toggle, a file path with
Browse…, a host that may be a Unix socket instead, and a combo box that ignores the mouse wheel unless it has focus (so scrolling a long form never
changes a value by accident)."""

from __future__ import annotations

import os

from PySide6.QtCore import QDir, QEvent, QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import (
    QAction,
    QColor,
    QIcon,
    QPainter,
    QPainterPath,
    QPalette,
    QPen,
    QPixmap,
)
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QSizePolicy,
    QWidget,
)

_REVEAL_THEME = ("view-reveal-symbolic", "view-visible", "password-show-on")
_CONCEAL_THEME = ("view-conceal-symbolic", "view-hidden", "password-show-off")


def _themed(names: tuple[str, ...]) -> QIcon | None:
    for name in names:
        if QIcon.hasThemeIcon(name):
            return QIcon.fromTheme(name)
    return None


def eye_icon(color: QColor, crossed: bool, size: int = 16, ratio: float = 2.0) -> QIcon:
    """An eye (or a crossed-out eye) drawn in `color`, for platforms without an icon theme."""
    pixmap = QPixmap(QSize(round(size * ratio), round(size * ratio)))
    pixmap.setDevicePixelRatio(ratio)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    pen = QPen(color, 1.4)
    pen.setCapStyle(Qt.PenCapStyle.RoundCap)
    painter.setPen(pen)
    s = float(size)
    outline = QPainterPath(QPointF(1.5, s / 2))
    outline.quadTo(QPointF(s / 2, s * 0.08), QPointF(s - 1.5, s / 2))
    outline.quadTo(QPointF(s / 2, s * 0.92), QPointF(1.5, s / 2))
    painter.drawPath(outline)
    painter.setBrush(color)
    painter.drawEllipse(QRectF(s / 2 - 2.2, s / 2 - 2.2, 4.4, 4.4))
    if crossed:
        painter.drawLine(QPointF(2.5, s - 2.5), QPointF(s - 2.5, 2.5))
    painter.end()
    return QIcon(pixmap)


class PasswordEdit(QLineEdit):
    """A masked line edit with a checkable "Show" eye at its end that reveals the text while checked."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setEchoMode(QLineEdit.EchoMode.Password)
        self.reveal_action = QAction(self)
        self.reveal_action.setCheckable(True)
        self.reveal_action.toggled.connect(self.set_revealed)
        self.addAction(self.reveal_action, QLineEdit.ActionPosition.TrailingPosition)
        self._update_action()

    def reveal_button(self) -> QWidget | None:
        """The tool button QLineEdit made for the toggle (for accessibility and tests)."""
        for widget in self.reveal_action.associatedObjects():
            if isinstance(widget, QWidget) and widget is not self:
                return widget
        return None

    def is_revealed(self) -> bool:
        return self.echoMode() == QLineEdit.EchoMode.Normal

    def set_revealed(self, revealed: bool) -> None:
        self.setEchoMode(QLineEdit.EchoMode.Normal if revealed else QLineEdit.EchoMode.Password)
        if self.reveal_action.isChecked() != revealed:
            self.reveal_action.setChecked(revealed)
        self._update_action()

    def _update_action(self) -> None:
        revealed = self.is_revealed()
        color = self.palette().color(QPalette.ColorRole.Text)
        themed = _themed(_CONCEAL_THEME if revealed else _REVEAL_THEME)
        self.reveal_action.setIcon(themed or eye_icon(color, crossed=revealed))
        self.reveal_action.setText("Hide" if revealed else "Show")
        self.reveal_action.setToolTip("Hide password" if revealed else "Show password")
        button = self.reveal_button()
        if button is not None:
            # The name stays the same; screen readers announce the toggle's checked state.
            button.setAccessibleName("Show password")
            button.setAccessibleDescription("Hides the password again" if revealed else
                                            "Reveals the password as plain text")

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange:
            self._update_action()


class FilePathEdit(QWidget):
    """A line edit for a file path with a "Browse…" button that opens the platform's file chooser."""

    textChanged = Signal(str)
    editingFinished = Signal()

    def __init__(self, parent: QWidget | None = None, title: str = "file",
                 file_filter: str = "All files (*)"):
        super().__init__(parent)
        self._title, self._filter = title, file_filter
        self.line_edit = QLineEdit(self)
        self.line_edit.setClearButtonEnabled(True)
        self.browse_button = QPushButton("Browse…", self)
        self.browse_button.setAccessibleName(f"Browse for {title}")
        self.browse_button.setToolTip(f"Choose the {title.lower()} file")
        self.browse_button.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.line_edit, 1)
        layout.addWidget(self.browse_button)
        self.setFocusProxy(self.line_edit)
        self.line_edit.textChanged.connect(self.textChanged)
        self.line_edit.editingFinished.connect(self.editingFinished)
        self.browse_button.clicked.connect(self.browse)

    def text(self) -> str:
        return self.line_edit.text()

    def setText(self, text: str) -> None:  # noqa: N802 - Qt naming, a drop-in for QLineEdit
        self.line_edit.setText(text)

    def setPlaceholderText(self, text: str) -> None:  # noqa: N802
        self.line_edit.setPlaceholderText(text)

    def placeholderText(self) -> str:  # noqa: N802
        return self.line_edit.placeholderText()

    def setReadOnly(self, read_only: bool) -> None:  # noqa: N802
        self.line_edit.setReadOnly(read_only)
        self.browse_button.setEnabled(not read_only)

    def isReadOnly(self) -> bool:  # noqa: N802
        return self.line_edit.isReadOnly()

    def browse(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, f"Choose {self._title}", self.text().strip(), self._filter)
        if path:
            self.setText(path)
            self.editingFinished.emit()


class HostOrSocketEdit(QWidget):
    """A host, or a local server's Unix socket: "TCP host" / "Unix socket" chosen beside the text.

    The value is one text, as the driver reads it (a socket is a path starting with /). Choosing the socket
    proposes the first of the type's usual socket paths that exists here; going back to TCP restores the host
    typed before. Browse… (socket only) picks the socket's folder or file, system files shown."""

    textChanged = Signal(str)
    editingFinished = Signal()
    TCP, SOCKET = 0, 1

    def __init__(self, parent: QWidget | None = None, candidates: tuple[str, ...] = (), folder: bool = False):
        super().__init__(parent)
        self._candidates, self._folder = candidates, folder
        self._hosts = {self.TCP: "", self.SOCKET: ""}  # what each mode held, restored when it is chosen again
        self._tcp_placeholder = ""
        self.mode = ComboBox(self)
        self.mode.addItem("TCP host")
        self.mode.addItem("Unix socket")
        self.mode.setAccessibleName("Connect by")
        self.mode.setToolTip("A server on the network (host name or IP), or a local server's Unix socket")
        self.mode.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        self.line_edit = QLineEdit(self)
        self.line_edit.setClearButtonEnabled(True)
        self.browse_button = QPushButton("Browse…", self)
        self.browse_button.setAccessibleName("Browse for the socket")
        self.browse_button.setToolTip("Choose the socket's " + ("folder" if folder else "file"))
        self.browse_button.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.line_edit, 1)
        layout.addWidget(self.mode)  # after the text, in tab order too: the label's buddy is the text
        layout.addWidget(self.browse_button)
        self.setFocusProxy(self.line_edit)
        self.line_edit.textChanged.connect(self.textChanged)
        self.line_edit.editingFinished.connect(self.editingFinished)
        self.mode.activated.connect(self._mode_chosen)  # the user's choice, not a setText
        self.browse_button.clicked.connect(self.browse)
        self._show_mode(self.TCP)

    def usual_socket(self) -> str:
        """The first usual socket path that exists on this machine ("" if none does)."""
        return next((path for path in self._candidates if os.path.exists(path)), "")

    def _show_mode(self, mode: int) -> None:
        self._mode = mode
        self.mode.setCurrentIndex(mode)
        self.browse_button.setVisible(mode == self.SOCKET)
        socket_hint = self._candidates[0] if self._candidates else "/path/to/socket"
        self.line_edit.setPlaceholderText(socket_hint if mode == self.SOCKET else self._tcp_placeholder)

    def _mode_chosen(self, mode: int) -> None:
        current = self._mode
        if mode == current:
            self._show_mode(mode)
            return
        self._hosts[current] = self.text()
        proposed = self._hosts[mode] or (self.usual_socket() if mode == self.SOCKET else "localhost")
        self._show_mode(mode)
        self.line_edit.setText(proposed)
        self.editingFinished.emit()

    def text(self) -> str:
        return self.line_edit.text()

    def selectAll(self) -> None:  # noqa: N802
        self.line_edit.selectAll()

    def setText(self, text: str) -> None:  # noqa: N802 - Qt naming, a drop-in for QLineEdit
        self._show_mode(self.SOCKET if text.strip().startswith("/") else self.TCP)
        self.line_edit.setText(text)

    def setPlaceholderText(self, text: str) -> None:  # noqa: N802
        self._tcp_placeholder = text
        self._show_mode(self.mode.currentIndex())

    def placeholderText(self) -> str:  # noqa: N802
        return self.line_edit.placeholderText()

    def setReadOnly(self, read_only: bool) -> None:  # noqa: N802
        self.line_edit.setReadOnly(read_only)
        self.mode.setEnabled(not read_only)
        self.browse_button.setEnabled(not read_only)

    def isReadOnly(self) -> bool:  # noqa: N802
        return self.line_edit.isReadOnly()

    def browse(self) -> None:
        start = self.text().strip() or self.usual_socket()
        dialog = QFileDialog(self, "Choose the socket's " + ("folder" if self._folder else "file"),
                             os.path.dirname(start) if start and not self._folder else start)
        if self._folder:
            dialog.setFileMode(QFileDialog.FileMode.Directory)
            dialog.setOption(QFileDialog.Option.ShowDirsOnly, True)
        else:
            dialog.setFileMode(QFileDialog.FileMode.ExistingFile)
            dialog.setFilter(QDir.Filter.AllEntries | QDir.Filter.System | QDir.Filter.NoDotAndDotDot)  # sockets
        if dialog.exec() and dialog.selectedFiles():
            self.setText(dialog.selectedFiles()[0])
            self.editingFinished.emit()


class ComboBox(QComboBox):
    """A combo box that only reacts to the mouse wheel once it has focus."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)

    def wheelEvent(self, event) -> None:  # noqa: N802
        if self.hasFocus():
            super().wheelEvent(event)
        else:
            event.ignore()
