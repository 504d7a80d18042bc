"""Connection URLs → credential values, driven by the manifest's `url` section (no code per type).

What breaks other tools is handled here once: percent-encoded characters, `@`, `:` and `+` inside passwords,
IPv6 literals (zone ids too), a missing port (the field's default), query parameters mapped to fields (typed
and checked), unknown parameters reported rather than dropped, and malformed URLs refused with a message that
says what is wrong. No message repeats a part of the URL that could be a password.

Decisions (tests/core/test_urls.py pins each one):
- `+` is a literal plus everywhere, query values included (a connection URL is not a form body).
- A `%` that does not start a valid UTF-8 percent-encoding is an error (write a literal `%` as `%25`), as in
  libpq and Go, rather than being kept as typed (Python's default).
- `?`, `#` and `/` inside a password must be percent-encoded; `@`, `:` and `+` may be written as they are
  (the *last* `@` before the host ends the user info).
- A mapped query parameter given twice (or with an alias of it), or with an empty value, is an error; an
  unknown one is reported.
- A path of `/` is no path at all (`amqp://host/` is the default vhost, as aiormq and pika read it).
- A segment path is one segment: a `/` inside it must be written `%2F` (`amqp://host/%2F` is vhost `/`).
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from connhub.core.errors import ConfigError
from connhub.core.fields import FieldKind, FieldSpec, all_specs
from connhub.core.manifest import Manifest, UrlFormat

_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*$")
_BAD_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")
_ASCII_INT = re.compile(r"^[+-]?[0-9]+$")
_FRAGMENT = "a connection URL has no '#fragment': remove it, or percent-encode '#' as %23"
# When the host cannot be read and an '@' comes later, the '@' most likely ends a password that holds a '?':
# say so without repeating any of it.
_AMBIGUOUS = ("the host cannot be read: if the password contains '?', percent-encode it as %3F "
              "('/' as %2F, '#' as %23)")


class UrlError(ConfigError):
    """A URL that cannot be read as this type's connection URL; the message says why."""


@dataclass
class ParsedUrl:
    values: dict[str, Any]
    #: Query parameters this type does not know, kept so the caller can say so (`?foo=1` is not silently lost).
    unknown_params: list[str] = field(default_factory=list)
    #: The URL carried a user name, a password or a token (`user:password@`).
    userinfo: bool = False


def parse_url(manifest: Manifest, specs: list[FieldSpec], url: str) -> ParsedUrl:
    """Credential values (secrets included) from a connection URL of this type."""
    url = url.strip()
    if not manifest.url_schemes:
        raise UrlError(f"{manifest.name} has no connection URL form: fill in the fields instead")
    scheme, sep, rest = url.partition("://")
    if not sep or not _SCHEME.fullmatch(scheme):
        raise UrlError(f"not a URL: expected {manifest.url_schemes[0]}://…")
    scheme = scheme.lower()
    if scheme not in manifest.url_schemes:
        raise UrlError(f"scheme {scheme!r} is not one of {', '.join(manifest.url_schemes)}")
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in rest):
        raise UrlError("a URL cannot contain spaces or control characters: percent-encode a space as %20")
    if "#" in rest:
        raise UrlError(_FRAGMENT)
    fmt = manifest.url or UrlFormat()
    kinds = {spec.key: spec for spec in all_specs(specs)}
    values: dict[str, Any] = dict(fmt.scheme_values.get(scheme, {}))

    if fmt.base_url:
        return _parse_base_url(fmt, scheme, rest, values, kinds)
    rest, _, query = rest.partition("?")
    # The authority ends at the first '/' after the last '@': a password may contain '/' only encoded,
    # but '@' and ':' survive unencoded in the wild, so the *last* '@' separates credentials from host.
    at = rest.rfind("@", 0, _authority_end(rest))
    userinfo, hostport_path = (rest[:at], rest[at + 1:]) if at >= 0 else (None, rest)
    slash = hostport_path.find("/")
    hostport, path = (hostport_path, None) if slash < 0 else (hostport_path[:slash], hostport_path[slash:])

    has_userinfo = userinfo is not None and _take_userinfo(fmt, userinfo, values, kinds)
    try:
        host, port = _split_host_port(hostport)
        if host:
            if fmt.path_mode == "absolute" and (fmt.host is None or fmt.host not in kinds):
                raise UrlError(f"the file path must be absolute, after three slashes: {scheme}:///path/to/file")
            _put(values, fmt.host, host, "a host", kinds)
        elif fmt.host is not None and fmt.path_mode != "absolute":
            raise UrlError("the URL has no host: write it as scheme://host[:port]")
        if port is not None:
            _put(values, fmt.port, port, "a port", kinds)
        _take_path(fmt, path, values, kinds)
    except UrlError:
        if "@" in query:  # what failed may be the end of a password that holds a '?': repeat none of it
            raise UrlError(_AMBIGUOUS) from None
        raise
    unknown = _take_query(fmt, query, values, kinds)
    return ParsedUrl(values, unknown, has_userinfo)


