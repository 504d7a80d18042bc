"""One range for every timeout a person gives (the command line's --timeout, the saved setting): a finite
number of seconds from 0.1 to 600. NaN, infinity and 1e9 were accepted by `test --timeout`."""

from __future__ import annotations

import pytest

from connhub.core.context import TIMEOUT_RANGE, TimeoutOutOfRange, check_timeout


@pytest.mark.parametrize("given, seconds", [(0.1, 0.1), (600, 600.0), (10, 10.0), (2.5, 2.5), ("30", 30.0),
                                            (" 0.5 ", 0.5), ("6e2", 600.0)])
def test_a_timeout_in_range_comes_back_as_seconds(given, seconds):
    assert check_timeout(given) == seconds
    assert isinstance(check_timeout(given), float)


@pytest.mark.parametrize("given, shown", [
    (float("nan"), "nan"), (float("inf"), "inf"), (float("-inf"), "-inf"), (1e9, "1e+09"), (0, "0"),
    (0.09, "0.09"), (600.5, "600.5"), (-5, "-5"), ("nan", "nan"), ("inf", "inf"), ("1e9", "1e9"),
    ("ten", "ten"), ("", ""), ("1e999", "1e999"), (True, "bool"), (None, "NoneType"), ([10], "list"),
    (10**400, "a very large number"),
])
def test_anything_else_is_refused_with_the_range_in_the_message(given, shown):
    with pytest.raises(TimeoutOutOfRange) as caught:
        check_timeout(given)
    assert str(caught.value) == f"The timeout must be between 0.1 and 600 seconds (not {shown})"  # as the Hub says
    assert isinstance(caught.value, ValueError)


def test_the_range_is_the_settings_range():
    assert TIMEOUT_RANGE == (0.1, 600.0)
