"""The JSONPath subset: what it accepts, what it refuses (with the fix), and that it cannot run away."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connhub.core.jsonpath import MAX_STEPS, JsonPathError, compile_path, format_location


@pytest.mark.parametrize(("text", "steps", "singular"), [
    ("$", (), True),
    ("$.items", ("items",), True),
    ("$.data.id", ("data", "id"), True),
    ("$.items[0]", ("items", 0), True),
    ("$.items[-1]", ("items", -1), True),
    ("$['odd key'].x", ("odd key", "x"), True),
    ('$["it\'s"]', ("it's",), True),
    ("$['a\\'b']", ("a'b",), True),
    ("$.errorMessages[0]", ("errorMessages", 0), True),
    ("$.x-rate", ("x-rate",), True),
])
def test_singular_paths(text, steps, singular):
    path = compile_path(text)
    assert path.steps == steps and path.singular is singular


def test_wildcards_make_a_path_plural():
    assert not compile_path("$.items[*].id").singular
    assert not compile_path("$.data.*").singular


@pytest.mark.parametrize(("text", "message"), [
    ("", "JSONPath is empty: write '$' for the whole answer, or e.g. '$.items[*]'"),
    (".items", "JSONPath '.items' must start with '$' (the whole answer): write '$.items'"),
    ("$items", "JSONPath '$items' has 'i' at character 2: join keys with '.' and write indexes as [0] or [*]"),
    ("$['open", "JSONPath \"$['open\" has an unfinished '[' at character 2: write [0], [*] or ['key']"),
    ("$['a'x]", "JSONPath \"$['a'x]\" has an unfinished '[' at character 2: write [0], [*] or ['key']"),
    ("$[abc]", "JSONPath '$[abc]' has an unfinished '[' at character 2: write [0], [*] or ['key']"),
    ("$.a b", "JSONPath '$.a b' has ' ' at character 4: join keys with '.' and write indexes as [0] or [*]"),
    ("$[(@.length-1)]", "JSONPath '$[(@.length-1)]' uses a filter or script, which connhub does not support: "
                        "select with keys, indexes and [*] only"),
    ("$[:2]", "JSONPath '$[:2]' uses a slice, which connhub does not support: use [*] or one index"),
])
def test_refused_paths_say_what_to_write(text, message):
    with pytest.raises(JsonPathError) as info:
        compile_path(text)
    assert str(info.value) == message


def test_not_text():
    with pytest.raises(JsonPathError, match="is not a JSONPath: write it as text"):
        compile_path(["$"])


def test_long_paths_are_refused():
    with pytest.raises(JsonPathError, match=f"more than {MAX_STEPS} steps"):
        compile_path("$" + ".a" * (MAX_STEPS + 1))
    with pytest.raises(JsonPathError, match="longer than 300 characters"):
        compile_path("$." + "a" * 400)


@given(st.text(max_size=60))
def test_any_text_compiles_or_is_refused_with_a_message(text):
    try:
        path = compile_path(text)
    except JsonPathError as exc:
        assert str(exc)
        return
    assert path.text == text and len(path.steps) <= MAX_STEPS


@given(st.lists(st.text(max_size=8) | st.integers(min_value=-10**6, max_value=10**6), max_size=10))
def test_a_location_reads_back_as_the_same_steps(parts):
    """What result-schema errors print (`$.rows[3]['odd key']`) is itself a path of the subset."""
    assert compile_path(format_location(parts)).steps == tuple(parts)
