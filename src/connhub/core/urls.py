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
- What users paste from elsewhere reads the same (`read_pasted`): a JDBC URL (`jdbc:postgresql://…`,
  user and password as query parameters), a SQLAlchemy URL with a `+driver` suffix (the driver kept as a
  hint), and for libpq's schemes a keyword/value string (`host=db port=5432 dbname=orders`). libpq's and
  JDBC's own query parameters `host`, `port`, `user`, `password` and `dbname`/`database` fill the URL's
  parts when the type does not map them otherwise (`postgresql:///mydb?host=localhost&port=5433`).
- A type's socket parameter (MySQL's `?unix_socket=/run/mysqld/mysqld.sock`) fills the host field with the
  socket's path; beside a host of `localhost` it wins (both MySQL and libpq read `localhost` so), beside any
  other host it is a clash.
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
    #: The driver a SQLAlchemy URL named (`postgresql+psycopg://` → "psycopg"); connhub uses its own.
    driver_hint: str | None = None
    #: What the pasted text was read as: "url", "jdbc", "sqlalchemy" or "keywords".
    form: str = "url"
    #: Parameters it maps to no field but keeps in its `extra` field for the driver (the caller warns).
    kept_params: list[str] = field(default_factory=list)


#: libpq's URL schemes: only their types read libpq's keyword/value strings.
LIBPQ_SCHEMES = ("postgresql", "postgres")
#: Query parameters libpq and JDBC drivers read as the URL's own parts: name → the `UrlFormat` part it fills.
PART_PARAMS = {"host": "host", "port": "port", "user": "user", "password": "password", "dbname": "path",
               "database": "path", "db": "path"}
#: redis-py's form for a Unix socket: `unix://[user[:password]@]/path/to/socket?db=N` (the path is the host).
UNIX_SCHEME = "unix"
_KEYWORD = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*")


def parse_url(manifest: Manifest, specs: list[FieldSpec], url: str) -> ParsedUrl:
    """Credential values (secrets included) from a connection URL of this type, or any form `read_pasted`
    knows (JDBC, SQLAlchemy, libpq keyword/value)."""
    url = url.strip()
    if not manifest.url_schemes:
        raise UrlError(f"{manifest.name} has no connection URL form: fill in the fields instead")
    form, driver = "url", None
    if url[:5].lower() == "jdbc:" and url[5:].partition("://")[0].lower() in manifest.url_schemes:
        url, form = url[5:], "jdbc"
    if "://" not in url and _KEYWORD.match(url) and set(LIBPQ_SCHEMES) & set(manifest.url_schemes):
        return _parse_keywords(manifest, specs, url)
    scheme, sep, rest = url.partition("://")
    if not sep or not _SCHEME.fullmatch(scheme):
        raise UrlError(f"not a URL: expected {manifest.url_schemes[0]}://…")
    scheme = scheme.lower()
    base, plus, driver_name = scheme.partition("+")
    if plus and base in manifest.url_schemes and re.fullmatch(r"[a-z][a-z0-9_]*", driver_name):
        scheme, driver, form = base, driver_name, "sqlalchemy"
    if scheme not in manifest.url_schemes:
        raise UrlError(f"scheme {scheme!r} is not one of {', '.join(manifest.url_schemes)}")
    parsed = _parse_parts(manifest, specs, scheme, rest)
    parsed.form, parsed.driver_hint = form, driver
    return parsed


def _keep_extra(fmt: UrlFormat, kinds: dict[str, FieldSpec], pairs: list[tuple[str, str]], values: dict[str, Any],
                unknown: list[str]) -> list[str]:
    """Move the unknown parameters (name, value) into the type's `extra` field, one `name=value` a line; the
    names kept. A name given twice is refused as a mapped one is."""
    if fmt.extra is None or fmt.extra not in kinds or not pairs:
        return []
    if fmt.extra_as:
        pairs = [unpacked for name, value in pairs
                 for unpacked in (_command_line_options(value) if name == fmt.extra_as else [(name, value)])]
    pairs = [(name, value) for name, value in pairs if not SECRET_LIKE.search(name)]  # never kept as plain config
    if not pairs:
        return []
    kept: list[str] = []
    for name, value in pairs:
        if name in kept:
            raise UrlError(f"query parameter {name!r} is given more than once: keep one")
        if value == "":
            raise UrlError(f"query parameter {name!r} has no value: write {name}=value, or remove it")
        if not EXTRA_NAME.fullmatch(name):
            raise UrlError(f"query parameter {name!r} is not a name a driver option can have")
        kept.append(name)
    lines = [line for line in str(values.get(fmt.extra) or "").splitlines() if line.strip()]
    values[fmt.extra] = "\n".join(lines + [f"{name}={value}" for name, value in pairs])
    unknown[:] = [name for name in unknown if name not in kept]
    return kept


