"""Names, tags, descriptions and identifiers: one validator refuses what cannot be seen or drives a terminal;
`terminal_safe` escapes untrusted text before the CLI prints it, keeping ordinary Unicode as it is."""

from __future__ import annotations

import sys
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connhub.core.fields import NOT_TEXT
from connhub.core.text import (
    TextError,
    check_text,
    clean_description,
    clean_identifier,
    clean_name,
    clean_tag,
    clean_tags,
    terminal_safe,
)

FAMILY = "👨\u200d👩\u200d👧"  # joined by zero-width joiners
SCOTLAND = "🏴\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f"  # a flag tag sequence
ORDINARY = ["Café crème", "東京 本番 DB", "Ünïcödé 🚀", FAMILY + " family", SCOTLAND + " prod", "שלום עולם",
            "مرحبا", "नमस्ते", "می\u200cخواهم"]  # Persian needs the zero-width non-joiner


# --- names -------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ORDINARY)
def test_ordinary_unicode_names_are_kept_as_they_are(name):
    assert clean_name(name) == name


@pytest.mark.parametrize("name, shown", [
    ("cache\x1b[2J", "an escape character (it can drive the terminal) (U+001B) at character 6"),
    ("\x1b]0;TITLE\x07cache", "an escape character (it can drive the terminal) (U+001B) at character 1"),
    ("db\x00prod", "a NUL character (U+0000) at character 3"),
    ("cache\x9b2J", "a control character (U+009B) at character 6"),  # C1 CSI: one byte on some terminals
    ("cache\x85", "a control character (U+0085) at character 6"),  # NEL, which str.split() would fold
    ("cache\x7f", "a control character (U+007F)"),
    ("cache\x1c", "a control character (U+001C)"),  # also whitespace to str.split()
    ("invoice\u202egpj.exe", "a bidirectional control character (it can show the text in another order than it "
                             "is stored) (U+202E) at character 8"),
    ("prod\u2066x\u2069", "a bidirectional control character"),
    ("prod\u200f", "a bidirectional control character"),
    ("pr\u200bod", "an invisible formatting character (U+200B) at character 3"),
    ("\ufeffprod", "an invisible formatting character (U+FEFF)"),
    ("pro\u00add", "an invisible formatting character (U+00AD)"),
    ("prod\U000e0041\U000e0042", "an invisible formatting character (U+E0041)"),  # tags outside a flag: hidden text
])
def test_control_bidi_and_invisible_characters_are_refused_with_where(name, shown):
    with pytest.raises(TextError) as caught:
        clean_name(name)
    assert caught.value.field == "name"
    assert caught.value.message.startswith(f"Contains {shown}") and caught.value.message.endswith(": remove it")
    assert caught.value.errors == {"name": caught.value.message}
    assert isinstance(caught.value, ValueError)


def test_a_lone_surrogate_says_what_is_storable_text_says():
    with pytest.raises(TextError) as caught:
        clean_name("cache\ud800")
    assert caught.value.message == NOT_TEXT


def test_whitespace_is_folded_and_blank_names_refused():
    assert clean_name("  my \t cache\n\r\nserver \u2028 x\u3000y ") == "my cache server x y"
    for blank in ("", "   ", "\n\t"):
        with pytest.raises(TextError, match="name: Give the instance a name"):
            clean_name(blank)
    with pytest.raises(TextError, match="workspace: Give the workspace a name"):
        clean_name(" ", what="workspace")


def test_length_limits_of_names_and_workspaces():
    assert clean_name("n" * 200) == "n" * 200
    with pytest.raises(TextError, match=r"name: Must be at most 200 characters \(it has 201\)"):
        clean_name("n" * 201)
    with pytest.raises(TextError, match=r"workspace: Must be at most 100 characters"):
        clean_name("w" * 101, what="workspace")
    assert clean_name("a   " * 60).count(" ") == 59  # the limit counts the folded name (179 characters)


