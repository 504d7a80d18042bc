"""Saved values → the strings other tools read: the type's URL, libpq keywords, JDBC, SQLAlchemy, and its own
client's command line. Never a secret; `parse_url` (core/urls.py) reads each URL form back to the same values
(tests/core/test_url_round_trip.py holds every type to it)."""

from __future__ import annotations

import shlex
from typing import Any
from urllib.parse import quote

from connhub.core.fields import FieldKind, FieldSpec, all_specs
from connhub.core.manifest import Manifest, UrlFormat
from connhub.core.urls import (
    JDBC_SCHEMES,
    LIBPQ_SCHEMES,
    SQLALCHEMY_DRIVERS,
    UNIX_SCHEME,
    UrlError,
    extra_options,
    join_hosts,
    split_hosts,
)


def url_styles(manifest: Manifest) -> list[str]:
    """The styles `format_url` can write for this type: "url", then "libpq", "jdbc", "sqlalchemy" where they
    exist for its schemes."""
    schemes = set(manifest.url_schemes)
    if not schemes or (manifest.url and manifest.url.base_url):
        return ["url"] if schemes else []
    styles = ["url"]
    if schemes & set(LIBPQ_SCHEMES):
        styles.append("libpq")
    if schemes & set(JDBC_SCHEMES):
        styles.append("jdbc")
    if schemes & set(SQLALCHEMY_DRIVERS):
        styles.append("sqlalchemy")
    return styles


def format_url(manifest: Manifest, specs: list[FieldSpec], values: dict[str, Any], style: str = "url") -> str:
    """The connection as another tool reads it — this type's URL, libpq keywords, JDBC or SQLAlchemy — without
    any secret (the password, a token, a secret query parameter are left out); `parse_url` reads each back to
    the same values. UrlError when the style does not apply."""
    if style not in url_styles(manifest):
        raise UrlError(f"{manifest.name} has no {style} form; it has: {', '.join(url_styles(manifest)) or 'none'}")
    fmt = manifest.url or UrlFormat()
    kinds = {spec.key: spec for spec in all_specs(specs)}
    secret = {key for key, spec in kinds.items() if spec.secret}

    def given(key: str | None) -> Any:
        value = values.get(key) if key and key not in secret else None
        return None if value in (None, "") else value

    if fmt.base_url:
        return str(given(fmt.base_url) or "")
    scheme = next((s for s in manifest.url_schemes if fmt.scheme_values.get(s)
                   and all(values.get(k, kinds[k].default if k in kinds else None) == v
                           for k, v in fmt.scheme_values[s].items())), manifest.url_schemes[0])
    host, port, user, path = given(fmt.host), given(fmt.port), given(fmt.user), given(fmt.path)
    if path is not None and fmt.path_default is not None and str(path) == fmt.path_default:
        path = None
    query = _query_pairs(fmt, kinds, secret, values)
    if fmt.extra in kinds and fmt.extra not in secret and (extra := extra_options(values.get(fmt.extra))):
        # after the mapped ones: one libpq `options` parameter, or each as the URL carried it
        query += [(fmt.extra_as, _as_command_line_options(extra))] if fmt.extra_as else extra
    more = split_hosts(str(given(fmt.more_hosts) or "")) if fmt.more_hosts else []
    if more and style != "libpq" and isinstance(host, str) and host.startswith("/"):
        raise UrlError("a Unix socket followed by more hosts has only the libpq form (host=/run/postgresql,db2)")
    if more and style == "sqlalchemy":
        raise UrlError("SQLAlchemy URLs name one host: copy the URL or the libpq form for several hosts")
    if style == "libpq":
        if more:  # libpq's lists: host=a,b port=5432,5433, a port for each host
            main = port if port is not None else (kinds[fmt.port].default if fmt.port in kinds else None)
            host = ",".join([str(host or "")] + [h for h, _ in more])
            if any(p is not None and p != main for _, p in more):  # else one port, which libpq gives every host
                port = ",".join(str(p if p is not None else main) for p in [main] + [p for _, p in more])
        parts = [("host", host), ("port", port), ("dbname", path), ("user", user)] + query
        return " ".join(f"{name}={_keyword_value(str(_plain(value)))}" for name, value in parts if value is not None)
    socket = isinstance(host, str) and host.startswith("/")
    if socket and UNIX_SCHEME in manifest.url_schemes and style == "url":
        if path is not None:
            query.insert(0, ("db", path))
        encoded = "&".join(f"{quote(n, safe='')}={quote(str(_plain(v)), safe='/')}" for n, v in query)
        who = "" if user is None else quote(str(user), safe="") + "@"
        return f"unix://{who}{quote(host, safe='/')}" + (f"?{encoded}" if encoded else "")
    if socket:
        if style == "jdbc":
            raise UrlError("JDBC drivers cannot reach a Unix socket: use the host and port instead")
        query.insert(0, (fmt.socket_param or "host", host))
        host = None
        if fmt.socket_param:  # mysql://u@localhost/db?unix_socket=/run/…, as MySQL writes it: the file is the address
            host, port = "localhost", None
    if style == "jdbc":
        if user is not None:
            query.insert(0, ("user", user))
        user = None
        scheme = "jdbc:" + JDBC_SCHEMES[scheme]
    elif style == "sqlalchemy":
        scheme = ("postgresql" if scheme in LIBPQ_SCHEMES else scheme) + "+" + SQLALCHEMY_DRIVERS[scheme]
    # A type whose URL takes a lone user as a token (nats://TOKEN@host) reads `user:@` as a user without one.
    authority = "" if user is None else quote(str(user), safe="") + (":@" if fmt.lone_user else "@")
    if host is not None:
        text = str(host)
        authority += f"[{text.replace('%', '%25')}]" if ":" in text else quote(text, safe="")
    if port is not None:
        authority += f":{port}"
    if more:
        authority += "," + join_hosts(more).replace(" ", "")
    if fmt.path_mode == "absolute":
        tail = quote(str(path or ""), safe="/")
    elif path is not None:
        tail = "/" + quote(str(path), safe="")
    else:
        tail = ""
    encoded = "&".join(f"{quote(name, safe='')}={quote(str(_plain(value)), safe='/')}" for name, value in query)
    return f"{scheme}://{authority}{tail}" + (f"?{encoded}" if encoded else "")


