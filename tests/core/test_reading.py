"""The one bounded reader for JSON and YAML inputs: hostile documents end in a DocumentError that says what is
wrong (and where), never in a traceback, a RecursionError or a machine out of memory."""

from __future__ import annotations

import io
import json
import math
import os
import threading

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connhub.core.reading import (
    DocumentError,
    DocumentTooDeep,
    DocumentTooLarge,
    parse_document,
    read_document,
)

BOTH = ("json", "yaml")


# --- size: refused before it is read whole ------------------------------------------------------------------

def test_a_200_mb_file_is_refused_from_its_size_before_it_is_read(tmp_path):
    big = tmp_path / "import.json"
    with open(big, "wb") as out:
        out.truncate(200 * 1024 * 1024)  # sparse: costs no disk, but stat says 200 MB
    with pytest.raises(DocumentTooLarge) as caught:
        read_document(big, max_bytes=32 * 1024 * 1024)
    # The exact size can only come from stat: a bounded read stops at 32 MB + 1 byte and cannot know it.
    assert str(caught.value) == f"{big}: is 200 MB, larger than the 32 MB connhub reads here"


class _Endless(io.RawIOBase):
    """A stream that never ends (a pipe someone keeps writing to), counting what was taken from it."""

    def __init__(self):
        self.taken = 0

    def readable(self):
        return True

    def readinto(self, buffer):
        buffer[:] = b" " * len(buffer)
        self.taken += len(buffer)
        return len(buffer)


def test_an_endless_stream_is_read_only_one_byte_past_the_limit():
    stream = _Endless()
    with pytest.raises(DocumentTooLarge, match="larger than the 1 KB connhub reads here"):
        read_document(stream, max_bytes=1024)
    assert stream.taken <= 1025


def test_dev_zero_is_refused_without_reading_it_all():
    with pytest.raises(DocumentTooLarge, match="^/dev/zero: is larger than the 4 KB"):
        read_document("/dev/zero", max_bytes=4096)


def test_stdin_through_a_real_pipe_is_read_and_named_in_messages():
    read_fd, write_fd = os.pipe()

    def feed():
        with os.fdopen(write_fd, "wb") as out:
            out.write(b'{"instances": [1, 2,')

    writer = threading.Thread(target=feed)
    writer.start()
    with os.fdopen(read_fd, "rb") as pipe:
        with pytest.raises(DocumentError) as caught:
            read_document(pipe, name="standard input")
    writer.join()
    assert str(caught.value).startswith("standard input: is not valid JSON")
    assert (caught.value.line, caught.value.column) == (1, 21)


def test_a_text_stream_is_read_through_its_bytes():
    stream = io.TextIOWrapper(io.BytesIO('{"name": "café ☕"}'.encode()), encoding="utf-8")
    assert read_document(stream) == {"name": "café ☕"}


def test_bytes_and_text_over_the_limit_are_refused():
    with pytest.raises(DocumentTooLarge):
        read_document(b"[1]" * 100, max_bytes=100)
    with pytest.raises(DocumentTooLarge):  # 60 characters, but 180 bytes of UTF-8
        parse_document('"' + "€" * 58 + '"', max_bytes=100)
    assert parse_document('"' + "€" * 30 + '"', max_bytes=100) == "€" * 30


# --- depth: counted without recursion -------------------------------------------------------------------------

@pytest.mark.parametrize("opener", ["[", "{\"a\":"])
def test_100k_levels_of_nesting_give_a_clear_error_with_a_position(opener):
    text = opener * 100_000
    with pytest.raises(DocumentTooDeep) as caught:
        parse_document(text, max_depth=64)
    error = caught.value
    assert "nested more than 64 levels deep" in str(error)
    assert error.line == 1 and error.column == 64 * len(opener) + 1  # the 65th opening bracket
    assert error.__cause__ is None and error.__context__ is None  # not a RecursionError caught late