@pytest.mark.parametrize("value, kind", [(None, "null"), (5, "a number"), (True, "true/false"),
                                         ({"a": 1}, "an object"), (["x"], "a list"), (b"x", "bytes")])
def test_a_name_that_is_not_text_is_refused_not_stringified(value, kind):
    with pytest.raises(TextError, match=f"name: The name must be text, not {kind}$"):
        clean_name(value)


def test_every_control_and_format_character_of_this_python_is_refused_but_the_joiners():
    allowed = {"\t", "\n", "\r", "\u200c", "\u200d"}
    missed = []
    for code in range(sys.maxunicode + 1):
        char = chr(code)
        if unicodedata.category(char) not in ("Cc", "Cf") or char in allowed:
            continue
        try:
            check_text(f"a{char}b", what="name")
        except TextError:
            continue
        missed.append(f"U+{code:04X}")
    assert missed == []


# --- tags ----------------------------------------------------------------------------------------------------

def test_tags_are_cleaned_deduplicated_and_ordered():
    assert clean_tags([" prod ", "Prod", "eu  west", "", "  ", "東京", "PROD", FAMILY]) == \
        ["prod", "eu west", "東京", FAMILY]
    assert clean_tags(None) == []
    assert clean_tags(("a", "b")) == ["a", "b"]


def test_a_100_kb_tag_is_refused():
    with pytest.raises(TextError, match=r"tags: Tag 2 is longer than 64 characters \(it has 100000\): shorten it"):
        clean_tags(["ok", "x" * 100_000])
    assert clean_tag("t" * 64) == "t" * 64


@pytest.mark.parametrize("value, kind", [({"a": 1}, "an object"), (None, "null"), (1, "a number"),
                                         (False, "true/false"), (["nested"], "a list")])
def test_non_text_tags_are_refused_instead_of_stringified(value, kind):
    with pytest.raises(TextError, match=f"^tags: Tag 2 must be text, not {kind}$"):
        clean_tags(["fine", value])


def test_a_single_string_is_not_split_into_letters_and_other_shapes_are_refused():
    with pytest.raises(TextError, match="Tags must be a list of text, not a single text"):
        clean_tags("prod")
    with pytest.raises(TextError, match="Tags must be a list of text, not an object"):
        clean_tags({"prod": True})
    with pytest.raises(TextError, match="Tags must be a list of text, not a number"):
        clean_tags(7)


def test_at_most_50_tags():
    assert len(clean_tags([f"t{i}" for i in range(50)] + ["T0", "t1"])) == 50  # repeats do not count
    with pytest.raises(TextError, match="At most 50 tags"):
        clean_tags([f"t{i}" for i in range(51)])


def test_control_characters_in_a_tag_say_which_tag():
    with pytest.raises(TextError, match=r"^tags: Tag 3 contains an escape character .* \(U\+001B\) at character 1"):
        clean_tags(["a", "b", "\x1b[31mred"])


# --- descriptions and identifiers -----------------------------------------------------------------------------

def test_descriptions_keep_lines_and_refuse_the_rest():
    assert clean_description("  Line one\r\n\tindented\rlast  \n") == "Line one\n\tindented\nlast"
    assert clean_description(None) == ""
    assert clean_description("x" * 2000) == "x" * 2000
    with pytest.raises(TextError, match=r"description: Must be at most 2000 characters \(it has 2001\)"):
        clean_description("x" * 2001)
    with pytest.raises(TextError, match="description: Contains an escape character"):
        clean_description("fine\n\x1b[2J")
    with pytest.raises(TextError, match="description: Contains a bidirectional control character"):
        clean_description("a\u202eb")
    with pytest.raises(TextError, match="The description must be text, not a number"):
        clean_description(3)


