"""The generated credential form, with real widgets and the real manifests (offscreen)."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QWidget,
)

from connhub.core.fields import field_specs
from connhub.gui.editor.form import SAVED_SECRET_PLACEHOLDER, CredentialForm
from connhub.gui.editor.widgets import FilePathEdit, PasswordEdit
from connhub.plugins.registry import Registry

SYNTHETIC = {
    "type": "object",
    "required": ["name", "port", "cfg:client_id"],
    "properties": {
        "name": {"type": "string", "title": "Name", "examples": ["primary"], "description": "A label for you.",
                 "minLength": 1, "x-order": 1},
        "secret": {"type": "string", "title": "Secret", "writeOnly": True, "x-order": 2},
        "notes": {"type": "string", "title": "Notes", "x-multiline": True, "examples": ["one per line"],
                  "x-order": 3},
        "port": {"type": "integer", "title": "Port", "minimum": 1, "maximum": 65535, "default": 8080,
                 "x-order": 4},
        "ratio": {"type": "number", "title": "Ratio", "minimum": 0, "maximum": 1, "x-order": 5},
        "enabled": {"type": "boolean", "title": "Enabled", "default": True, "x-order": 6},
        "mode": {"title": "Mode", "enum": ["fast", "safe"], "x-enum-labels": ["Fast", "Safe"], "default": "safe",
                 "x-order": 7},
        "key_file": {"type": "string", "title": "Key file", "format": "file-path", "x-group": "Files",
                     "x-order": 8},
        "extra": {"type": "string", "title": "Extra", "x-show-if": {"mode": "fast"}, "x-group": "Advanced",
                  "x-order": 9},
        "auth": {"title": "Auth", "x-order": 10, "oneOf": [
            {"title": "Anonymous", "properties": {"kind": {"const": "anon"}}, "required": ["kind"]},
            {"title": "Token", "properties": {"kind": {"const": "token"},
                                              "token": {"type": "string", "title": "Token", "writeOnly": True,
                                                        "minLength": 1}},
             "required": ["kind", "token"]},
        ]},
        "cfg:client_id": {"type": "string", "title": "Client ID"},
    },
}


@pytest.fixture
def synthetic(make_form):
    return make_form(specs=field_specs(SYNTHETIC), schema=SYNTHETIC)


def type_into(qtbot, widget: QWidget, text: str, finish: bool = True) -> None:
    """Replace the text of a line edit the way a user does: select all, type, press Return."""
    edit = getattr(widget, "line_edit", widget)  # a file path's or a host-or-socket's text box
    edit.selectAll()
    if text:
        qtbot.keyClicks(edit, text)
    else:
        qtbot.keyClick(edit, Qt.Key.Key_Delete)
    if finish:
        qtbot.keyClick(edit, Qt.Key.Key_Return)


def choose(combo: QComboBox, value) -> None:
    index = combo.findData(value)
    assert index >= 0, value
    combo.setCurrentIndex(index)


def row_label(form: CredentialForm, key: str) -> QLabel | None:
    """The label QFormLayout shows beside a field."""
    cell = form.field_widget(key).parentWidget()  # editor, help and error share one cell
    for layout in form.findChildren(QFormLayout):
        for row in range(layout.rowCount()):
            field = layout.itemAt(row, QFormLayout.ItemRole.FieldRole)
            if field is not None and field.widget() is cell:
                label = layout.itemAt(row, QFormLayout.ItemRole.LabelRole)
                if label is not None and label.widget() is not None:
                    return label.widget()
                return None
    raise AssertionError(f"no row holds {key}")


def error_label(form: CredentialForm, key: str) -> QLabel:
    editor = form.field_widget(key)
    cell = editor.parentWidget()
    return next(l for l in cell.findChildren(QLabel, "error", Qt.FindChildOption.FindDirectChildrenOnly))


# --- widgets per kind ----------------------------------------------------------------------------------

def test_every_kind_gets_its_editor(synthetic):
    f = synthetic.field_widget
    assert type(f("name")) is QLineEdit
    assert isinstance(f("secret"), PasswordEdit) and f("secret").echoMode() == QLineEdit.EchoMode.Password
    assert isinstance(f("notes"), QPlainTextEdit)
    assert type(f("port")) is QLineEdit and type(f("ratio")) is QLineEdit  # can hold ${env:…} and bad text
    assert isinstance(f("enabled"), QCheckBox) and f("enabled").text() == "Enabled"
    mode = f("mode")
    assert isinstance(mode, QComboBox)
    assert [mode.itemText(i) for i in range(mode.count())] == ["Fast", "Safe"]
    assert [mode.itemData(i) for i in range(mode.count())] == ["fast", "safe"]
    assert isinstance(f("key_file"), FilePathEdit) and f("key_file").browse_button.text() == "Browse…"
    auth = f("auth")
    assert isinstance(auth, QComboBox) and auth is f("auth.kind")
    assert [auth.itemText(i) for i in range(auth.count())] == ["Anonymous", "Token"]
    assert isinstance(f("auth.token"), PasswordEdit)


def test_multiline_field_is_several_lines_high(synthetic):
    notes = synthetic.field_widget("notes")
    assert notes.height() >= 3 * notes.fontMetrics().lineSpacing()
    assert notes.tabChangesFocus(), "Tab must move on, not insert a tab character"


def test_app_level_fields_are_left_to_settings(synthetic):
    with pytest.raises(KeyError):
        synthetic.field_widget("cfg:client_id")
    labels = [l.text() for l in synthetic.findChildren(QLabel)]
    assert not any("Client ID" in text for text in labels)
    # a required app-level field is not this form's business
    assert "cfg:client_id" not in synthetic.validate()


def test_examples_become_placeholders_and_descriptions_help(make_form):
    form = make_form("postgres")
    host = form.field_widget("host")
    assert host.placeholderText() == "db.example.com"
    hint = ("Server name or IP address; or the folder of the server's Unix socket (e.g. /var/run/postgresql) for "
            "a local server, where peer authentication needs no password.")
    assert host.toolTip() == hint
    help_labels = [l.text() for l in host.parentWidget().findChildren(QLabel, "help")]
    assert help_labels == [hint]
    http = make_form("http")
    assert http.field_widget("headers").placeholderText() == "Accept: application/json"


def test_help_text_is_muted_and_smaller(make_form):
    form = make_form("postgres")
    help_label = form.field_widget("host").parentWidget().findChild(QLabel, "help")
    text_color = form.palette().color(QPalette.ColorRole.WindowText)
    help_color = help_label.palette().color(QPalette.ColorRole.WindowText)
    assert help_color != text_color
    assert help_label.font().pointSizeF() < form.field_widget("host").font().pointSizeF()


# --- values --------------------------------------------------------------------------------------------

def test_defaults_are_filled_in(make_form, synthetic):
    pg = make_form("postgres")
    assert pg.field_widget("host").text() == "localhost"
    assert pg.field_widget("port").text() == "5432"
    assert pg.field_widget("sslmode").currentData() == "prefer"
    assert pg.values() == {"host": "localhost", "port": 5432, "database": "postgres", "user": "postgres",
                           "sslmode": "prefer", "target_session_attrs": "any"}
    assert synthetic.field_widget("enabled").isChecked()
    assert synthetic.field_widget("mode").currentText() == "Safe"
    assert synthetic.field_widget("auth").currentText() == "Anonymous"


def test_set_values_round_trips(synthetic):
    flat = {"name": "primary", "secret": " s3cret ", "notes": "a\nb", "port": 9000, "ratio": 0.25,
            "enabled": False, "mode": "fast", "key_file": "/tmp/key.pem", "extra": "x",
            "auth.kind": "token", "auth.token": "tok"}
    synthetic.set_values(flat)
    assert synthetic.values() == flat
    assert synthetic.field_widget("secret").text() == " s3cret ", "a password keeps its spaces"


def test_set_values_fills_missing_keys_from_defaults(synthetic):
    synthetic.set_values({"name": "a", "port": 1, "mode": "fast", "extra": "x"})
    synthetic.set_values({"name": "b"})
    assert synthetic.values() == {"name": "b", "port": 8080, "enabled": True, "mode": "safe",
                                  "auth.kind": "anon"}


def test_numbers_convert_when_they_parse_and_stay_text_otherwise(synthetic, qtbot):
    type_into(qtbot, synthetic.field_widget("port"), " 42 ")
    type_into(qtbot, synthetic.field_widget("ratio"), "0.5")
    assert synthetic.values()["port"] == 42 and synthetic.values()["ratio"] == 0.5
    type_into(qtbot, synthetic.field_widget("port"), "abc")
    type_into(qtbot, synthetic.field_widget("ratio"), "${env:RATIO}")
    assert synthetic.values()["port"] == "abc"
    assert synthetic.values()["ratio"] == "${env:RATIO}"


def test_empty_text_is_left_out(make_form, qtbot):
    form = make_form("postgres")
    type_into(qtbot, form.field_widget("database"), "")
    type_into(qtbot, form.field_widget("host"), "   ")
    assert "database" not in form.values() and "host" not in form.values()


def test_unknown_stored_enum_value_is_kept_and_reported(make_form):
    form = make_form("postgres")
    form.set_values({"sslmode": "allow"})
    assert form.values()["sslmode"] == "allow"
    assert "allow" in form.field_widget("sslmode").currentText()
    assert form.validate()["sslmode"].startswith("Choose one of")


def test_changed_fires_when_the_user_edits(make_form, qtbot):
    form = make_form("redis")
    with qtbot.waitSignal(form.changed, timeout=1000):
        qtbot.keyClicks(form.field_widget("host").line_edit, "x")
    with qtbot.waitSignal(form.changed, timeout=1000):
        form.field_widget("tls").click()
    with qtbot.assertNotEmitted(form.changed):
        form.set_values(form.values())  # loading the same values is not an edit


# --- secrets -------------------------------------------------------------------------------------------

def test_password_is_masked_and_reveal_toggle_shows_it(make_form, qtbot):
    form = make_form("postgres")
    box = form.field_widget("password")
    qtbot.keyClicks(box, "hunter2")
    assert box.echoMode() == QLineEdit.EchoMode.Password
    assert box.displayText() != "hunter2"
    action = box.reveal_action
    assert action.isCheckable() and action.text() == "Show"
    button = box.reveal_button()
    assert button is not None and button.accessibleName() == "Show password"
    button.click()
    assert box.echoMode() == QLineEdit.EchoMode.Normal and box.displayText() == "hunter2"
    assert action.isChecked() and action.text() == "Hide" and action.toolTip() == "Hide password"
    button.click()
    assert box.echoMode() == QLineEdit.EchoMode.Password
    assert form.values()["password"] == "hunter2"


def test_saved_secrets_show_a_placeholder_and_are_not_returned_untouched(make_form, qtbot):
    form = make_form("postgres")
    form.set_values({"host": "db", "password": "old"})
    form.mark_saved_secrets({"password"})
    box = form.field_widget("password")
    assert box.text() == "" and box.placeholderText() == SAVED_SECRET_PLACEHOLDER
    assert "password" not in form.values()
    qtbot.keyClicks(box, "new-one")
    assert form.values()["password"] == "new-one"


def test_a_required_saved_secret_is_not_reported_missing(make_form, qtbot):
    form = make_form("http")
    form.set_values({"base_url": "https://api.example.com", "auth.method": "bearer"})
    assert form.validate() == {"auth.token": "Required"}
    form.mark_saved_secrets({"auth.token"})
    assert form.validate() == {}
    assert form.error_text("auth.token") == ""
    assert form.values() == {"base_url": "https://api.example.com", "auth.method": "bearer", "test_path": "/",
                             "verify_tls": True}


# --- oneOf and x-show-if -------------------------------------------------------------------------------

def test_switching_auth_method_swaps_the_fields(make_form, qtbot):
    form = make_form("http")
    auth = form.field_widget("auth")
    assert not form.is_field_visible("auth.token") and not form.is_field_visible("auth.username")
    assert form.values()["auth.method"] == "none"

    choose(auth, "bearer")
    assert form.is_field_visible("auth.token") and not form.is_field_visible("auth.username")
    qtbot.keyClicks(form.field_widget("auth.token"), "tok")
    assert form.values()["auth.token"] == "tok"

    choose(auth, "basic")
    assert form.is_field_visible("auth.username") and form.is_field_visible("auth.password")
    assert not form.is_field_visible("auth.token")
    qtbot.keyClicks(form.field_widget("auth.username"), "me")
    values = form.values()
    assert values["auth.method"] == "basic" and values["auth.username"] == "me"
    assert "auth.token" not in values

    choose(auth, "api_key")
    assert form.field_widget("auth.header").text() == "X-API-Key"
    assert {k: v for k, v in form.values().items() if k.startswith("auth.")} == \
        {"auth.method": "api_key", "auth.header": "X-API-Key"}


def test_set_values_selects_the_choice(make_form):
    form = make_form("http")
    form.set_values({"base_url": "https://x.example", "auth.method": "basic", "auth.username": "u"})
    assert form.field_widget("auth").currentText() == "Basic (user and password)"
    assert form.is_field_visible("auth.username")


@pytest.mark.parametrize("mode, shown", [("disable", False), ("prefer", False), ("require", False),
                                         ("verify-ca", True), ("verify-full", True)])
def test_postgres_ca_certificate_only_for_verifying_modes(make_form, mode, shown):
    form = make_form("postgres")
    form.set_values({"sslrootcert": "/etc/ssl/ca.pem"})
    choose(form.field_widget("sslmode"), mode)
    assert form.is_field_visible("sslrootcert") is shown
    label = row_label(form, "sslrootcert")
    assert label.isVisibleTo(form) is shown, "the label hides with its field"
    assert ("sslrootcert" in form.values()) is shown


def test_redis_ca_file_only_with_tls(make_form):
    form = make_form("redis")
    assert not form.is_field_visible("ca_file")
    form.field_widget("tls").click()
    assert form.is_field_visible("ca_file")
    form.field_widget("ca_file").setText("/ca.pem")
    assert form.values()["ca_file"] == "/ca.pem"
    form.field_widget("tls").click()
    assert not form.is_field_visible("ca_file")
    assert "ca_file" not in form.values()


def test_hiding_a_row_hides_its_error(make_form):
    form = make_form("postgres")
    form.set_values({"sslmode": "verify-full"})
    form.show_errors({"sslrootcert": "Not readable"})
    assert error_label(form, "sslrootcert").isVisibleTo(form)
    choose(form.field_widget("sslmode"), "require")
    assert not error_label(form, "sslrootcert").isVisibleTo(form)
    assert form.error_text("sslrootcert") == ""


def test_groups_follow_the_ungrouped_fields(make_form):
    form = make_form("http")
    boxes = form.findChildren(QGroupBox)
    assert [b.title() for b in boxes] == ["Test request", "TLS", "Webhooks"]
    assert boxes[0].isAncestorOf(form.field_widget("test_path"))
    assert boxes[1].isAncestorOf(form.field_widget("ca_file"))
    assert not any(b.isAncestorOf(form.field_widget("base_url")) for b in boxes)
    section = boxes[0].parentWidget().layout()
    ungrouped = next(section.itemAt(i).widget() for i in range(section.count())
                     if section.itemAt(i).widget().isAncestorOf(form.field_widget("base_url")))
    assert section.indexOf(ungrouped) < section.indexOf(boxes[0]) < section.indexOf(boxes[1])


def test_a_group_whose_fields_are_all_hidden_disappears(make_form):
    form = make_form(specs=field_specs(SYNTHETIC), schema=SYNTHETIC)
    advanced = next(b for b in form.findChildren(QGroupBox) if b.title() == "Advanced")
    assert not advanced.isVisibleTo(form)
    choose(form.field_widget("mode"), "fast")
    assert advanced.isVisibleTo(form)


# --- validation ----------------------------------------------------------------------------------------

def test_port_out_of_range_is_explained_under_the_port(make_form, qtbot):
    form = make_form("postgres")
    port = form.field_widget("port")
    type_into(qtbot, port, "70000")  # Return finishes editing
    assert form.error_text("port") == "Must be at most 65535"
    label = error_label(form, "port")
    assert label.isVisibleTo(form) and label.text() == "Must be at most 65535"
    color = label.palette().color(QPalette.ColorRole.WindowText)
    assert color.red() > 150 and color.red() > 2 * color.green(), "the message is red"
    assert port.property("invalid") is True
    assert "Must be at most 65535" in port.accessibleDescription()
    assert form.error_text("host") == "", "other fields are not flagged"

    type_into(qtbot, port, "6543", finish=False)  # fixing it clears the message at once
    assert form.error_text("port") == "" and not label.isVisibleTo(form)
    assert port.property("invalid") is False


def test_typing_does_not_nag_before_editing_finishes(make_form, qtbot):
    form = make_form("postgres")
    type_into(qtbot, form.field_widget("port"), "70000", finish=False)
    assert form.error_text("port") == ""


@pytest.mark.parametrize("key, text, message", [
    ("port", "abc", "Enter a whole number"),
    ("database", "", "Required"),
    ("host", "http://db:5432", "Enter a host name, an IP address, or the path of a local Unix socket (starting with /)"),
    ("host", "bad host", "Enter a host name, an IP address, or the path of a local Unix socket (starting with /)"),
])
def test_inline_messages_appear_under_the_field_and_clear_when_fixed(make_form, qtbot, key, text, message):
    form = make_form("postgres")
    type_into(qtbot, form.field_widget(key), text)
    assert form.error_text(key) == message
    assert error_label(form, key).isVisibleTo(form)
    type_into(qtbot, form.field_widget(key), "5432" if key == "port" else "good")
    assert form.error_text(key) == ""


def test_validate_shows_every_message_and_clears_old_ones(make_form):
    form = make_form("postgres")
    form.set_values({"host": "", "port": "70000", "database": ""})
    errors = form.validate()
    assert errors == {"host": "Required", "port": "Must be at most 65535", "database": "Required"}
    assert all(error_label(form, k).text() == m for k, m in errors.items())
    form.set_values({"host": "db.example.com", "port": 5433})
    assert form.validate() == {}
    assert all(form.error_text(k) == "" for k in errors)


def test_env_reference_passes_validation(make_form, qtbot):
    form = make_form("postgres")
    type_into(qtbot, form.field_widget("port"), "${env:PGPORT}")
    assert form.error_text("port") == ""
    assert form.values()["port"] == "${env:PGPORT}"
    assert form.validate() == {}


def test_errors_inside_the_chosen_auth_method(make_form):
    form = make_form("http")
    form.set_values({"base_url": "ftp://x", "auth.method": "api_key", "auth.header": "bad header"})
    errors = form.validate()
    assert errors["base_url"] == "Enter a full URL starting with http:// or https://"
    assert errors["auth.key"] == "Required"
    assert errors["auth.header"] == "Does not have the expected format"
    assert error_label(form, "auth.key").isVisibleTo(form)


def test_multiline_is_checked_when_it_loses_focus(make_form, qtbot):
    schema = {"type": "object", "properties": {
        "pem": {"type": "string", "title": "PEM", "x-multiline": True, "pattern": "^-----BEGIN"},
        "name": {"type": "string", "title": "Name"}}}
    form = make_form(specs=field_specs(schema), schema=schema)
    form.field_widget("pem").setPlainText("nope")
    form.eventFilter(form.field_widget("pem"), _focus_out())
    assert form.error_text("pem") == "Does not have the expected format"


def _focus_out():
    from PySide6.QtGui import QFocusEvent
    return QFocusEvent(QFocusEvent.Type.FocusOut, Qt.FocusReason.TabFocusReason)


def test_general_errors_without_a_field_are_shown_at_the_top(make_form):
    form = make_form("redis")
    form.show_errors({"": "Only one of a and b"})
    top = [l for l in form.findChildren(QLabel, options=Qt.FindChildOption.FindDirectChildrenOnly)
           if l.isVisibleTo(form)]
    assert [l.text() for l in top] == ["Only one of a and b"]


# --- labels, accessibility, keyboard -------------------------------------------------------------------

@pytest.mark.parametrize("type_name", ["postgres", "redis", "http"])
def test_labels_have_buddies_and_editors_have_accessible_names(make_form, builtin_types, type_name):
    from connhub.core.fields import FieldKind, all_specs

    form = make_form(type_name)
    for spec in all_specs(builtin_types[type_name].specs):
        if spec.app_level:
            continue
        editor = form.field_widget(spec.key)
        assert editor.accessibleName() == spec.title
        assert editor.accessibleDescription() == spec.description
        label = row_label(form, spec.key)
        if spec.kind is FieldKind.BOOLEAN:
            assert label is None and editor.text() == spec.title
            continue
        focus = getattr(editor, "line_edit", editor)  # a file path's, a host-or-socket's text box
        assert label.buddy() is focus, spec.key
        assert label.text() == (f"{spec.title} *" if spec.required else spec.title)


def test_tab_order_follows_the_screen(make_form):
    form = make_form("http")
    choose(form.field_widget("auth"), "basic")
    chain, widget = [], form.field_widget("base_url")
    while widget not in chain:
        chain.append(widget)
        widget = widget.nextInFocusChain()
    focusable = [w for w in chain if w.isVisibleTo(form) and w.isEnabled()
                 and w.focusPolicy() & Qt.FocusPolicy.TabFocus]
    f = form.field_widget
    assert focusable == [f("base_url"), f("auth"), f("auth.username"), f("auth.password"), f("test_path"),
                         f("headers"), f("verify_tls"), f("ca_file").line_edit, f("ca_file").browse_button,
                         f("webhook_secret")]


def test_browse_fills_the_path(make_form, monkeypatch):
    form = make_form("postgres")
    form.set_values({"sslmode": "verify-ca"})
    asked = []

    def fake_open(parent, caption, directory, file_filter):
        asked.append(caption)
        return "/etc/ssl/certs/ca.pem", file_filter

    monkeypatch.setattr(QFileDialog, "getOpenFileName", staticmethod(fake_open))
    form.field_widget("sslrootcert").browse_button.click()
    assert asked == ["Choose CA certificate"]
    assert form.values()["sslrootcert"] == "/etc/ssl/certs/ca.pem"


def test_read_only_while_a_test_runs(make_form, qtbot):
    form = make_form("http")
    form.set_values({"base_url": "https://api.example.com", "auth.method": "bearer"})
    form.set_read_only(True)
    qtbot.keyClicks(form.field_widget("base_url"), "zzz")
    assert form.values()["base_url"] == "https://api.example.com"
    assert not form.field_widget("auth").isEnabled() and not form.field_widget("verify_tls").isEnabled()
    assert form.field_widget("headers").isReadOnly() and form.field_widget("auth.token").isReadOnly()
    assert not form.field_widget("ca_file").browse_button.isEnabled()
    form.set_read_only(False)
    qtbot.keyClicks(form.field_widget("base_url"), "/v2")
    assert form.values()["base_url"] == "https://api.example.com/v2"
    assert form.field_widget("auth").isEnabled() and form.field_widget("ca_file").browse_button.isEnabled()


@pytest.mark.qt_log_ignore("propagateSizeHints")
def test_focus_leaving_a_field_validates_it(make_form, qtbot):
    form = make_form("postgres")
    form.show()
    qtbot.waitExposed(form)
    form.activateWindow()
    host, port = form.field_widget("host"), form.field_widget("port")
    port.setFocus()
    qtbot.waitUntil(port.hasFocus, timeout=1000)
    port.selectAll()
    qtbot.keyClicks(port, "0")
    host.setFocus()
    qtbot.waitUntil(host.hasFocus, timeout=1000)
    assert form.error_text("port") == "Must be at least 1"


def test_an_unknown_auth_method_falls_back_to_the_default(make_form):
    form = make_form("http")
    form.set_values({"base_url": "https://x.example", "auth.method": "kerberos"})
    assert form.values()["auth.method"] == "none"
    assert form.field_widget("auth").currentText() == "None"


def test_messages_stay_readable_on_a_dark_theme(make_form):
    from PySide6.QtGui import QColor

    form = make_form("postgres")
    dark = QPalette(form.palette())
    dark.setColor(QPalette.ColorRole.Window, QColor("#202124"))
    dark.setColor(QPalette.ColorRole.WindowText, QColor("#e8eaed"))
    form.setPalette(dark)
    form.show_errors({"port": "Must be at most 65535"})
    color = error_label(form, "port").palette().color(QPalette.ColorRole.WindowText)
    assert color.lightness() > 150 and color.red() > color.green(), "a light red on a dark background"
    help_color = form.field_widget("host").parentWidget().findChild(QLabel, "help").palette().color(
        QPalette.ColorRole.WindowText)
    assert 0x20 < help_color.lightness() < 0xe8


SOCKET_TYPES = [e.type for e in Registry.discover(plugins=False).entries() if e.manifest is not None
                and e.manifest.credentials.get("properties", {}).get("host", {}).get("format") == "host-or-socket"]


@pytest.mark.parametrize("type_name", SOCKET_TYPES)
def test_a_host_may_be_a_unix_socket_chosen_beside_it(make_form, qtbot, type_name):
    """"TCP host" or "Unix socket": the socket proposes the type's usual path that exists here, Browse… shows
    only for it, and going back restores the host typed before."""
    form = make_form(type_name)
    editor = form.field_widget("host")
    usual = editor.usual_socket()
    type_into(qtbot, editor.line_edit, "db.internal")
    assert editor.mode.currentText() == "TCP host" and not editor.browse_button.isVisibleTo(form)
    editor.mode.activated.emit(editor.SOCKET)
    assert editor.mode.currentText() == "Unix socket" and editor.browse_button.isVisibleTo(form)
    assert form.values().get("host") == (usual or None)
    if usual:
        assert not form.validate().get("host"), "a socket path is a valid host"
    editor.mode.activated.emit(editor.TCP)
    assert form.values()["host"] == "db.internal"
    form.set_values({"host": "/srv/sock/here.sock"})
    assert editor.mode.currentText() == "Unix socket", "a saved socket opens in socket mode"


def test_the_usual_socket_of_the_machines_servers_is_proposed(make_form):
    """This machine's PostgreSQL (a folder, libpq's rule) and MariaDB (the socket file) are where the
    manifests say Debian puts them."""
    import os

    for type_name, path in (("postgres", "/var/run/postgresql"), ("mysql", "/run/mysqld/mysqld.sock")):
        if not os.path.exists(path):
            continue
        assert make_form(type_name).field_widget("host").usual_socket() == path
