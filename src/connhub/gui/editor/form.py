"""The credential form, generated from a type's field specs: nothing here is written for one type.

Each field becomes one QFormLayout row whose field cell holds the editor, a muted help line and a red error
line, so hiding the row (`x-show-if`) hides all of them at once. Fields without `x-group` come first, then one
QGroupBox per group; a `oneOf` choice is a combo box with a QStackedWidget of sub-forms built the same way.
Every message comes from `core.fields.validate_values`; the form only decides where and when to show it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QSizePolicy,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from connhub.core.fields import (
    FieldSpec,
    active_keys,
    defaults,
    is_visible,
    validate_values,
)
from connhub.gui.editor.field_editors import editor_for
from connhub.gui.editor.widgets import FilePathEdit, HostOrSocketEdit
from connhub.gui.theme import error_color, muted_color

SAVED_SECRET_PLACEHOLDER = "Saved — type to replace"


@dataclass(eq=False)
class _Field:
    spec: FieldSpec
    editor: QWidget  # what field_widget() returns
    target: QWidget  # the widget that gets the red border
    layout: QFormLayout  # the layout that holds the row
    container: QWidget  # the row's field cell: editor, help, error (and a choice's stack)
    label: QLabel | None
    error: QLabel
    help: QLabel | None
    group: QGroupBox | None
    stack: QStackedWidget | None = None
    shown: bool = True  # the row's own x-show-if result
    message: str = ""
    base_description: str = field(default="")

    @property
    def key(self) -> str:
        return editor_for(self.spec).key(self.spec)


class CredentialForm(QWidget):
    """A credential form generated from field specs; values travel flat, keyed by dotted path."""

    changed = Signal()

    def __init__(self, specs: list[FieldSpec], schema: dict, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("credentialForm")
        self._specs = list(specs)
        self._schema = schema
        self._fields: dict[str, _Field] = {}  # by spec.key, plus a choice's discriminator
        self._ordered: list[_Field] = []
        self._focus_chain: list[QWidget] = []
        self._forms: list[QFormLayout] = []
        self._groups: list[tuple[QGroupBox, list[_Field]]] = []
        self._saved_secrets: set[str] = set()
        self._loading = False
        self._read_only = False
        self._style_sheet = ""
        self._top_form: QFormLayout | None = None

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self._general_error = QLabel(self)
        self._general_error.setWordWrap(True)
        self._general_error.setTextFormat(Qt.TextFormat.PlainText)
        self._general_error.hide()
        layout.addWidget(self._general_error)
        layout.addWidget(self._build_section(self._specs, self, top_level=True))
        layout.addStretch(1)

        for first, second in zip(self._focus_chain, self._focus_chain[1:]):
            QWidget.setTabOrder(first, second)
        self._align_label_columns()
        self._apply_colors()
        self._loading = True
        try:
            self._fill(defaults(self._specs))
        finally:
            self._loading = False
        self._update_visibility()

    # --- building ---------------------------------------------------------------------------------------

    def _new_form_layout(self, parent: QWidget) -> QFormLayout:
        form = QFormLayout(parent)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.DontWrapRows)
        return form

    def _build_section(self, specs: list[FieldSpec], parent: QWidget, top_level: bool = False) -> QWidget:
        """Ungrouped fields in one form layout, then one group box per `x-group`, in order of appearance."""
        section = QWidget(parent)
        outer = QVBoxLayout(section)
        outer.setContentsMargins(0, 0, 0, 0)
        shown = [s for s in specs if not s.app_level]
        groups: dict[str, list[FieldSpec]] = {}
        for spec in shown:
            if spec.group:
                groups.setdefault(spec.group, []).append(spec)
        ungrouped = [s for s in shown if not s.group]
        if ungrouped:
            holder = QWidget(section)
            form = self._new_form_layout(holder)
            if top_level:
                form.setContentsMargins(0, 0, 0, 0)
                self._forms.append(form)
                self._top_form = form
            else:
                form.setContentsMargins(0, 4, 0, 6)
            for spec in ungrouped:
                self._add_row(form, holder, spec, None)
            outer.addWidget(holder)
        for name, group_specs in groups.items():
            box = QGroupBox(name, section)
            form = self._new_form_layout(box)
            if top_level:
                self._forms.append(form)
            rows = [self._add_row(form, box, spec, box) for spec in group_specs]
            self._groups.append((box, rows))
            outer.addWidget(box)
        return section

    def _add_row(self, form: QFormLayout, parent: QWidget, spec: FieldSpec, group: QGroupBox | None) -> _Field:
        container = QWidget(parent)
        cell = QVBoxLayout(container)
        cell.setContentsMargins(0, 0, 0, 0)
        cell.setSpacing(2)
        editor, target, focus = self._make_editor(spec, container)
        cell.addWidget(editor)

        help_label = None
        if spec.description:
            help_label = QLabel(spec.description, container)
            help_label.setWordWrap(True)
            help_label.setTextFormat(Qt.TextFormat.PlainText)
            help_label.setObjectName("help")
            font = help_label.font()
            if font.pointSizeF() > 0:
                font.setPointSizeF(font.pointSizeF() * 0.9)
            help_label.setFont(font)
            cell.addWidget(help_label)
        error = QLabel(container)
        error.setObjectName("error")
        error.setWordWrap(True)
        error.setTextFormat(Qt.TextFormat.PlainText)
        error.hide()
        cell.addWidget(error)

        label = None
        for widget in (editor, target):
            widget.setAccessibleName(spec.title)
            widget.setAccessibleDescription(spec.description)
            if spec.description:
                widget.setToolTip(spec.description)
        if editor_for(spec).own_label:
            form.setWidget(form.rowCount(), QFormLayout.ItemRole.FieldRole, container)
        else:
            title = spec.title.replace("&", "&&")
            label = QLabel(f"{title} *" if spec.required else title, parent)
            label.setBuddy(focus[0])
            if spec.description:
                label.setToolTip(spec.description)
            if spec.required:
                label.setAccessibleName(f"{spec.title} (required)")
            form.addRow(label, container)

        row = _Field(spec, editor, target, form, container, label, error, help_label, group,
                     base_description=spec.description)
        if spec.schema.get("x-hidden"):  # kept and saved, never shown (OAuth refresh token, expiry)
            row.shown = False
            form.setRowVisible(container, False)
        self._ordered.append(row)
        self._fields[spec.key] = row
        self._focus_chain.extend(focus)

        if editor_for(spec).has_pages:
            self._fields[spec.discriminator] = row
            row.stack = QStackedWidget(container)
            for choice in spec.choices:
                page = self._build_section(list(choice.fields), row.stack)
                row.stack.addWidget(page)
            cell.addWidget(row.stack)
            editor.currentIndexChanged.connect(lambda _i, r=row: self._sync_stack(r))
        self._connect(row)
        return row

    def _make_editor(self, spec: FieldSpec, parent: QWidget) -> tuple[QWidget, QWidget, list[QWidget]]:
        """(editor, widget that shows the red border, focusable widgets in tab order): gui/editor/field_editors.py."""
        return editor_for(spec).build(spec, parent, self)

    def _connect(self, row: _Field) -> None:
        editor_for(row.spec).connect(row.editor, lambda *_: self._on_value_changed(row),
                                     lambda *_: self._validate_field(row))

    def _align_label_columns(self) -> None:
        """Line the ungrouped fields' labels and editors up with those inside the group boxes."""
        if self._top_form is not None and self._groups:
            box = self._groups[0][0]
            frame, inner = box.contentsMargins(), box.layout().contentsMargins()
            self._top_form.setContentsMargins(frame.left() + inner.left(), 0, frame.right() + inner.right(), 0)
        labels = [form.itemAt(r, QFormLayout.ItemRole.LabelRole) for form in self._forms
                  for r in range(form.rowCount())]
        widgets = [item.widget() for item in labels if item is not None and item.widget() is not None]
        if widgets:
            width = max(w.sizeHint().width() for w in widgets)
            for w in widgets:
                w.setMinimumWidth(width)

    def _sync_stack(self, row: _Field) -> None:
        """Show the chosen sub-form; the stack takes the height of that page only."""
        index = max(row.editor.currentIndex(), 0)
        for i in range(row.stack.count()):
            policy = QSizePolicy.Policy.Preferred if i == index else QSizePolicy.Policy.Ignored
            row.stack.widget(i).setSizePolicy(policy, policy)
        row.stack.setCurrentIndex(index)
        page_empty = not row.spec.choices[index].fields if row.spec.choices else True
        row.stack.setVisible(not page_empty)
        row.stack.updateGeometry()

    # --- colours ----------------------------------------------------------------------------------------

    def _apply_colors(self) -> None:
        palette = self.palette()
        error, muted = error_color(palette), muted_color(palette)
        for row in self._ordered:
            self._color(row.error, error)
            if row.help is not None:
                self._color(row.help, muted)
        self._color(self._general_error, error)
        red = error.name()
        # A styled border makes Qt draw the whole box itself, so name the palette colours it must keep.
        # Combo boxes keep their native frame (a styled one loses its arrow); their message says it all.
        sheet = (f'QLineEdit[invalid="true"], QPlainTextEdit[invalid="true"] {{ border: 1px solid {red}; '
                 'border-radius: 3px; padding: 2px; background-color: palette(base); color: palette(text); }')
        if sheet != self._style_sheet:
            self._style_sheet = sheet
            self.setStyleSheet(sheet)

    @staticmethod
    def _color(label: QLabel, color: QColor) -> None:
        palette = label.palette()
        palette.setColor(QPalette.ColorRole.WindowText, color)
        label.setPalette(palette)

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange and self._ordered:
            self._apply_colors()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802
        if event.type() == QEvent.Type.FocusOut and isinstance(watched, QPlainTextEdit):
            row = next((r for r in self._ordered if r.editor is watched), None)
            if row is not None:
                self._validate_field(row)
        return super().eventFilter(watched, event)

    # --- reading and writing ----------------------------------------------------------------------------

    def _raw(self, row: _Field) -> Any:
        return editor_for(row.spec).read(row.editor, row.spec)

    def _raw_values(self) -> dict[str, Any]:
        raw = {}
        for row in self._ordered:
            value = self._raw(row)
            if value is not None:
                raw[row.key] = value
        return raw

    def values(self) -> dict:
        raw = self._raw_values()
        active = active_keys(self._specs, raw)
        return {k: v for k, v in raw.items() if k in active}

    def set_values(self, flat: dict) -> None:
        before = self._raw_values()
        merged = {**defaults(self._specs), **flat}
        self._loading = True
        try:
            self._fill(merged)
        finally:
            self._loading = False
        self._update_visibility()
        self.show_errors({})
        if self._raw_values() != before:
            self.changed.emit()

    def _fill(self, merged: dict[str, Any]) -> None:
        for row in self._ordered:
            value = merged.get(row.key)
            editor_for(row.spec).write(row.editor, value, row.spec)
            if row.stack is not None:
                self._sync_stack(row)

    def mark_saved_secrets(self, keys: set[str]) -> None:
        self._saved_secrets = {k for k in keys if k in self._fields and self._fields[k].spec.secret}
        self._loading = True
        try:
            for row in self._ordered:
                if not row.spec.secret or not editor_for(row.spec).shows_saved_secret:
                    continue
                if row.key in self._saved_secrets:
                    row.editor.clear()
                    row.editor.setPlaceholderText(SAVED_SECRET_PLACEHOLDER)
                else:
                    row.editor.setPlaceholderText(row.spec.placeholder)
        finally:
            self._loading = False

    def _saved_untouched(self) -> set[str]:
        return {k for k in self._saved_secrets if self._raw(self._fields[k]) is None}

    # --- visibility -------------------------------------------------------------------------------------

    def _update_visibility(self) -> None:
        raw = self._raw_values()
        for row in self._ordered:
            if row.spec.show_if:
                visible = is_visible(row.spec, raw) and not row.spec.schema.get("x-hidden")
                if visible != row.shown:
                    row.shown = visible
                    row.layout.setRowVisible(row.container, visible)
                    if not visible:
                        self._set_error(row, "")
        for box, rows in self._groups:
            box.setVisible(any(r.shown for r in rows))

    def is_field_visible(self, key: str) -> bool:
        return self._fields[key].editor.isVisibleTo(self)

    # --- validation -------------------------------------------------------------------------------------

    def _errors(self) -> dict[str, str]:
        errors = validate_values(self._schema, self._specs, self.values())
        skip = self._saved_untouched()
        out = {}
        for key, message in errors.items():
            row = self._fields.get(key)
            if key in skip or key.startswith("cfg:") or (row is not None and row.spec.app_level):
                continue  # a saved secret stays as it is; app-level fields are checked in Settings
            out[key] = message
        return out

    def validate(self) -> dict[str, str]:
        errors = self._errors()
        self.show_errors(errors)
        return errors

    def _validate_field(self, row: _Field) -> None:
        if self._loading:
            return
        errors = self._errors()
        self._set_error(row, self._message_for(row, errors))
        self._refresh_shown_errors(errors)

    def _refresh_shown_errors(self, errors: dict[str, str] | None = None) -> None:
        """Update messages already on screen (never adds new ones while the user is still typing)."""
        shown = [r for r in self._ordered if r.message]
        if not shown:
            return
        errors = self._errors() if errors is None else errors
        for row in shown:
            self._set_error(row, self._message_for(row, errors))

    @staticmethod
    def _message_for(row: _Field, errors: dict[str, str]) -> str:
        return errors.get(row.key) or errors.get(row.spec.key, "")

    def show_errors(self, errors: dict[str, str]) -> None:
        for row in self._ordered:
            self._set_error(row, self._message_for(row, errors))
        known = set(self._fields) | {r.spec.key for r in self._ordered}
        general = [f"{k}: {m}" if k else m for k, m in errors.items() if k not in known]
        self._general_error.setText("\n".join(general))
        self._general_error.setVisible(bool(general))

    def _set_error(self, row: _Field, message: str) -> None:
        if message == row.message:
            return
        row.message = message
        row.error.setText(message)
        row.error.setVisible(bool(message))
        row.target.setProperty("invalid", bool(message))
        style = row.target.style()
        style.unpolish(row.target)
        style.polish(row.target)
        row.target.update()
        description = row.base_description
        if message:
            description = f"{description} Error: {message}".strip()
        row.editor.setAccessibleDescription(description)
        if row.target is not row.editor:
            row.target.setAccessibleDescription(description)

    def error_text(self, key: str) -> str:
        row = self._fields.get(key)
        return row.message if row is not None else ""

    # --- misc -------------------------------------------------------------------------------------------

    def _on_value_changed(self, row: _Field) -> None:
        if self._loading:
            return
        self._update_visibility()
        self._refresh_shown_errors()
        self.changed.emit()

    def field_widget(self, key: str) -> QWidget:
        return self._fields[key].editor

    def set_read_only(self, read_only: bool) -> None:
        self._read_only = read_only
        for row in self._ordered:
            editor = row.editor
            if isinstance(editor, (QLineEdit, QPlainTextEdit, FilePathEdit, HostOrSocketEdit)):
                editor.setReadOnly(read_only)
            elif isinstance(editor, (QComboBox, QCheckBox)):
                editor.setEnabled(not read_only)

    def is_read_only(self) -> bool:
        return self._read_only