def _take_userinfo(fmt: UrlFormat, userinfo: str, values: dict[str, Any], kinds: dict[str, FieldSpec]) -> bool:
    """Fill the user/password/token fields; False when the user info is empty (`scheme://@host`)."""
    raw_user, has_password, raw_password = userinfo.partition(":")
    user, password = _decode(raw_user, "user name"), _decode(raw_password, "password")
    if not user and not password:
        return False
    values.update(fmt.userinfo_values)
    if has_password:
        _put(values, fmt.user, user, "a user name", kinds)
        _put(values, fmt.password, password, "a password", kinds)
    elif fmt.lone_user:
        _put(values, fmt.lone_user, user, "a token", kinds)
    else:
        _put(values, fmt.user, user, "a user name", kinds)
    return True


def _take_path(fmt: UrlFormat, path: str | None, values: dict[str, Any], kinds: dict[str, FieldSpec]) -> None:
    if path is None or (path == "/" and fmt.path_mode != "absolute"):
        if fmt.path and fmt.path_default is not None:
            values[fmt.path] = fmt.path_default
        return
    if fmt.path_mode == "absolute":
        text = "/" + _decode(path, "path").lstrip("/")  # sqlite:////srv/app.db (SQLAlchemy's form) too
    else:
        raw = path[1:]
        if "/" in raw:
            raise UrlError("the path must be one name after the host: percent-encode a '/' inside it as %2F")
        text = _decode(raw, "path")
    if fmt.path_mode == "integer":
        if not (text.isascii() and text.isdigit()):
            raise UrlError(f"the path must be a number (e.g. /0), got {path!r}")
        _put(values, fmt.path, int(text), "a path", kinds)
    else:
        _put(values, fmt.path, text, "a path", kinds)


def _take_query(fmt: UrlFormat, query: str, values: dict[str, Any], kinds: dict[str, FieldSpec]) -> list[str]:
    unknown: list[str] = []
    seen: dict[str, str] = {}  # field → the parameter that set it (aliases share a field: ssl-mode, sslMode)
    for part in query.split("&"):
        if not part:
            continue  # `?` alone, `&&`
        raw_name, _, raw_value = part.partition("=")
        name = _decode(raw_name, "query parameter name")
        if "@" in name:
            raise UrlError(_AMBIGUOUS)
        if not name:
            raise UrlError("a query parameter has no name: write ?name=value")
        target = fmt.query.get(name)
        if target is None:
            if name not in unknown:
                unknown.append(name)
            continue
        if seen.get(target) == name:
            raise UrlError(f"query parameter {name!r} is given more than once: keep one")
        if target in seen:
            raise UrlError(f"query parameters {seen[target]!r} and {name!r} say the same thing: keep one")
        seen[target] = name
        value = _decode(raw_value, f"value of query parameter {name!r}")
        if value == "":
            raise UrlError(f"query parameter {name!r} has no value: write {name}=value, or remove it")
        values[target] = _typed(kinds.get(target), value, f"query parameter {name!r}")
    return unknown


