"""One editor class per field kind: how the credential form builds a field's widget, reads its value, writes a
value into it, and which of its signals mean "changed" and "done editing" (when the form validates the field).

The form (gui/editor/form.py) asks `editor_for(spec)` and never switches on the kind itself: a new field kind is
one class here, registered with `@editor(FieldKind.X)`. The values themselves are validated against the type's
schema for the whole form at once (core/fields.py `validate_values`); an editor only turns text into the value
the schema checks (an integer field's "5432" into 5432). The widgets are gui/editor/widgets.py's.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, ClassVar

from PySide6.QtCore import QObject
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import QCheckBox, QLineEdit, QPlainTextEdit, QSizePolicy, QWidget

from connhub.core.fields import FieldKind, FieldSpec
from connhub.core.references import is_reference
from connhub.gui.editor.widgets import ComboBox, FilePathEdit, HostOrSocketEdit, PasswordEdit

_INTEGER = re.compile(r"^[+-]?\d+$")
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")

Built = tuple[QWidget, QWidget, list[QWidget]]  # (editor, the widget with the red border, focusable in tab order)
EDITORS: dict[FieldKind, FieldEditor] = {}


def editor(kind: FieldKind):
    """Register the decorated class as the editor of `kind`."""

    def register(cls: type[FieldEditor]) -> type[FieldEditor]:
        cls.kind = kind
        EDITORS[kind] = cls()
        return cls

    return register


def editor_for(spec: FieldSpec) -> FieldEditor:
    """The editor of the field's kind; a type's "Sign in with …" row (format oauth2-token) has its own."""
    if spec.schema.get("format") == "oauth2-token":
        return OAUTH
    if spec.schema.get("format") == "host-or-socket" and spec.kind is FieldKind.TEXT:
        return HOST_OR_SOCKET
    return EDITORS[spec.kind]


class FieldEditor:
    """A line edit: text, stripped; empty is no value. The base of the line kinds."""

    kind: ClassVar[FieldKind]
    own_label: ClassVar[bool] = False  # the widget shows the title itself (a check box): no label column
    has_pages: ClassVar[bool] = False  # one page of further fields per choice (a oneOf)
    shows_saved_secret: ClassVar[bool] = True  # can say "Saved — type to replace" instead of a secret
    strip: ClassVar[bool] = True

    def build(self, spec: FieldSpec, parent: QWidget, form: QObject) -> Built:
        edit = self.line_edit(parent)
        placeholder = spec.placeholder or self.placeholder(spec)
        if placeholder:
            edit.setPlaceholderText(placeholder)
        return edit, edit, [edit]

    def line_edit(self, parent: QWidget) -> QLineEdit:
        return QLineEdit(parent)

    def placeholder(self, spec: FieldSpec) -> str:
        return ""

    def key(self, spec: FieldSpec) -> str:
        """The value's key in the form's flat values."""
        return spec.key

    def read(self, widget: QWidget, spec: FieldSpec) -> Any:
        text = widget.text()
        if self.strip:
            text = text.strip()
        return self.parse(text) if text else None

    def parse(self, text: str) -> Any:
        return text

    def write(self, widget: QWidget, value: Any, spec: FieldSpec) -> None:
        widget.setText("" if value is None else str(value))

    def connect(self, widget: QWidget, changed: Callable[..., None], finished: Callable[..., None]) -> None:
        widget.textChanged.connect(changed)
        widget.editingFinished.connect(finished)


@editor(FieldKind.TEXT)
class TextEditor(FieldEditor):
    pass


@editor(FieldKind.PASSWORD)
class PasswordEditor(FieldEditor):
    strip = False  # a password's spaces are its own

    def line_edit(self, parent: QWidget) -> QLineEdit:
        return PasswordEdit(parent)


class _RangeEditor(FieldEditor):
    def placeholder(self, spec: FieldSpec) -> str:
        if spec.minimum is not None and spec.maximum is not None:
            return f"{spec.minimum:g}–{spec.maximum:g}"
        return ""


@editor(FieldKind.INTEGER)
class IntegerEditor(_RangeEditor):
    def parse(self, text: str) -> Any:
        return int(text) if _INTEGER.match(text) else text  # not a number: the schema says so


@editor(FieldKind.NUMBER)
class NumberEditor(_RangeEditor):
    def parse(self, text: str) -> Any:
        if is_reference(text):  # ${env:…} and the like, resolved at connect time
            return text
        if _INTEGER.match(text):
            return int(text)
        return float(text) if _NUMBER.match(text) else text


@editor(FieldKind.FILE)
class FileEditor(FieldEditor):
    shows_saved_secret = False

    def build(self, spec: FieldSpec, parent: QWidget, form: QObject) -> Built:
        edit = FilePathEdit(parent, title=spec.title)
        if spec.placeholder:
            edit.setPlaceholderText(spec.placeholder)
        return edit, edit.line_edit, [edit.line_edit, edit.browse_button]


@editor(FieldKind.MULTILINE)
class MultilineEditor(FieldEditor):
    """A fixed-width box four lines tall (keys, certificates); validated when it loses focus (the form's
    event filter), as it has no editingFinished."""

    def build(self, spec: FieldSpec, parent: QWidget, form: QObject) -> Built:
        edit = QPlainTextEdit(parent)
        edit.setTabChangesFocus(True)
        edit.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        lines = edit.fontMetrics().lineSpacing()
        edit.setFixedHeight(lines * 4 + 2 * edit.frameWidth() + 12)
        edit.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        edit.installEventFilter(form)
        if spec.placeholder:
            edit.setPlaceholderText(spec.placeholder)
        return edit, edit, [edit]

    def read(self, widget: QWidget, spec: FieldSpec) -> Any:
        text = widget.toPlainText()
        return text if text.strip() else None

    def write(self, widget: QWidget, value: Any, spec: FieldSpec) -> None:
        widget.setPlainText("" if value is None else str(value))

    def connect(self, widget: QWidget, changed: Callable[..., None], finished: Callable[..., None]) -> None:
        widget.textChanged.connect(changed)


@editor(FieldKind.BOOLEAN)
class BooleanEditor(FieldEditor):
    own_label = True
    shows_saved_secret = False

    def build(self, spec: FieldSpec, parent: QWidget, form: QObject) -> Built:
        box = QCheckBox(spec.title, parent)
        return box, box, [box]

    def read(self, widget: QWidget, spec: FieldSpec) -> Any:
        return widget.isChecked()

    def write(self, widget: QWidget, value: Any, spec: FieldSpec) -> None:
        widget.setChecked(bool(value))

    def connect(self, widget: QWidget, changed: Callable[..., None], finished: Callable[..., None]) -> None:
        widget.toggled.connect(changed)
        widget.toggled.connect(finished)


@editor(FieldKind.ENUM)
class EnumEditor(FieldEditor):
    shows_saved_secret = False

    def build(self, spec: FieldSpec, parent: QWidget, form: QObject) -> Built:
        combo = ComboBox(parent)
        self.fill(combo, spec)
        return combo, combo, [combo]

    def fill(self, combo: ComboBox, spec: FieldSpec) -> None:
        if spec.default is None:
            combo.addItem("", None)
        for value, text in zip(spec.options, spec.option_labels):
            combo.addItem(str(text), value)

    def read(self, widget: QWidget, spec: FieldSpec) -> Any:
        return widget.currentData()

    def write(self, widget: QWidget, value: Any, spec: FieldSpec) -> None:
        index = widget.findData(value) if value is not None else -1
        if index < 0 and value is not None:
            index = self.missing(widget, value, spec)
        widget.setCurrentIndex(max(index, 0))

    def missing(self, widget: QWidget, value: Any, spec: FieldSpec) -> int:
        """A stored value the manifest no longer offers: kept, so that validation can say so."""
        widget.addItem(f"{value} (not offered)", value)
        return widget.count() - 1

    def connect(self, widget: QWidget, changed: Callable[..., None], finished: Callable[..., None]) -> None:
        widget.currentIndexChanged.connect(changed)
        widget.currentIndexChanged.connect(finished)


@editor(FieldKind.CHOICE)
class ChoiceEditor(EnumEditor):
    """A oneOf: a combo box of the variants; the form shows the chosen one's fields on a page below."""

    has_pages = True

    def fill(self, combo: ComboBox, spec: FieldSpec) -> None:
        for choice in spec.choices:
            combo.addItem(choice.title, choice.value)

    def key(self, spec: FieldSpec) -> str:
        return spec.discriminator

    def write(self, widget: QWidget, value: Any, spec: FieldSpec) -> None:
        index = widget.findData(value) if value is not None else -1
        if index < 0:
            index = widget.findData(spec.default)  # an unknown method falls back to the default
        widget.setCurrentIndex(max(index, 0))