def test_100k_levels_in_a_file_on_disk(tmp_path):
    path = tmp_path / "deep.json"
    path.write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(DocumentTooDeep, match=rf"^{path}: lists or objects are nested more than 64 levels deep"):
        read_document(path)


def test_nesting_up_to_the_limit_is_read_and_one_more_is_refused():
    value = parse_document("[" * 10 + "]" * 10, max_depth=10)
    for _ in range(9):
        (value,) = value
    assert value == []
    with pytest.raises(DocumentTooDeep) as caught:
        parse_document('{"a": [[' + "[" * 9 + "]" * 9 + "]]}", max_depth=10)
    assert (caught.value.line, caught.value.column) == (1, 16)  # the 11th opening bracket


def test_brackets_inside_strings_do_not_count():
    text = json.dumps({"a": "[" * 10_000, "b": "{\\\"[[[[", "c": ["]" * 500]})
    assert parse_document(text, max_depth=3) == json.loads(text)


def test_deep_yaml_both_flow_and_block_is_refused():
    with pytest.raises(DocumentTooDeep):
        parse_document("[" * 100_000, formats=("yaml",))
    block = "".join("  " * i + "- \n" for i in range(200))
    with pytest.raises(DocumentTooDeep, match="nested more than 64 levels"):
        parse_document(block, formats=("yaml",))
    with pytest.raises(DocumentTooDeep):
        parse_document("- " * 500 + "x", formats=("yaml",))


# --- values JSON does not have, and ambiguous documents -------------------------------------------------------

def test_a_duplicate_key_is_refused_not_last_wins():
    with pytest.raises(DocumentError, match='the key "host" appears twice in one object: keep one'):
        parse_document('{"host": "a", "port": 1, "host": "evil"}')
    with pytest.raises(DocumentError, match='the key "host" appears twice in one mapping') as caught:
        parse_document("host: a\nport: 1\nhost: evil\n", formats=("yaml",))
    assert (caught.value.line, caught.value.column) == (3, 1)
    assert parse_document('[{"a": 1}, {"a": 2}]') == [{"a": 1}, {"a": 2}]  # the same key in two objects is fine


@pytest.mark.parametrize("text", ["NaN", "[Infinity]", '{"a": -Infinity}', "1e999", "[-1e400]"])
def test_numbers_json_does_not_have_are_refused(text):
    with pytest.raises(DocumentError, match="is not valid JSON"):
        parse_document(text)


def test_an_integer_of_5000_digits_is_a_clear_error():
    with pytest.raises(DocumentError, match="a number has more than 4300 digits"):
        parse_document("1" * 5000)


def test_json_errors_say_line_and_column_and_the_file():
    with pytest.raises(DocumentError) as caught:
        parse_document('{\n  "a": 1,\n  "b" 2\n}', name="f.json")
    assert str(caught.value) == "f.json: is not valid JSON (Expecting ':' delimiter) at line 3, column 7"


def test_raw_control_characters_in_a_json_string_are_refused_and_escaped_ones_read():
    with pytest.raises(DocumentError, match="a control character inside a string") as caught:
        parse_document('{"name": "a\x1b[2Jb"}')
    assert caught.value.line == 1
    assert parse_document('{"name": "a\\u001b[2Jb"}') == {"name": "a\x1b[2Jb"}  # text checks come later


def test_not_utf8_is_refused_and_a_bom_is_accepted():
    with pytest.raises(DocumentError, match=r"is not UTF-8 text \(byte 7 cannot be decoded\)"):
        read_document(b'{"a": "\xff"}')
    assert read_document(b'\xef\xbb\xbf{"a": 1}') == {"a": 1}
    assert parse_document('\ufeff{"a": 1}') == {"a": 1}


@pytest.mark.parametrize("data", [b"", b"   \n\t", "\ufeff".encode()])
def test_an_empty_document_is_a_clear_error(data, tmp_path):
    with pytest.raises(DocumentError, match="^the input: there is nothing to read$"):
        read_document(data)
    path = tmp_path / "empty.json"
    path.write_bytes(data)
    with pytest.raises(DocumentError, match="the file is empty"):
        read_document(path)