def _command_line_options(text: str) -> list[tuple[str, str]]:
    """libpq's `options`: `-c name=value` (or `-cname=value`, `--name=value`) each, a backslash escaping the
    next character (a space inside a value is `\\ `)."""
    words, word, escaped = [], [], False
    for ch in text + " ":
        if escaped:
            word.append(ch)
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch.isspace():
            if word:
                words.append("".join(word))
            word = []
        else:
            word.append(ch)
    pairs, i = [], 0
    while i < len(words):
        word = words[i]
        if word == "-c" and i + 1 < len(words):
            word, i = words[i + 1], i + 1
        elif word.startswith("-c"):
            word = word[2:]
        elif word.startswith("--"):
            word = word[2:]
        else:
            raise UrlError("the options parameter holds -c name=value settings, e.g. options=-c search_path=app")
        name, equals, value = word.partition("=")
        if not equals:
            raise UrlError(f"the options setting {name!r} has no value: write -c {name}=value")
        pairs.append((name.replace("-", "_"), value))
        i += 1
    return pairs


#: An unknown parameter that may carry a secret (libpq's sslpassword, a token): reported and dropped, never kept
#: in the `extra` field, which is plain configuration.
SECRET_LIKE = re.compile(r"pass|secret|token|pwd|credential|auth", re.I)
#: The name of a driver option kept in a type's `extra` field (a URL's unknown parameter).
EXTRA_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]{0,62}")


def extra_options(text: Any) -> list[tuple[str, str]]:
    """The `name=value` lines of an `extra` field, in order (blank lines and `# comments` skipped)."""
    pairs = []
    for line in str(text or "").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            name, _, value = line.partition("=")
            pairs.append((name.strip(), value.strip()))
    return pairs


def _parse_parts(manifest: Manifest, specs: list[FieldSpec], scheme: str, rest: str) -> ParsedUrl:
    """`rest` is what follows `scheme://`."""
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in rest):
        raise UrlError("a URL cannot contain spaces or control characters: percent-encode a space as %20")
    if "#" in rest:
        raise UrlError(_FRAGMENT)
    fmt = manifest.url or UrlFormat()
    kinds = {spec.key: spec for spec in all_specs(specs)}
    values: dict[str, Any] = dict(fmt.scheme_values.get(scheme, {}))

    if fmt.base_url:
        return _parse_base_url(fmt, scheme, rest, values, kinds)
    if scheme == UNIX_SCHEME:
        return _parse_unix(fmt, rest, values, kinds)
    rest, _, query = rest.partition("?")
    # The authority ends at the first '/' after the last '@': a password may contain '/' only encoded,
    # but '@' and ':' survive unencoded in the wild, so the *last* '@' separates credentials from host.
    at = rest.rfind("@", 0, _authority_end(rest))
    userinfo, hostport_path = (rest[:at], rest[at + 1:]) if at >= 0 else (None, rest)
    slash = hostport_path.find("/")
    hostport, path = (hostport_path, None) if slash < 0 else (hostport_path[:slash], hostport_path[slash:])

    has_userinfo = userinfo is not None and _take_userinfo(fmt, userinfo, values, kinds)
    try:
        hostport = _take_more_hosts(fmt, hostport, values, kinds)
        host, port = _split_host_port(hostport)
        if host:
            if fmt.path_mode == "absolute" and (fmt.host is None or fmt.host not in kinds):
                raise UrlError(f"the file path must be absolute, after three slashes: {scheme}:///path/to/file")
            _put(values, fmt.host, host, "a host", kinds)
        if port is not None:
            _put(values, fmt.port, port, "a port", kinds)
        _take_path(fmt, path, values, kinds)
    except UrlError:
        if "@" in query:  # what failed may be the end of a password that holds a '?': repeat none of it
            raise UrlError(_AMBIGUOUS) from None
        raise
    given = set(values)
    unknown, from_query, kept = _take_query(fmt, query, values, kinds, _part_params(scheme))
    if not host and fmt.host is not None and fmt.path_mode != "absolute" and fmt.host not in values \
            and (fmt.host not in kinds or kinds[fmt.host].default is None):  # libpq: no host is the default one
        raise UrlError("the URL has no host: write it as scheme://host[:port] (or ?host=…)")
    clash = given & from_query
    if clash == {fmt.host} and host == "localhost" and str(values[fmt.host]).startswith("/"):
        clash = set()  # MySQL's and libpq's rule: a socket named beside `localhost` is where localhost is
    if clash:
        raise UrlError(f"the URL gives {', '.join(sorted(clash))} twice, in its address and as a query parameter: "
                       "keep one")
    return ParsedUrl(values, unknown, has_userinfo or bool({fmt.user, fmt.password} & from_query), kept_params=kept)