#: The form `format_connection` writes besides the URL styles: the service's own client (manifest `command_line`).
COMMAND = "command"


def connection_forms(manifest: Manifest) -> list[str]:
    """What "Copy as…" and `connhub show --url --format` offer for this type: its URL styles, then its client's
    command line when the manifest declares one."""
    return url_styles(manifest) + ([COMMAND] if manifest.command_line else [])


def format_connection(manifest: Manifest, specs: list[FieldSpec], values: dict[str, Any], form: str = "url") -> str:
    """`format_url`, or with `form="command"` the client's command line: shell-quoted, no secret in it, the
    variable the client reads the password from named after it as a shell comment."""
    if form != COMMAND:
        return format_url(manifest, specs, values, form)
    cli = manifest.command_line
    if cli is None:
        raise UrlError(f"{manifest.name} has no command-line client connhub knows")
    fmt = manifest.url or UrlFormat()
    kinds = {spec.key: spec for spec in all_specs(specs)}
    given = {k: v for k, v in values.items() if k in kinds and not kinds[k].secret and v not in (None, "")}
    words = [cli.program]
    if cli.argument == "libpq":
        words.append(format_url(manifest, specs, values, "libpq"))
    socket = cli.socket_flag is not None and str(given.get(fmt.host, "")).startswith("/")
    for key, flag in cli.flags.items():
        if key not in given or (socket and key == fmt.port):
            continue  # a socket file is the whole address
        value = given[key]
        if kinds[key].kind is FieldKind.BOOLEAN:
            words += [flag] if value else []
        else:
            words += [cli.socket_flag if socket and key == fmt.host else flag, str(value)]
    text = " ".join(shlex.quote(word) for word in words)
    return f"{text}  # password: ${cli.password_env}" if cli.password_env else text


def _query_pairs(fmt: UrlFormat, kinds: dict[str, FieldSpec], secret: set[str],
                 values: dict[str, Any]) -> list[tuple[str, Any]]:
    """The mapped query parameters whose field differs from its default: one name per field (the first alias)."""
    pairs, done = [], set()
    for name, key in fmt.query.items():
        if key in done or key in secret or key not in kinds:
            continue
        done.add(key)
        value = values.get(key)
        if value not in (None, "") and value != kinds[key].default:
            pairs.append((name, value))
    return pairs


def _plain(value: Any) -> Any:
    return ("true" if value else "false") if isinstance(value, bool) else value


def _keyword_value(text: str) -> str:
    """libpq's quoting: a value with a space, a quote or a backslash (or none at all) goes in '…'."""
    if text and not any(ch.isspace() or ch in "'\\" for ch in text):
        return text
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _as_command_line_options(pairs: list[tuple[str, str]]) -> str:
    return " ".join(f"-c {name}=" + value.replace("\\", "\\\\").replace(" ", "\\ ") for name, value in pairs)
