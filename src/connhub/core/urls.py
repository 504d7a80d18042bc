"""Connection URLs → credential values, driven by the manifest's `url` section (no code per type).

What breaks other tools is handled here once: percent-encoded characters, `@`, `:` and `+` inside passwords,
IPv6 literals, a missing port (the field's default), query parameters mapped to fields, unknown parameters
reported rather than dropped, and malformed URLs refused with a message that says what is wrong.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote

from connhub.core.errors import ConfigError
from connhub.core.fields import FieldKind, FieldSpec, all_specs
from connhub.core.manifest import Manifest, UrlFormat


class UrlError(ConfigError):
    """A URL that cannot be read as this type's connection URL; the message says why."""


@dataclass
class ParsedUrl:
    values: dict[str, Any]
    #: Query parameters this type does not know, kept so the caller can say so (`?foo=1` is not silently lost).
    unknown_params: list[str] = field(default_factory=list)


def parse_url(manifest: Manifest, specs: list[FieldSpec], url: str) -> ParsedUrl:
    """Credential values (secrets included) from a connection URL of this type."""
    url = url.strip()
    if not manifest.url_schemes:
        raise UrlError(f"{manifest.name} has no connection URL form: fill in the fields instead")
    scheme, sep, rest = url.partition("://")
    scheme = scheme.lower()
    if not sep or not scheme:
        raise UrlError(f"not a URL: expected {manifest.url_schemes[0]}://…")
    if scheme not in manifest.url_schemes:
        raise UrlError(f"scheme {scheme!r} is not one of {', '.join(manifest.url_schemes)}")
    if any(ch.isspace() for ch in rest):
        raise UrlError("a URL cannot contain spaces: percent-encode them as %20")
    fmt = manifest.url or UrlFormat()
    kinds = {spec.key: spec for spec in all_specs(specs)}
    values: dict[str, Any] = dict(fmt.scheme_values.get(scheme, {}))

    if fmt.base_url:
        return _parse_base_url(fmt, scheme, rest, values, kinds)
    rest, _, fragment = rest.partition("#")
    if fragment:
        raise UrlError("a connection URL has no '#fragment': remove it, or percent-encode '#' as %23")
    rest, _, query = rest.partition("?")
    # The authority ends at the first '/' after the last '@': a password may contain '/' only encoded,
    # but '@' and ':' survive unencoded in the wild, so the *last* '@' separates credentials from host.
    at = rest.rfind("@", 0, _authority_end(rest))
    userinfo, hostport_path = (rest[:at], rest[at + 1:]) if at >= 0 else (None, rest)
    slash = hostport_path.find("/")
    hostport, path = (hostport_path, None) if slash < 0 else (hostport_path[:slash], hostport_path[slash:])

    if userinfo is not None:
        values.update(fmt.userinfo_values)
        user, has_password, password = userinfo.partition(":")
        user, password = _decode(user, "user"), _decode(password, "password")
        if has_password:
            _put(values, fmt.user, user, "a user name", kinds)
            _put(values, fmt.password, password, "a password", kinds)
        elif fmt.lone_user:
            _put(values, fmt.lone_user, user, "a token", kinds)
        else:
            _put(values, fmt.user, user, "a user name", kinds)

    host, port = _split_host_port(hostport)
    if host:
        _put(values, fmt.host, host, "a host", kinds)
    elif fmt.host is not None and fmt.path_mode != "absolute":
        raise UrlError("the URL has no host: write it as scheme://host[:port]")
    if port is not None:
        _put(values, fmt.port, port, "a port", kinds)

    if path not in (None, "", "/") or (path == "/" and fmt.path_mode == "absolute"):
        text = path if fmt.path_mode == "absolute" else path[1:]
        text = _decode(text, "path")
        if fmt.path_mode == "integer":
            if not text.isdigit():
                raise UrlError(f"the path must be a number (e.g. /0), got {'/' + text!r}")
            _put(values, fmt.path, int(text), "a path", kinds)
        else:
            _put(values, fmt.path, text, "a path", kinds)
    elif path is None and fmt.path and fmt.path_default is not None:
        values[fmt.path] = fmt.path_default
    elif path == "/" and fmt.path and fmt.path_mode == "segment":
        values[fmt.path] = ""

    unknown = []
    for name, raw in parse_qsl(query, keep_blank_values=True):
        target = fmt.query.get(name)
        if target is None:
            unknown.append(name)
            continue
        values[target] = _typed(kinds.get(target), raw, f"query parameter {name!r}")
    return ParsedUrl(values, unknown)


def _parse_base_url(fmt: UrlFormat, scheme: str, rest: str, values: dict[str, Any],
                    kinds: dict[str, FieldSpec]) -> ParsedUrl:
    """The whole URL is the base URL; only `user:password@` is taken out of it (into the auth fields)."""
    head, query_mark, query = rest.partition("?")
    at = head.rfind("@", 0, _authority_end(head))
    if at >= 0:
        values.update(fmt.userinfo_values)
        user, _, password = head[:at].partition(":")
        _put(values, fmt.user, _decode(user, "user"), "a user name", kinds)
        if password:
            _put(values, fmt.password, _decode(password, "password"), "a password", kinds)
        head = head[at + 1:]
    host, _ = _split_host_port(head.split("/", 1)[0].split("#", 1)[0])
    if not host:
        raise UrlError("the URL has no host: write it as scheme://host[:port]/path")
    values[fmt.base_url] = f"{scheme}://{head}{query_mark}{query}"
    return ParsedUrl(values)


def _authority_end(rest: str) -> int:
    """Index where the path starts, looking past the last '@' (an unencoded '/' before it is part of a
    password only in malformed URLs, which then fail clearly)."""
    last_at = rest.rfind("@")
    slash = rest.find("/", last_at + 1)
    return len(rest) if slash < 0 else slash


def _split_host_port(hostport: str) -> tuple[str, int | None]:
    if hostport.startswith("["):
        end = hostport.find("]")
        if end < 0:
            raise UrlError(f"IPv6 address {hostport!r} is missing its closing ']'")
        host, after = hostport[1:end], hostport[end + 1:]
        if after and not after.startswith(":"):
            raise UrlError(f"unexpected {after!r} after the IPv6 address: write [addr]:port")
        port_text = after[1:] if after else None
    elif hostport.count(":") > 1:
        raise UrlError(f"IPv6 address {hostport!r} must be in brackets: [{hostport}]")
    else:
        host, _, port_text = hostport.partition(":")
        port_text = port_text if ":" in hostport else None
    port = None
    if port_text is not None and port_text != "":
        if not port_text.isdigit() or not 0 < int(port_text) < 65536:
            raise UrlError(f"port {port_text!r} is not a number from 1 to 65535")
        port = int(port_text)
    return unquote(host), port


def _decode(text: str, what: str) -> str:
    """Percent-decoding that keeps '+' (it is a literal plus outside form bodies)."""
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
    if spec.kind is FieldKind.INTEGER:
        try:
            return int(raw)
        except ValueError:
            raise UrlError(f"{what} must be a whole number, got {raw!r}") from None
    if spec.kind is FieldKind.NUMBER:
        try:
            return float(raw)
        except ValueError:
            raise UrlError(f"{what} must be a number, got {raw!r}") from None
    if spec.kind is FieldKind.BOOLEAN:
        lowered = raw.strip().lower()
        if lowered in ("1", "true", "yes", "on"):
            return True
        if lowered in ("0", "false", "no", "off"):
            return False
        raise UrlError(f"{what} must be true or false, got {raw!r}")
    return raw