def _parse_unix(fmt: UrlFormat, rest: str, values: dict[str, Any], kinds: dict[str, FieldSpec]) -> ParsedUrl:
    """`unix://[user[:password]@]/path?db=N`: the socket's path goes to the host field."""
    head, _, query = rest.partition("?")
    at = head.rfind("@")
    userinfo, path = (head[:at], head[at + 1:]) if at >= 0 else (None, head)
    if not path.startswith("/"):
        raise UrlError("a unix:// URL names the socket's absolute path: unix:///run/redis/redis.sock")
    has_userinfo = userinfo is not None and _take_userinfo(fmt, userinfo, values, kinds)
    _put(values, fmt.host, _decode(path, "socket path"), "a socket path", kinds)
    unknown, from_query, kept = _take_query(fmt, query, values, kinds, _part_params(UNIX_SCHEME))
    return ParsedUrl(values, unknown, has_userinfo or bool({fmt.user, fmt.password} & from_query), kept_params=kept)


def _parse_keywords(manifest: Manifest, specs: list[FieldSpec], text: str) -> ParsedUrl:
    """libpq's `keyword = value` string (values may be 'quoted', with \\' and \\\\ inside): the same keywords
    as the URL's query parameters, plus host, port, user, password and dbname."""
    pairs: list[tuple[str, str]] = []
    pos = 0
    while pos < len(text):
        match = _KEYWORD.match(text, pos)
        if match is None:
            if not text[pos:].strip():
                break
            pos += len(text[pos:]) - len(text[pos:].lstrip())
            raise UrlError(f"at character {pos + 1}: expected keyword=value (e.g. host=db port=5432)")
        name, pos = match.group(1), match.end()
        if pos < len(text) and text[pos] == "'":
            value, pos = _quoted(text, pos)
        else:
            end = pos
            while end < len(text) and not text[end].isspace():
                end += 1
            value, pos = text[pos:end], end
        if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
            raise UrlError(f"the value of {name!r} contains a control character")
        pairs.append((name, value))
    fmt = manifest.url or UrlFormat()
    kinds = {spec.key: spec for spec in all_specs(specs)}
    values: dict[str, Any] = {}
    unknown: list[str] = []
    userinfo = False
    unmapped: list[tuple[str, str]] = []
    lists: dict[str, list[str]] = {}  # libpq's host=a,b port=5432,5433
    for name, value in pairs:
        if name in ("host", "port") and "," in value and fmt.more_hosts in kinds:
            lists[name] = [item.strip() for item in value.split(",")]
            value = lists[name][0]
        part = PART_PARAMS.get(name) if name not in fmt.query else None
        target = getattr(fmt, part) if part else fmt.query.get(name)
        if target is None or target not in kinds:
            if name not in unknown:
                unknown.append(name)
            unmapped.append((name, value))
            continue
        if target in values:
            raise UrlError(f"keyword {name!r} is given more than once: keep one")
        if value == "":
            continue
        values[target] = _typed(kinds[target], value, f"keyword {name!r}")
        userinfo |= part in ("user", "password")
    if lists:
        _keyword_host_lists(fmt, lists, values)
    kept = _keep_extra(fmt, kinds, unmapped, values, unknown)
    return ParsedUrl(values, unknown, userinfo, form="keywords", kept_params=kept)


def _keyword_host_lists(fmt: UrlFormat, lists: dict[str, list[str]], values: dict[str, Any]) -> None:
    """host=a,b,c with port=p (for all) or port=p1,p2,p3 (one each), as libpq reads them."""
    hosts = lists.get("host") or [str(values.get(fmt.host) or "")]
    ports = lists.get("port") or [str(values.get(fmt.port) or "")]
    if len(ports) not in (1, len(hosts)):
        raise UrlError(f"keyword 'port' lists {len(ports)} ports for {len(hosts)} hosts: give one, or one per host")
    ports = ports * len(hosts) if len(ports) == 1 else ports
    pairs = []
    for host, port in zip(hosts, ports, strict=True):
        if port and not (port.isascii() and port.isdigit() and 0 < int(port) < 65536):
            raise UrlError(f"port {port!r} is not a number from 1 to 65535")
        pairs.append((host, int(port) if port else None))
    values[fmt.host], first_port = pairs[0]
    if first_port is not None:
        values[fmt.port] = first_port
    values[fmt.more_hosts] = join_hosts(pairs[1:], first_port)


def _quoted(text: str, pos: int) -> tuple[str, int]:
    """A single-quoted libpq value from `pos` (the quote): its text and the index after the closing quote."""
    out, i = [], pos + 1
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            out.append(text[i + 1])
            i += 2
        elif ch == "'":
            return "".join(out), i + 1
        else:
            out.append(ch)
            i += 1
    raise UrlError(f"at character {pos + 1}: a quoted value is not closed: end it with '")


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


