"""One rule for the text people name things with, and one way to print text that came from elsewhere.

Names, tags, descriptions and identifiers arrive from the CLI, the window and import files; each goes through
one function here that returns the cleaned value or raises `TextError` with the message to show. They refuse
what a person cannot see or that changes how the text around it is shown: control characters (C0, DEL, C1,
NUL), bidirectional overrides, embeddings, isolates and marks (a name that reads "prod" but is stored
"dorp"), and invisible format characters (zero-width spaces, soft hyphens, BOMs, tag characters). Zero-width
joiners and non-joiners are kept (emoji sequences and several scripts need them), and so are tag characters
inside an emoji flag sequence (🏴 + tags). Ordinary whitespace in a name is folded to single spaces.

`terminal_safe` is the other half: text connhub did not write (a provider's error_description, a server's
banner, an error body, a name from an older database) is escaped before the CLI prints it, so that it can
never move the cursor, clear the screen, set the window title or reorder the line.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from connhub.core.fields import NOT_TEXT

NAME_LIMIT = 200
WORKSPACE_LIMIT = 100
TAG_LIMIT = 64
TAGS_LIMIT = 50
DESCRIPTION_LIMIT = 2000
IDENTIFIER_LIMIT = 100

_BIDI = "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
# Unicode's format characters (category Cf) but the joiners and the bidi ones above; tag characters apart.
_FORMAT = ("\u00ad\u0600-\u0605\u06dd\u070f\u0890\u0891\u08e2\u180e\u200b\u2060-\u2064\u206a-\u206f\ufeff"
           "\ufff9-\ufffb\U000110bd\U000110cd\U00013430-\U0001343f\U0001bca0-\U0001bca3\U0001d173-\U0001d17a"
           "\U000e0001")
_TAGS = "\U000e0020-\U000e007f"
_FLAG = "\U0001f3f4"
_SURROGATE = "\ud800-\udfff"
# A run of tag characters that does not follow a black flag (or another tag character of its run).
_LOOSE_TAGS = f"(?<![{_FLAG}{_TAGS}])[{_TAGS}]+"

#: Refused in every kind of text; \t \n \r are left to each kind (folded in names, kept in descriptions).
_REFUSED = re.compile(f"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f{_BIDI}{_FORMAT}{_SURROGATE}]|{_LOOSE_TAGS}")
#: Escaped on a terminal: the same, plus \t \n \r and the line and paragraph separators.
_UNPRINTABLE = re.compile(f"[\x00-\x1f\x7f-\x9f\u2028\u2029{_BIDI}{_FORMAT}{_SURROGATE}]|{_LOOSE_TAGS}")
_UNPRINTABLE_BUT_LINES = re.compile(f"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029{_BIDI}{_FORMAT}{_SURROGATE}]"
                                    f"|{_LOOSE_TAGS}")
_SHORT_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


class TextError(ValueError):
    """A name, tag, description or identifier that cannot be saved. `field` and `message` are what a form
    shows beside the field; `errors` is the same as {field: message}."""

    def __init__(self, field: str, message: str):
        self.field, self.message = field, message
        super().__init__(f"{field}: {message}")

    @property
    def errors(self) -> dict[str, str]:
        return {self.field: self.message}


# --- the kinds of text --------------------------------------------------------------------------------------

def clean_name(value: Any, *, what: str = "name", limit: int | None = None) -> str:
    """An instance's (or a workspace's, with what="workspace") name: text, whitespace folded to single spaces,
    1 to 200 characters (100 for anything but an instance name, as the Hub has it)."""
    limit = limit if limit is not None else (NAME_LIMIT if what == "name" else WORKSPACE_LIMIT)
    _check_type(value, what, "The name" if what == "name" else f"The {what}")
    check_text(value, what=what)
    name = " ".join(value.split())
    if not name:
        raise TextError(what, "Give the instance a name" if what == "name" else f"Give the {what} a name")
    _check_length(name, what, limit)
    return name


def clean_tag(value: Any, *, position: int | None = None) -> str:
    """One tag: text, whitespace folded, at most 64 characters; "" for a blank one (which clean_tags drops)."""
    which = f"Tag {position}" if position is not None else "A tag"
    _check_type(value, "tags", which)
    check_text(value, what="tags", subject=which)
    tag = " ".join(value.split())
    if len(tag) > TAG_LIMIT:
        raise TextError("tags", f"{which} is longer than {TAG_LIMIT} characters (it has {len(tag)}): shorten it")
    return tag


def clean_tags(tags: Any) -> list[str]:
    """A list of tags: each cleaned, blanks dropped, repeats (compared without case) dropped, order kept;
    at most 50. None is no tags; a single string is refused rather than split into its letters."""
    if tags is None:
        return []
    if isinstance(tags, (str, bytes, dict)) or not isinstance(tags, Iterable):
        raise TextError("tags", f"Tags must be a list of text, not {_kind(tags)}")
    seen: dict[str, str] = {}
    for position, value in enumerate(tags, start=1):
        tag = clean_tag(value, position=position)
        if tag and tag.casefold() not in seen:
            seen[tag.casefold()] = tag
            if len(seen) > TAGS_LIMIT:
                raise TextError("tags", f"At most {TAGS_LIMIT} tags: remove some")
    return list(seen.values())


def clean_description(value: Any, *, what: str = "description", limit: int = DESCRIPTION_LIMIT) -> str:
    """Free text over several lines: newlines and tabs kept (\r\n becomes \n), outer whitespace trimmed, at most
    2000 characters; None is "". Other control and invisible characters are refused as in names."""
    if value is None:
        return ""
    _check_type(value, what, f"The {what}")
    check_text(value, what=what, multiline=True)
    text = value.replace("\r\n", "\n").replace("\r", "\n").strip()
    _check_length(text, what, limit)
    return text


def clean_identifier(value: Any, *, what: str, limit: int = IDENTIFIER_LIMIT) -> str:
    """A key, id or short code a person types (an action's name, a webhook id): like a name, but no whitespace
    inside at all."""
    _check_type(value, what, f"The {what}")
    check_text(value, what=what)
    text = value.strip()
    if not text:
        raise TextError(what, f"Give the {what}")
    if any(ch.isspace() for ch in text):
        raise TextError(what, f"The {what} cannot contain spaces or line breaks")
    _check_length(text, what, limit)
    return text


def check_text(value: str, *, what: str, multiline: bool = False, subject: str = "") -> None:
    """Raise TextError if `value` holds a character refused in any text a person names things with. Tabs and
    line breaks are allowed here: a name folds them, a description keeps them."""
    found = _REFUSED.search(value)
    if found is None:
        return
    position, char = found.start(), found.group()[0]
    subject = f"{subject} contains" if subject else "Contains"
    if "\ud800" <= char <= "\udfff":
        raise TextError(what, NOT_TEXT)
    raise TextError(what, f"{subject} {_describe(char)} (U+{ord(char):04X}) at character {position + 1}: "
                          "remove it")


def _describe(char: str) -> str:
    if char == "\x00":
        return "a NUL character"
    if char == "\x1b":
        return "an escape character (it can drive the terminal)"
    if char <= "\x1f" or "\x7f" <= char <= "\x9f":
        return "a control character"
    if re.fullmatch(f"[{_BIDI}]", char):
        return "a bidirectional control character (it can show the text in another order than it is stored)"
    return "an invisible formatting character"


def _check_type(value: Any, what: str, subject: str) -> None:
    if not isinstance(value, str):
        raise TextError(what, f"{subject} must be text, not {_kind(value)}")


def _check_length(text: str, what: str, limit: int) -> None:
    if len(text) > limit:
        raise TextError(what, f"Must be at most {limit} characters (it has {len(text)})")


def _kind(value: Any) -> str:
    """How a person would call the value's type (as JSON names them: an import file is JSON)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, (list, tuple, set)):
        return "a list"
    if isinstance(value, str):
        return "a single text"
    if isinstance(value, bytes):
        return "bytes"
    return type(value).__name__


# --- printing -----------------------------------------------------------------------------------------------

def terminal_safe(text: Any, *, keep_newlines: bool = False) -> str:
    """`text` with every character that could drive a terminal or hide in it written as a visible escape
    (ESC → \\x1b, U+202E → \\u202e, a lone surrogate → \\udc80, a newline → \\n); accents, CJK and emoji
    stay as they are. With keep_newlines, \\n and \\t stay (a multi-line message), \\r does not."""
    if not isinstance(text, str):
        text = str(text)
    pattern = _UNPRINTABLE_BUT_LINES if keep_newlines else _UNPRINTABLE
    if pattern.search(text) is None:
        return text
    return pattern.sub(_escape, text)


def _escape(match: re.Match[str]) -> str:
    return "".join(_SHORT_ESCAPES.get(ch) or (f"\\x{ord(ch):02x}" if ord(ch) <= 0xFF else
                                             f"\\u{ord(ch):04x}" if ord(ch) <= 0xFFFF else f"\\U{ord(ch):08x}")
                   for ch in match.group())
