"""Round trip (issue 24): for every built-in type with connection URLs, generated values → `format_url` in each of
its styles (its URL, libpq keywords, JDBC, SQLAlchemy) → `parse_url` → the same values; and no secret is ever
written. The types and their parts come from the registry, not a list kept here."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connhub.core.fields import FieldKind, all_specs, defaults
from connhub.core.manifest import UrlFormat
from connhub.core.url_forms import format_url, url_styles
from connhub.core.urls import (
    PART_PARAMS,
    SECRET_LIKE,
    UrlError,
    join_hosts,
    parse_url,
    split_hosts,
    url_field_keys,
)
from connhub.plugins.registry import Registry

REGISTRY = Registry.discover(plugins=False)
TYPES = [e for e in REGISTRY.entries() if e.ok and e.manifest.url_schemes
         and not (e.manifest.url and e.manifest.url.base_url)]
CANARY = "Canary-Secret-91b7"

hostnames = st.from_regex(r"\A[a-z][a-z0-9-]{0,20}(\.[a-z][a-z0-9-]{0,10}){0,2}\Z")
hosts = st.one_of(hostnames, st.ip_addresses(v=4).map(str), st.ip_addresses(v=6).map(str))
texts = st.text(st.characters(min_codepoint=33, max_codepoint=0x2FF, exclude_characters="\x7f"), min_size=1,
                max_size=20)


def _strategy(spec):
    if spec.kind is FieldKind.INTEGER:
        low = int(spec.minimum) if spec.minimum is not None else 0
        high = int(spec.maximum) if spec.maximum is not None else 10_000
        return st.integers(low, high)
    if spec.kind is FieldKind.NUMBER:
        low = float(spec.minimum) if spec.minimum is not None else 0.0
        high = float(spec.maximum) if spec.maximum is not None else 1e6
        return st.floats(low, high, allow_nan=False, allow_infinity=False)
    if spec.kind is FieldKind.BOOLEAN:
        return st.booleans()
    if spec.kind is FieldKind.ENUM:
        return st.sampled_from(list(spec.options))
    return texts


def values_of(entry):
    """A strategy for the values a URL of this type decides (the secrets too: they must never come out)."""
    fmt = entry.manifest.url or UrlFormat()
    kinds = {s.key: s for s in all_specs(entry.specs)}
    always, by_userinfo = url_field_keys(entry.manifest)
    parts = {}
    for key in sorted((always | by_userinfo) & set(kinds)):
        spec = kinds[key]
        if key == fmt.host:
            fmt_name = entry.manifest.credentials.get("properties", {}).get(key, {}).get("format")
            parts[key] = st.one_of(hosts, st.just("/var/run/postgresql")) if fmt_name == "host-or-socket" else hosts
        elif key == fmt.extra:  # driver options kept as name=value lines: names no mapped parameter has
            taken = set(fmt.query) | set(PART_PARAMS) | {fmt.socket_param, "db", "username"}
            names = st.from_regex(r"\A[a-z][a-z_]{0,10}\Z").filter(
                lambda n: n not in taken and not SECRET_LIKE.search(n))  # secret-like ones are never kept
            parts[key] = st.lists(st.tuples(names, st.from_regex(r"\A[A-Za-z0-9_]{1,8}\Z")), max_size=3,
                                  unique_by=lambda pair: pair[0]).map(
                lambda pairs: "\n".join(f"{n}={v}" for n, v in pairs) or None)
        elif key == fmt.more_hosts:  # libpq's host list: a few more hosts, some with a port
            parts[key] = st.lists(st.tuples(hosts, st.one_of(st.none(), st.integers(1, 65535))), max_size=3).map(
                lambda more: join_hosts(more) if more else None)
        elif key == fmt.path and fmt.path_mode == "absolute":
            parts[key] = texts.map(lambda t: "/srv/" + t.replace("/", "_"))
        elif spec.secret:
            parts[key] = st.just(CANARY)
        elif any(key in implied for implied in fmt.scheme_values.values()):
            continue  # the scheme decides it
        else:
            parts[key] = _strategy(spec)
    return st.fixed_dictionaries(parts)


@pytest.mark.parametrize("entry", TYPES, ids=[e.type for e in TYPES])
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_every_style_reads_back_to_the_same_values_without_secrets(entry, data):
    values = data.draw(values_of(entry))
    kinds = {s.key: s for s in all_specs(entry.specs)}
    fmt = entry.manifest.url or UrlFormat()
    base = defaults(entry.specs)
    for scheme_implied in fmt.scheme_values.values():  # a scheme's implied values: drawn as a whole scheme
        if all(k in kinds for k in scheme_implied):
            values.update(data.draw(st.sampled_from([dict(v) for v in fmt.scheme_values.values()])))
            break
    if str(values.get(fmt.host, "")).startswith("/") and "unix" in fmt.scheme_values:
        values.update(fmt.scheme_values["unix"])  # a Unix socket has no TLS: unix:// says so
        values.pop(fmt.port, None)  # nor a port (the socket file is the address)
    if values.get(fmt.more_hosts):  # its one spelling: a port equal to Port is the same as none
        main = values.get(fmt.port, base.get(fmt.port))
        values[fmt.more_hosts] = join_hosts(split_hosts(values[fmt.more_hosts]), main)
    if str(values.get(fmt.host, "")).startswith("/") and fmt.socket_param:
        values.pop(fmt.port, None)  # ?unix_socket=/path: the socket file is the address, a port means nothing
    for style in url_styles(entry.manifest):
        try:
            text = format_url(entry.manifest, entry.specs, values, style)
        except UrlError as exc:
            assert (style == "jdbc" and "socket" in str(exc)) or (style == "sqlalchemy" and "one host" in str(exc)) \
                or "only the libpq form" in str(exc)
            continue
        assert CANARY not in text, (style, text)
        back = {**base, **parse_url(entry.manifest, entry.specs, text).values}
        expected = {**base, **{k: v for k, v in values.items() if not (k in kinds and kinds[k].secret)}}
        if fmt.user in values and values[fmt.user] not in (None, ""):
            expected.update(fmt.userinfo_values)  # a user in the URL implies its sign-in method
        if fmt.path_default is not None and fmt.path in expected and expected[fmt.path] in (None, ""):
            expected[fmt.path] = fmt.path_default
        shared = {k: back.get(k) for k in expected if not (k in kinds and kinds[k].secret)}
        assert shared == {k: expected[k] for k in shared}, (style, text)


def test_every_url_type_has_at_least_its_own_url():
    assert TYPES, "no type with connection URLs found"
    for entry in TYPES:
        assert url_styles(entry.manifest)[0] == "url"