def test_missing_files_folders_and_unreadable_files_are_clear_errors(tmp_path):
    with pytest.raises(DocumentError, match="no such file"):
        read_document(tmp_path / "missing.json")
    with pytest.raises(DocumentError, match="is a folder, not a file"):
        read_document(tmp_path)
    locked = tmp_path / "locked.json"
    locked.write_text("{}")
    locked.chmod(0)
    try:
        if os.geteuid() != 0:
            with pytest.raises(DocumentError, match="permission denied"):
                read_document(locked)
    finally:
        locked.chmod(0o600)


# --- YAML: safe, and JSON's values only -----------------------------------------------------------------------

BILLION_LAUGHS = """\
a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
"""


def test_a_yaml_alias_bomb_is_refused_before_anything_expands():
    with pytest.raises(DocumentError, match=r"YAML anchors and aliases \(&name, \*name\) are not accepted") as caught:
        parse_document(BILLION_LAUGHS, formats=("yaml",))
    assert (caught.value.line, caught.value.column) == (1, 4)


@pytest.mark.parametrize("text", ["a: &x 1\n", "base: &b {x: 1}\nother:\n  <<: *b\n", "a: *undefined\n"])
def test_any_anchor_or_alias_is_refused(text):
    with pytest.raises(DocumentError, match="anchors and aliases"):
        parse_document(text, formats=("yaml",))


@pytest.mark.parametrize("text, problem", [
    ("x: !!python/object/apply:os.system ['touch /tmp/pwned']", "the tag 'python/object/apply:os.system'"),
    ("x: !!binary aGVsbG8=", "the tag 'binary'"),
    ("x: !!set {a, b}", "the tag 'set'"),
    ("x: !custom 1", "the tag '!custom'"),
    ("x: .nan", ".nan and .inf are not accepted"),
    ("x: -.inf", ".nan and .inf are not accepted"),
    ("1: one", "the key 1 is not text: quote it"),
    ("null: x", "the key None is not text"),
    ("true: x", "the key True is not text"),
    ("? [a, b]\n: x", "the key ['a', 'b'] is not text"),
    ("<<: {a: 1}", "merge keys (<<) are not accepted"),
])
def test_yaml_values_beyond_json_are_refused(text, problem):
    with pytest.raises(DocumentError) as caught:
        parse_document(text, formats=("yaml",), name="w.yaml")
    assert problem in str(caught.value)
    assert caught.value.line is not None


def test_yaml_dates_stay_text_and_ordinary_documents_read():
    text = "name: nightly\nwhen: 2024-05-01\nat: 2024-05-01T10:00:00Z\nsteps:\n  - run: x\n    retries: 3\n" \
           "ratio: 0.5\nenabled: true\nnothing: null\n"
    assert parse_document(text, formats=("yaml",)) == {
        "name": "nightly", "when": "2024-05-01", "at": "2024-05-01T10:00:00Z",
        "steps": [{"run": "x", "retries": 3}], "ratio": 0.5, "enabled": True, "nothing": None}


def test_yaml_syntax_errors_and_control_characters_are_clear():
    with pytest.raises(DocumentError, match=r"is not valid YAML .* at line 2, column 1"):
        parse_document("a: [1, 2\n", formats=("yaml",))
    with pytest.raises(DocumentError, match="is not valid YAML .*control characters are not allowed"):
        parse_document("a: b\x1b[2J", formats=("yaml",))
    with pytest.raises(DocumentError, match="expected a single document"):
        parse_document("a\n---\nb\n", formats=("yaml",))