class OAuthEditor(FieldEditor):
    """A type's "Sign in with …" row (gui/editor/oauth.py): it holds the token and speaks like a line edit."""

    def build(self, spec: FieldSpec, parent: QWidget, form: QObject) -> Built:
        from connhub.gui.editor.oauth import OAuthSignIn

        sign_in = OAuthSignIn(parent, title=spec.title)
        return sign_in, sign_in, [sign_in.sign_in_button, sign_in.cancel_button]

    def read(self, widget: QWidget, spec: FieldSpec) -> Any:
        return EDITORS[spec.kind].read(widget, spec)  # the token as its field's kind reads text

    def write(self, widget: QWidget, value: Any, spec: FieldSpec) -> None:
        EDITORS[spec.kind].write(widget, value, spec)

    def connect(self, widget: QWidget, changed: Callable[..., None], finished: Callable[..., None]) -> None:
        widget.textChanged.connect(changed)
        widget.editingFinished.connect(finished)


OAUTH = OAuthEditor()


class HostOrSocketEditor(FieldEditor):
    """A host that may be a local Unix socket instead (format host-or-socket): "TCP host" or "Unix socket"
    beside the text, the type's usual socket paths (`x-socket-paths`) proposed, Browse… for the socket."""

    def build(self, spec: FieldSpec, parent: QWidget, form: QObject) -> Built:
        edit = HostOrSocketEdit(parent, candidates=tuple(str(p) for p in spec.schema.get("x-socket-paths") or ()),
                                folder=bool(spec.schema.get("x-socket-folder")))
        if spec.placeholder and not spec.placeholder.startswith("/"):
            edit.setPlaceholderText(spec.placeholder)
        return edit, edit.line_edit, [edit.line_edit, edit.mode, edit.browse_button]


HOST_OR_SOCKET = HostOrSocketEditor()
HOST_OR_SOCKET.kind = FieldKind.TEXT
