"""Every field kind has its editor (gui/editor/field_editors.py): a new FieldKind without one fails here."""

from __future__ import annotations

import pytest

from connhub.core.fields import FieldKind, field_specs
from connhub.gui.editor.field_editors import EDITORS, FieldEditor

# One field of each kind, with a value a user could type or pick.
SCHEMA = {
    "type": "object",
    "properties": {
        "text": {"type": "string", "title": "Text"},
        "password": {"type": "string", "title": "Password", "writeOnly": True},
        "multiline": {"type": "string", "title": "Key", "format": "multiline"},
        "integer": {"type": "integer", "title": "Port", "minimum": 1, "maximum": 65535},
        "number": {"type": "number", "title": "Timeout"},
        "boolean": {"type": "boolean", "title": "TLS"},
        "enum": {"type": "string", "title": "Mode", "enum": ["a", "b"]},
        "file": {"type": "string", "title": "CA file", "format": "file-path"},
        "auth": {"oneOf": [
            {"title": "None", "properties": {"method": {"const": "none"}}},
            {"title": "Basic", "properties": {"method": {"const": "basic"}, "user": {"type": "string"}}},
        ]},
    },
}
VALUES = {"text": "db.example", "password": " s3cret ", "multiline": "-----BEGIN-----\nabc\n", "integer": 6543,
          "number": 2.5, "boolean": True, "enum": "b", "file": "/etc/ssl/ca.pem", "auth.method": "basic",
          "auth.user": "alice"}


@pytest.mark.parametrize("kind", list(FieldKind))
def test_every_field_kind_has_an_editor(kind):
    assert isinstance(EDITORS.get(kind), FieldEditor), f"no editor for {kind}: add a class in field_editors.py"
    assert EDITORS[kind].kind is kind


def test_each_kinds_editor_writes_and_reads_back_what_the_user_sees(make_form):
    specs = field_specs(SCHEMA)
    kinds = {spec.kind for spec in specs} | {s.kind for spec in specs for c in spec.choices for s in c.fields}
    assert kinds == set(FieldKind), f"give SCHEMA a field of kind {set(FieldKind) - kinds}"
    form = make_form(specs=specs, schema=SCHEMA)
    form.set_values(VALUES)
    assert form.values() == VALUES
    assert form.field_widget("integer").placeholderText() == "1–65535"
    assert form.field_widget("boolean").text() == "TLS", "a check box carries its own title"