def test_the_suffix_picks_the_format_and_otherwise_the_first_character(tmp_path):
    (tmp_path / "w.yaml").write_text("{a: 1}")
    (tmp_path / "w.yml").write_text("a: 1")
    (tmp_path / "w.json").write_text("{a: 1}")
    assert read_document(tmp_path / "w.yaml", formats=BOTH) == {"a": 1}
    assert read_document(tmp_path / "w.yml", formats=BOTH) == {"a": 1}
    with pytest.raises(DocumentError, match="is not valid JSON"):  # a .json file is JSON, even if YAML could read it
        read_document(tmp_path / "w.json", formats=BOTH)
    assert read_document(b'{"a": [1]}', formats=BOTH) == {"a": [1]}
    assert read_document(b"{a: [1]}", formats=BOTH) == {"a": [1]}  # YAML's flow style
    assert read_document(b"a: b", formats=BOTH) == {"a": "b"}
    with pytest.raises(DocumentError, match="is not valid JSON"):  # neither: the JSON error is the one shown
        read_document(b'{"a": 1,, }', formats=BOTH)
    with pytest.raises(DocumentError, match="twice"):  # JSON that was refused is not retried as YAML
        read_document(b'{"a": 1, "a": 2}', formats=BOTH)
    with pytest.raises(DocumentError, match="is not valid JSON"):  # a YAML file where only JSON is read
        read_document(tmp_path / "w.yml")


def test_the_format_names_are_checked():
    with pytest.raises(ValueError, match="formats must be"):
        parse_document("{}", formats=("toml",))


# --- hypothesis: never a traceback, and a correct value when there is one -------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-2**64, max_value=2**64)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20)

hostile_chars = st.sampled_from(["[", "]", "{", "}", '"', "\\", ":", ",", "\x00", "\x1b", "\x7f", "\x9b",
                                 "\u202e", "\u2066", "\ud800", "&a", "*a", "!!", "- ", "\n", "  ", "NaN", "1e999",
                                 "é", "🚀", "\ufeff", "#", "'", "<<"])


def _nested(depth: int, opener: str) -> str:
    closer = {"[": "]", "{\"k\":": "}", "- ": ""}[opener]
    return opener * depth + ("0" if closer != "]" else "") + closer * depth


@settings(max_examples=400, deadline=None, database=None)
@given(data=st.binary(max_size=300) | st.lists(hostile_chars, max_size=60).map(lambda p: "".join(p).encode(
    "utf-8", "surrogatepass")) | st.tuples(st.integers(0, 200), st.sampled_from(["[", "{\"k\":", "- "])).map(
    lambda t: _nested(*t).encode()), formats=st.sampled_from([("json",), ("yaml",), BOTH]))
def test_random_bytes_give_a_json_value_or_a_document_error(data, formats):
    try:
        value = read_document(data, max_depth=64, formats=formats)
    except DocumentError as error:
        assert str(error) and "Traceback" not in str(error)
        assert error.__cause__ is None
        return
    # Whatever was read is JSON's kind of value: dumps with NaN refused and back gives the same.
    assert json.loads(json.dumps(value, allow_nan=False)) == value
    if formats == ("json",):
        assert value == json.loads(data.decode("utf-8-sig"))


@settings(max_examples=300, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(value=json_values)
def test_any_json_value_reads_back_equal_as_json_and_as_yaml(value):
    assert parse_document(json.dumps(value), max_depth=64) == value
    assert parse_document(json.dumps(value, ensure_ascii=False, indent=2).encode(), max_depth=64) == value
    as_yaml = yaml.safe_dump(value, allow_unicode=False)
    read = parse_document(as_yaml, formats=("yaml",), max_depth=64)
    assert read == value or (isinstance(value, float) and math.isclose(read, value))


def test_yaml_1_1_words_as_keys_are_the_words():
    """`on:` starts a workflow's trigger (as in GitHub Actions): PyYAML reads it as True, YAML 1.2 as text."""
    assert parse_document("on: {instance: gh}\nyes: 1\nOff: 2", formats=("yaml",)) == \
        {"on": {"instance": "gh"}, "yes": 1, "Off": 2}
    assert parse_document("key: on", formats=("yaml",)) == {"key": True}  # a value keeps YAML's meaning