def _part_params(scheme: str) -> dict[str, str]:
    """The query parameters that fill a URL's parts for this scheme: libpq's and JDBC's for the database
    schemes, redis-py's `db` and `password` for unix://, none for the rest."""
    if scheme == UNIX_SCHEME:
        return {"db": "path", "password": "password", "username": "user"}
    if scheme in LIBPQ_SCHEMES or scheme in JDBC_SCHEMES:
        return {k: v for k, v in PART_PARAMS.items() if k != "db"}
    return {}


def _take_query(fmt: UrlFormat, query: str, values: dict[str, Any], kinds: dict[str, FieldSpec],
                parts: dict[str, str] | None = None) -> tuple[list[str], set[str], list[str]]:
    """(unknown parameter names, fields set from libpq/JDBC part parameters such as ?host= or ?user=, the
    unknown ones kept in the type's `extra` field)."""
    unknown: list[str] = []
    unmapped: list[tuple[str, str]] = []
    from_parts: set[str] = set()
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
        if target is None and name == fmt.socket_param and fmt.host in kinds:
            target = fmt.host
            from_parts.add(target)
            if not _decode(raw_value, f"value of query parameter {name!r}").startswith("/"):
                raise UrlError(f"query parameter {name!r} names the socket file's absolute path, "
                               "e.g. /run/mysqld/mysqld.sock")
        if target is None and parts and name in parts and not fmt.base_url:
            part = getattr(fmt, parts[name])
            target = part if part in kinds else None
            if target is not None:
                from_parts.add(target)
        if target is None:
            if name not in unknown:
                unknown.append(name)
            unmapped.append((name, _decode(raw_value, f"value of query parameter {name!r}")))
            continue
        if seen.get(target) == name:
            raise UrlError(f"query parameter {name!r} is given more than once: keep one")
        if target in seen:
            raise UrlError(f"query parameters {seen[target]!r} and {name!r} say the same thing: keep one")
        seen[target] = name
        value = _decode(raw_value, f"value of query parameter {name!r}")
        if value == "":
            raise UrlError(f"query parameter {name!r} has no value: write {name}=value, or remove it")
        if target == fmt.port and target in from_parts and value.isascii() and value.isdigit() \
                and not 0 < int(value) < 65536:
            raise UrlError(f"port {value!r} is not a number from 1 to 65535")
        values[target] = _typed(kinds.get(target), value, f"query parameter {name!r}")
    kept = _keep_extra(fmt, kinds, unmapped, values, unknown)
    return unknown, from_parts, kept


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


def _take_more_hosts(fmt: UrlFormat, hostport: str, values: dict[str, Any], kinds: dict[str, FieldSpec]) -> str:
    """libpq's `host1:5432,host2:5433`: the hosts after the first go to the type's `more_hosts` field, as
    text; the first is returned, to be read as the URL's one host."""
    if "," not in hostport or fmt.more_hosts is None or fmt.more_hosts not in kinds:
        return hostport
    first, *rest = hostport.split(",")
    main_port = _split_host_port(first)[1] or (kinds[fmt.port].default if fmt.port in kinds else None)
    values[fmt.more_hosts] = join_hosts([_split_host_port(item) for item in rest], main_port)
    return first


def split_hosts(text: str) -> list[tuple[str, int | None]]:
    """`host2:5433, [::1], host3` (a `more_hosts` field) → [(host, port or None)]; UrlError names a bad one."""
    return [_split_host_port(item.strip()) for item in text.split(",") if item.strip()]


def join_hosts(hosts: list[tuple[str, int | None]], main_port: int | None = None) -> str:
    """The `more_hosts` text of [(host, port)]: IPv6 in brackets, a port only where one was given and it is
    not the main Port (which a host without one uses): one spelling for one list."""
    def one(host: str, port: int | None) -> str:
        text = f"[{host}]" if ":" in host else host
        return f"{text}:{port}" if port is not None and port != main_port else text

    if any(not host for host, _ in hosts):
        raise UrlError("a host of the list is empty: write host1:port1,host2:port2")
    return ", ".join(one(host, port) for host, port in hosts)


def _split_host_port(hostport: str) -> tuple[str, int | None]:
    if "," in hostport:
        raise UrlError("this type connects to one host: give one (several hosts are libpq's, for PostgreSQL)")
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
    parts = (fmt.base_url,) if fmt.base_url else (fmt.host, fmt.port, fmt.path, fmt.more_hosts, fmt.extra)
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


#: The spellings `format_url` writes besides the type's own URL; each applies only to the schemes named.
JDBC_SCHEMES = {"postgresql": "postgresql", "postgres": "postgresql", "mysql": "mysql", "mariadb": "mariadb"}
SQLALCHEMY_DRIVERS = {"postgresql": "psycopg", "postgres": "psycopg", "mysql": "pymysql", "mariadb": "pymysql"}