def test_identifiers_have_no_whitespace_inside():
    assert clean_identifier("  deploy-prod  ", what="action") == "deploy-prod"
    with pytest.raises(TextError, match="action: The action cannot contain spaces or line breaks"):
        clean_identifier("deploy prod", what="action")
    with pytest.raises(TextError, match="action: Give the action"):
        clean_identifier("  ", what="action")
    with pytest.raises(TextError, match="action: Contains a NUL character"):
        clean_identifier("a\x00", what="action")
    with pytest.raises(TextError, match="Must be at most 100 characters"):
        clean_identifier("a" * 101, what="action")


# --- terminal_safe ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("raw, shown", [
    ("\x1b[2Jcache", "\\x1b[2Jcache"),
    ("\x1b]0;TITLE\x07", "\\x1b]0;TITLE\\x07"),
    ("a\x9b2Jb", "a\\x9b2Jb"),
    ("db\x00", "db\\x00"),
    ("invoice\u202egpj.exe", "invoice\\u202egpj.exe"),
    ("x\u2066y\u2069", "x\\u2066y\\u2069"),
    ("two\nlines\r\tok", "two\\nlines\\r\\tok"),
    ("bad\udc80utf8", "bad\\udc80utf8"),  # what a non-UTF-8 byte becomes with surrogateescape
    ("hidden\U000e0041", "hidden\\U000e0041"),
    ("line\u2028sep", "line\\u2028sep"),
])
def test_untrusted_text_is_escaped_visibly(raw, shown):
    assert terminal_safe(raw) == shown


@pytest.mark.parametrize("text", ORDINARY + ["C:\\Users\\me", "100% \\x1b literal", "tab-free"])
def test_ordinary_text_is_printed_as_it_is(text):
    assert terminal_safe(text) == text


def test_keep_newlines_keeps_lines_and_tabs_but_not_carriage_returns():
    assert terminal_safe("error:\n\tdetail\rFAKE OK\x1b[1A", keep_newlines=True) == \
        "error:\n\tdetail\\rFAKE OK\\x1b[1A"


def test_anything_is_turned_into_text_first():
    assert terminal_safe(RuntimeError("boom\x1b[2J")) == "boom\\x1b[2J"
    assert terminal_safe(42) == "42"


_UNSAFE_ON_A_TERMINAL = {*map(chr, range(0x20)), *map(chr, range(0x7F, 0xA0)), "\u2028", "\u2029",
                         *"\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"}


@settings(max_examples=500, deadline=None, database=None)
@given(st.text(alphabet=st.characters(codec=None, exclude_categories=())) | st.lists(st.sampled_from(
    ["\x1b", "[", "]", "\x07", "\x9b", "\x9d", "\u202e", "\u2066", "\x00", "\n", "\r", "é", "東", "🚀", "\u200d",
     "🏴", "\U000e0067", "\U000e007f", "\ud800", "\\", "x"]), max_size=40).map("".join))
def test_terminal_safe_output_has_nothing_a_terminal_acts_on_and_encodes(text):
    out = terminal_safe(text)
    assert not (set(out) & _UNSAFE_ON_A_TERMINAL)
    out.encode("utf-8")  # printable on a UTF-8 terminal: no lone surrogate left
    assert terminal_safe(out) == out
    if not (set(text) & _UNSAFE_ON_A_TERMINAL) and not any("\ud800" <= c <= "\udfff" for c in text) \
            and not any(unicodedata.category(c) == "Cf" and c not in "\u200c\u200d" for c in text):
        assert out == text


@settings(max_examples=500, deadline=None, database=None)
@given(st.text(max_size=260) | st.lists(st.sampled_from(["\x1b", "\x00", "\u202e", " ", "\n", "\t", "a", "é",
                                                        "\u200b", "\ud800", "🚀"]), max_size=250).map("".join))
def test_a_name_is_refused_with_a_message_or_clean(text):
    try:
        name = clean_name(text)
    except TextError as error:
        assert error.field == "name" and error.message
        return
    assert 1 <= len(name) <= 200
    assert name == name.strip() and "  " not in name
    assert terminal_safe(name) == name  # a saved name never needs escaping