def _parse_base_url(fmt: UrlFormat, scheme: str, rest: str, values: dict[str, Any],
                    kinds: dict[str, FieldSpec]) -> ParsedUrl:
    """The whole URL is the base URL; only `user:password@` is taken out of it (into the auth fields)."""
    head, query_mark, query = rest.partition("?")
    at = head.rfind("@", 0, _authority_end(head))
    has_userinfo = False
    if at >= 0:
        raw_user, _, raw_password = head[:at].partition(":")
        user, password = _decode(raw_user, "user name"), _decode(raw_password, "password")
        if user or password:
            has_userinfo = True
            values.update(fmt.userinfo_values)
            _put(values, fmt.user, user, "a user name", kinds)
            _put(values, fmt.password, password, "a password", kinds)
        head = head[at + 1:]
    try:
        host, _ = _split_host_port(head.split("/", 1)[0])
    except UrlError:
        if "@" in query:
            raise UrlError(_AMBIGUOUS) from None
        raise
    if not host:
        raise UrlError("the URL has no host: write it as scheme://host[:port]/path")
    values[fmt.base_url] = f"{scheme}://{head}{query_mark}{query}"
    return ParsedUrl(values, [], has_userinfo)


def _authority_end(rest: str) -> int:
    """Index where the path starts, looking past the last '@' (an unencoded '/' before it is part of a
    password only in malformed URLs, which then fail clearly)."""
    last_at = rest.rfind("@")
    slash = rest.find("/", last_at + 1)
    return len(rest) if slash < 0 else slash


def _split_host_port(hostport: str) -> tuple[str, int | None]:
    if "," in hostport:
        raise UrlError("a URL with several hosts is not supported: give one host")
    if hostport.startswith("["):
        end = hostport.find("]")
        if end < 0:
            raise UrlError(f"IPv6 address {hostport!r} is missing its closing ']'")
        host, after = _ipv6(hostport[1:end]), hostport[end + 1:]
        if after and not after.startswith(":"):
            raise UrlError(f"unexpected {after!r} after the IPv6 address: write [addr]:port")
        port_text = after[1:] if after else None
    elif hostport.count(":") > 1:
        if _is_ipv6(hostport):
            raise UrlError(f"IPv6 address {hostport!r} must be in brackets: [{hostport}]")
        raise UrlError(f"{hostport!r} is not host:port (an IPv6 address goes in brackets: [::1]:port)")
    else:
        raw_host, colon, port_text = hostport.partition(":")
        host = _decode(raw_host, "host")
        port_text = port_text if colon else None
    port = None
    if port_text is not None and port_text != "":
        if not (port_text.isascii() and port_text.isdigit()) or not 0 < int(port_text) < 65536:
            raise UrlError(f"port {port_text!r} is not a number from 1 to 65535")
        port = int(port_text)
    return host, port


def _ipv6(text: str) -> str:
    """The address inside `[…]`; a zone id may follow as `%25eth0` (RFC 6874) or, leniently, `%eth0`."""
    address, percent, zone = text.partition("%")
    if percent:
        zone = _decode(zone[2:] if zone.startswith("25") else zone, "IPv6 zone id")
        if not zone:
            raise UrlError(f"IPv6 address [{text}] has an empty zone id after '%'")
        address = f"{address}%{zone}"
    if not text:
        return ""
    if not _is_ipv6(address):
        raise UrlError(f"[{text}] is not an IPv6 address: only IPv6 addresses go in brackets")
    return address


def _is_ipv6(text: str) -> bool:
    try:
        ipaddress.IPv6Address(text)
    except ValueError:
        return False
    return True


def _decode(text: str, what: str) -> str:
    """Percent-decoding that keeps '+' (it is a literal plus outside form bodies) and refuses a stray '%'."""
    if _BAD_PERCENT.search(text):
        raise UrlError(f"the {what} has a '%' that is not followed by two hex digits: write a literal '%' as %25")
    try:
        return unquote(text, errors="strict")
    except UnicodeDecodeError:
        raise UrlError(f"the {what} has a percent-encoding that is not UTF-8") from None


def _put(values: dict[str, Any], target: str | None, value: Any, what: str, kinds: dict[str, FieldSpec]) -> None:
    if value == "":
        return  # `redis://:password@host` has an empty user: nothing to fill
    if target is None or target not in kinds:
        raise UrlError(f"this type's URL does not take {what}: remove it")
    values[target] = value if not isinstance(value, str) else _typed(kinds[target], value, what)


def _typed(spec: FieldSpec | None, raw: str, what: str) -> Any:
    if spec is None:
        return raw
    shown = "" if spec.secret else f", got {raw!r}"  # a secret is never repeated in a message
    if spec.kind is FieldKind.INTEGER:
        if not _ASCII_INT.fullmatch(raw):
            raise UrlError(f"{what} must be a whole number{shown}")
        return int(raw)
    if spec.kind is FieldKind.NUMBER:
        try:
            if not raw.isascii():
                raise ValueError(raw)
            return float(raw)
        except ValueError:
            raise UrlError(f"{what} must be a number{shown}") from None
    if spec.kind is FieldKind.BOOLEAN:
        lowered = raw.strip().lower()
        if lowered in ("1", "true", "yes", "on"):
            return True
        if lowered in ("0", "false", "no", "off"):
            return False
        raise UrlError(f"{what} must be true or false{shown}")
    if spec.kind is FieldKind.ENUM:
        for option in spec.options:
            if str(option) == raw:
                return option
        raise UrlError(f"{what} must be one of {', '.join(str(o) for o in spec.options)}{shown}")
    return raw


# --- helpers for callers -----------------------------------------------------------------------------------


def url_field_keys(manifest: Manifest) -> tuple[set[str], set[str]]:
    """(fields a URL always decides, fields its `user:password@` decides) for this type.

    The first set gets the URL's value or the field's default; the second only when the URL has user info.
    Other fields are out of the URL's reach (a CA file, extra headers) and a caller may keep their values.
    """
    if not manifest.url_schemes:
        return set(), set()
    fmt = manifest.url or UrlFormat()
    parts = (fmt.base_url,) if fmt.base_url else (fmt.host, fmt.port, fmt.path)
    always = {key for key in parts if key}
    always |= {key for implied in fmt.scheme_values.values() for key in implied}
    always |= set(fmt.query.values())
    userinfo = {key for key in (fmt.user, fmt.password, fmt.lone_user) if key} | set(fmt.userinfo_values)
    return always, userinfo - always


def example_url(manifest: Manifest, specs: list[FieldSpec]) -> str:
    """A placeholder such as `postgres://user:password@host:5432/database`, or "" for a type without URLs."""
    if not manifest.url_schemes:
        return ""
    fmt = manifest.url or UrlFormat()
    kinds = {spec.key: spec for spec in all_specs(specs)}
    scheme = manifest.url_schemes[0]
    if fmt.user in kinds and fmt.password in kinds:
        userinfo = "user:password@"
    elif fmt.lone_user in kinds:
        userinfo = "token@"
    else:
        userinfo = ""
    if fmt.base_url:
        base = kinds.get(fmt.base_url)
        sample = base.placeholder if base and "://" in base.placeholder else f"{scheme}://host/path"
        sample_scheme, _, after = sample.partition("://")
        return f"{sample_scheme}://{userinfo}{after}"
    if fmt.path_mode == "absolute":
        return f"{scheme}:///path/to/file"
    url = f"{scheme}://{userinfo}host"
    port = kinds.get(fmt.port) if fmt.port else None
    if port is not None and port.default is not None:
        url += f":{port.default}"
    path = kinds.get(fmt.path) if fmt.path else None
    if path is not None:
        url += f"/{path.default if fmt.path_mode == 'integer' and path.default is not None else path.key}"
    return url
