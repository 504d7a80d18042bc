"""Connection URLs: one table of what a URL gives (or the exact message that refuses it), over the built-in
postgres, redis and http manifests and small made-up manifests that use the rest of the `url` section (a lone
token, an absolute file path, a default path, a type without a path). Then the round trip: values → the
integration's display URL → parsed back gives the same non-secret values, and no display URL holds a password.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import connhub
from connhub.core.fields import field_specs, secret_keys
from connhub.core.manifest import Manifest
from connhub.core.urls import ParsedUrl, UrlError, example_url, parse_url, url_field_keys
from connhub.plugins.registry import Registry, TypeEntry
from connhub.services.hub import Hub

BUILTIN = Path(connhub.__file__).resolve().parent / "integrations"


def _manifest(type_name: str, schemes: list[str], url: dict | None, properties: dict) -> Manifest:
    return Manifest(manifest_version=1, type=type_name, name=type_name.upper(), group="other", icon="icon.svg",
                    entrypoint="tests.nowhere:Nothing", url_schemes=schemes, url=url,
                    credentials={"type": "object", "properties": properties})


HOST = {"type": "string", "format": "hostname", "default": "localhost"}
SECRET = {"type": "string", "writeOnly": True}

SYNTHETIC = {
    # NATS-like: `nats://TOKEN@host` is a token, `nats://user:pw@host` a user and password; `tls://` means TLS.
    "tokened": _manifest("tokened", ["nats", "tls"], {"lone_user": "token", "scheme_values": {"tls": {"tls": True}}},
                         {"host": HOST, "port": {"type": "integer", "default": 4222}, "user": {"type": "string"},
                          "password": SECRET, "token": SECRET, "tls": {"type": "boolean", "default": False}}),
    # SQLite-like: a file path and nothing else.
    "filedb": _manifest("filedb", ["sqlite"], {"host": None, "port": None, "user": None, "password": None,
                                                "path": "path", "path_mode": "absolute", "query": {"mode": "mode"}},
                        {"path": {"type": "string", "format": "file-path"},
                         "mode": {"enum": ["ro", "rw", "rwc"], "default": "rwc"}}),
    # AMQP-like: the vhost is "/" when the URL has no path; typed query parameters.
    "vhosted": _manifest("vhosted", ["amqp", "amqps"],
                         {"path": "vhost", "path_default": "/", "scheme_values": {"amqps": {"tls": True}},
                          "query": {"heartbeat": "heartbeat", "verify": "verify_tls", "ratio": "ratio",
                                    "cacertfile": "ca_file", "cafile": "ca_file"}},
                         {"host": HOST, "port": {"type": "integer", "default": 5672},
                          "user": {"type": "string", "default": "guest"}, "password": SECRET,
                          "vhost": {"type": "string", "default": "/"}, "heartbeat": {"type": "integer"},
                          "ratio": {"type": "number"}, "verify_tls": {"type": "boolean", "default": True},
                          "tls": {"type": "boolean", "default": False}, "ca_file": {"type": "string"},
                          "client_name": {"type": "string"}}),
    # SMTP-like: no path; the scheme picks the TLS mode (an enum).
    "mailer": _manifest("mailer", ["smtp", "smtps"],
                        {"scheme_values": {"smtps": {"security": "tls"}, "smtp": {"security": "starttls"}}},
                        {"host": HOST, "port": {"type": "integer", "default": 587}, "user": {"type": "string"},
                         "password": SECRET, "security": {"enum": ["none", "starttls", "tls"]}}),
    # A type with no URL form at all.
    "nourl": _manifest("nourl", [], None, {"api_key": SECRET}),
}


@pytest.fixture(scope="module")
def registry() -> Registry:
    builtins = Registry.from_folders([BUILTIN / name for name in ("postgres", "redis", "http")], source="built-in")
    entries = builtins.entries() + [TypeEntry(name, "test", None, m) for name, m in SYNTHETIC.items()]
    assert all(entry.manifest is not None for entry in entries), [e.error for e in entries]
    return Registry(entries)


def parse(registry: Registry, type_name: str, url: str) -> ParsedUrl:
    entry = registry.get(type_name)
    return parse_url(entry.manifest, entry.specs, url)


# --- the table: URL → values -------------------------------------------------------------------------------

PARSED = [
    # PostgreSQL
    ("pg-plain", "postgres", "postgres://alice@db.example.com:5433/orders",
     {"user": "alice", "host": "db.example.com", "port": 5433, "database": "orders"}),
    ("pg-percent-encoded-password", "postgres", "postgresql://alice:p%40ss%3Aw%2Bo%2Frd@db/orders",
     {"user": "alice", "password": "p@ss:w+o/rd", "host": "db", "database": "orders"}),
    ("pg-raw-at-colon-plus-in-password", "postgres", "postgres://alice:p@ss:w+rd@db:5432/orders",
     {"user": "alice", "password": "p@ss:w+rd", "host": "db", "port": 5432, "database": "orders"}),
    ("pg-utf8-percent-encoded", "postgres", "postgres://j%C3%A9r%C3%B4me:mot%20de%20passe@db/caf%C3%A9",
     {"user": "jérôme", "password": "mot de passe", "host": "db", "database": "café"}),
    ("pg-ipv6-without-port", "postgres", "postgres://alice@[::1]/orders",
     {"user": "alice", "host": "::1", "database": "orders"}),
    ("pg-ipv6-with-port", "postgres", "postgres://[2001:db8::1]:6432/orders",
     {"host": "2001:db8::1", "port": 6432, "database": "orders"}),
    ("pg-ipv6-zone-id-rfc6874", "postgres", "postgres://[fe80::1%25eth0]:5432/orders",
     {"host": "fe80::1%eth0", "port": 5432, "database": "orders"}),
    ("pg-ipv6-zone-id-unencoded", "postgres", "postgres://[fe80::1%eth0]/orders",
     {"host": "fe80::1%eth0", "database": "orders"}),
    ("pg-missing-port", "postgres", "postgres://db.example.com/orders", {"host": "db.example.com", "database": "orders"}),
    ("pg-empty-port", "postgres", "postgres://db:/orders", {"host": "db", "database": "orders"}),
    ("pg-uppercase-scheme", "postgres", "POSTGRESQL://db/orders", {"host": "db", "database": "orders"}),
    ("pg-surrounding-blanks", "postgres", "  postgres://db/orders\n", {"host": "db", "database": "orders"}),
    ("pg-trailing-slash-is-no-path", "postgres", "postgres://db/", {"host": "db"}),
    ("pg-encoded-slash-in-database", "postgres", "postgres://db/a%2Fb", {"host": "db", "database": "a/b"}),
    ("pg-query-mapped", "postgres", "postgres://db/orders?sslmode=verify-full&sslrootcert=/etc/ssl/ca%2Bx.pem",
     {"host": "db", "database": "orders", "sslmode": "verify-full", "sslrootcert": "/etc/ssl/ca+x.pem"}),
    ("pg-plus-in-query-is-a-plus", "postgres", "postgres://db/orders?sslrootcert=/etc/ca+1.pem",
     {"host": "db", "database": "orders", "sslrootcert": "/etc/ca+1.pem"}),
    ("pg-empty-query-parts", "postgres", "postgres://db/orders?&sslmode=require&",
     {"host": "db", "database": "orders", "sslmode": "require"}),
    ("pg-at-in-query-value", "postgres", "postgres://db/orders?sslrootcert=/home/me@corp/ca.pem",
     {"host": "db", "database": "orders", "sslrootcert": "/home/me@corp/ca.pem"}),
    # Redis: integer path, scheme → TLS, an empty user before the password.
    ("redis-password-only", "redis", "redis://:s3cret@cache:6380/2",
     {"tls": False, "password": "s3cret", "host": "cache", "port": 6380, "db": 2}),
    ("redis-tls-acl-user-ipv6", "redis", "rediss://default:pw@[2001:db8::1]:6380/0",
     {"tls": True, "username": "default", "password": "pw", "host": "2001:db8::1", "port": 6380, "db": 0}),
    ("redis-host-only", "redis", "redis://cache", {"tls": False, "host": "cache"}),
    ("redis-user-without-password", "redis", "redis://worker@cache/15", {"tls": False, "username": "worker",
                                                                          "host": "cache", "db": 15}),
    # HTTP APIs: the URL is the base URL; user info becomes Basic auth.
    ("http-basic-auth", "http", "https://bob:p%40ss@api.example.com/v1?tenant=7",
     {"auth.method": "basic", "auth.username": "bob", "auth.password": "p@ss",
      "base_url": "https://api.example.com/v1?tenant=7"}),
    ("http-ipv6-uppercase", "http", "HTTP://[::1]:8080/api", {"base_url": "http://[::1]:8080/api"}),
    ("http-no-userinfo", "http", "https://api.example.com", {"base_url": "https://api.example.com"}),
    ("http-empty-userinfo", "http", "https://@api.example.com/v1", {"base_url": "https://api.example.com/v1"}),
    # A lone token, or a user and password; a scheme that implies TLS.
    ("token-alone", "tokened", "nats://s3cr3t-t0ken@nats.local:4222", {"token": "s3cr3t-t0ken",
                                                                       "host": "nats.local", "port": 4222}),
    ("token-user-and-password", "tokened", "nats://u:p%3A@nats.local", {"user": "u", "password": "p:",
                                                                         "host": "nats.local"}),
    ("token-tls-scheme", "tokened", "tls://nats.local", {"tls": True, "host": "nats.local"}),
    # A file path.
    ("file-absolute", "filedb", "sqlite:///srv/app.db", {"path": "/srv/app.db"}),
    ("file-four-slashes", "filedb", "sqlite:////srv/app.db", {"path": "/srv/app.db"}),
    ("file-encoded-space-and-query", "filedb", "sqlite:///tmp/my%20db.sqlite?mode=ro",
     {"path": "/tmp/my db.sqlite", "mode": "ro"}),
    # A default path; typed query values.
    ("vhost-default-without-path", "vhosted", "amqp://guest:guest@rabbit", {"user": "guest", "password": "guest",
                                                                            "host": "rabbit", "vhost": "/"}),
    ("vhost-slash-is-the-default", "vhosted", "amqp://rabbit/", {"host": "rabbit", "vhost": "/"}),
    ("vhost-encoded-slash", "vhosted", "amqp://rabbit/%2F", {"host": "rabbit", "vhost": "/"}),
    ("vhost-typed-query", "vhosted", "amqps://rabbit:5671/prod?heartbeat=30&verify=false&ratio=0.5",
     {"tls": True, "host": "rabbit", "port": 5671, "vhost": "prod", "heartbeat": 30, "verify_tls": False,
      "ratio": 0.5}),
    ("vhost-parameter-alias", "vhosted", "amqps://rabbit?cacertfile=/etc/ssl/ca.pem",
     {"tls": True, "host": "rabbit", "vhost": "/", "ca_file": "/etc/ssl/ca.pem"}),
    ("vhost-boolean-words", "vhosted", "amqp://rabbit/prod?verify=YES", {"host": "rabbit", "vhost": "prod",
                                                                       "verify_tls": True}),
    # The scheme picks an enum value; an encoded '@' in the user name.
    ("mail-implicit-tls", "mailer", "smtps://me%40example.com:pw@mail.example.com:465",
     {"security": "tls", "user": "me@example.com", "password": "pw", "host": "mail.example.com", "port": 465}),
    ("mail-trailing-slash", "mailer", "smtp://mail.example.com/", {"security": "starttls",
                                                                   "host": "mail.example.com"}),
]


@pytest.mark.parametrize(("type_name", "url", "expected"), [case[1:] for case in PARSED],
                         ids=[case[0] for case in PARSED])
def test_url_gives_these_values(registry, type_name, url, expected):
    parsed = parse(registry, type_name, url)
    assert parsed.values == expected
    assert parsed.unknown_params == []


# --- the table: URL → the message that refuses it -------------------------------------------------------

REFUSED = [
    ("no-scheme", "postgres", "db.example.com:5432/orders", "not a URL: expected postgres://…"),
    ("one-slash", "postgres", "postgres:/db/orders", "not a URL: expected postgres://…"),
    ("empty", "postgres", "   ", "not a URL: expected postgres://…"),
    ("credentials-before-a-later-scheme", "postgres", "u:SECRET@db/x?next=http://y",
     "not a URL: expected postgres://…"),
    ("wrong-scheme", "postgres", "mysql://db/orders", "scheme 'mysql' is not one of postgres, postgresql"),
    ("port-zero", "postgres", "postgres://db:0/orders", "port '0' is not a number from 1 to 65535"),
    ("port-too-big", "postgres", "postgres://db:70000/orders", "port '70000' is not a number from 1 to 65535"),
    ("port-not-a-number", "redis", "redis://cache:abc", "port 'abc' is not a number from 1 to 65535"),
    ("port-non-ascii-digit", "postgres", "postgres://db:٥٤٣٢/orders", "port '٥٤٣٢' is not a number from 1 to 65535"),
    ("port-superscript", "postgres", "postgres://db:²/orders", "port '²' is not a number from 1 to 65535"),
    ("ipv6-unclosed", "postgres", "postgres://[::1/orders", "IPv6 address '[::1' is missing its closing ']'"),
    ("ipv6-without-brackets", "postgres", "postgres://::1/orders", "IPv6 address '::1' must be in brackets: [::1]"),
    ("two-colons-not-ipv6", "postgres", "postgres://db:5432:1/orders",
     "'db:5432:1' is not host:port (an IPv6 address goes in brackets: [::1]:port)"),
    ("brackets-without-ipv6", "postgres", "postgres://[db.example.com]/orders",
     "[db.example.com] is not an IPv6 address: only IPv6 addresses go in brackets"),
    ("ipv6-junk-after", "redis", "redis://[::1]x:6379", "unexpected 'x:6379' after the IPv6 address: write [addr]:port"),
    ("ipv6-empty-zone", "postgres", "postgres://[fe80::1%25]/orders",
     "IPv6 address [fe80::1%25] has an empty zone id after '%'"),
    ("several-hosts", "redis", "redis://db1:6379,db2:6380/0",
     "this type connects to one host: give one (several hosts are libpq's, for PostgreSQL)"),
    ("space", "postgres", "postgres://db/my orders",
     "a URL cannot contain spaces or control characters: percent-encode a space as %20"),
    ("control-character", "postgres", "postgres://db/orders\x00",
     "a URL cannot contain spaces or control characters: percent-encode a space as %20"),
    ("fragment", "postgres", "postgres://db/orders#main",
     "a connection URL has no '#fragment': remove it, or percent-encode '#' as %23"),
    ("hash-in-password", "postgres", "postgres://alice:SE#CRET@db/orders",
     "a connection URL has no '#fragment': remove it, or percent-encode '#' as %23"),
    ("question-mark-in-password", "postgres", "postgres://alice:SE?CRET@db/orders",
     "the host cannot be read: if the password contains '?', percent-encode it as %3F ('/' as %2F, '#' as %23)"),
    ("question-mark-in-digit-password", "postgres", "postgres://alice:5432?SECRET@db/orders",
     "the host cannot be read: if the password contains '?', percent-encode it as %3F ('/' as %2F, '#' as %23)"),
    ("slash-and-question-mark-in-password", "postgres", "postgres://alice:12/SE/CRET?x@db/orders",
     "the host cannot be read: if the password contains '?', percent-encode it as %3F ('/' as %2F, '#' as %23)"),
    ("stray-percent-in-password", "postgres", "postgres://alice:100%SECRET@db/orders",
     "the password has a '%' that is not followed by two hex digits: write a literal '%' as %25"),
    ("bad-percent-in-path", "postgres", "postgres://db/or%ZZders",
     "the path has a '%' that is not followed by two hex digits: write a literal '%' as %25"),
    ("percent-not-utf8", "postgres", "postgres://db/%FF", "the path has a percent-encoding that is not UTF-8"),
    ("percent-not-utf8-in-user", "postgres", "postgres://%C3@db/orders",
     "the user name has a percent-encoding that is not UTF-8"),
    ("two-path-segments", "postgres", "postgres://db/orders/extra",
     "the path must be one name after the host: percent-encode a '/' inside it as %2F"),
    ("path-not-a-number", "redis", "redis://cache/x", "the path must be a number (e.g. /0), got '/x'"),
    ("path-negative", "redis", "redis://cache/-1", "the path must be a number (e.g. /0), got '/-1'"),
    ("path-on-a-type-without-one", "mailer", "smtp://mail.example.com/inbox",
     "this type's URL does not take a path: remove it"),
    ("user-on-a-type-without-one", "filedb", "sqlite://u:SECRET@/srv/app.db",
     "this type's URL does not take a user name: remove it"),
    ("relative-file-path", "filedb", "sqlite://app.db",
     "the file path must be absolute, after three slashes: sqlite:///path/to/file"),
    ("repeated-parameter", "postgres", "postgres://db/orders?sslmode=require&sslmode=disable",
     "query parameter 'sslmode' is given more than once: keep one"),
    ("parameter-and-its-alias", "vhosted", "amqps://rabbit/?cafile=/a.pem&cacertfile=/b.pem",
     "query parameters 'cafile' and 'cacertfile' say the same thing: keep one"),
    ("parameter-without-value", "postgres", "postgres://db/orders?sslmode=",
     "query parameter 'sslmode' has no value: write sslmode=value, or remove it"),
    ("parameter-without-name", "postgres", "postgres://db/orders?=require", "a query parameter has no name: write ?name=value"),
    ("parameter-not-in-enum", "postgres", "postgres://db/orders?sslmode=on",
     "query parameter 'sslmode' must be one of disable, prefer, require, verify-ca, verify-full, got 'on'"),
    ("parameter-not-an-integer", "vhosted", "amqp://rabbit/?heartbeat=ten",
     "query parameter 'heartbeat' must be a whole number, got 'ten'"),
    ("parameter-not-a-number", "vhosted", "amqp://rabbit/?ratio=half", "query parameter 'ratio' must be a number, got 'half'"),
    ("parameter-not-a-boolean", "vhosted", "amqp://rabbit/?verify=maybe",
     "query parameter 'verify' must be true or false, got 'maybe'"),
    ("http-fragment", "http", "https://api.example.com/v1#top",
     "a connection URL has no '#fragment': remove it, or percent-encode '#' as %23"),
    ("http-no-host", "http", "https:///v1", "the URL has no host: write it as scheme://host[:port]/path"),
    ("http-bad-port", "http", "https://api.example.com:99999/v1", "port '99999' is not a number from 1 to 65535"),
    ("http-question-mark-in-password", "http", "https://bob:SE?CRET@api.example.com/v1",
     "the host cannot be read: if the password contains '?', percent-encode it as %3F ('/' as %2F, '#' as %23)"),
    ("type-without-urls", "nourl", "x://anything", "NOURL has no connection URL form: fill in the fields instead"),
]


@pytest.mark.parametrize(("type_name", "url", "message"), [case[1:] for case in REFUSED],
                         ids=[case[0] for case in REFUSED])
def test_url_is_refused_with_this_message(registry, type_name, url, message):
    with pytest.raises(UrlError) as caught:
        parse(registry, type_name, url)
    assert str(caught.value) == message
    # Cases that carry a password say SECRET in it: no message repeats any part of it.
    assert "SECRET" not in message and "CRET" not in message


def test_the_table_is_big_enough():
    assert len(PARSED) + len(REFUSED) >= 40
    assert len({case[0] for case in PARSED + REFUSED}) == len(PARSED) + len(REFUSED)


# --- unknown parameters are reported, not dropped --------------------------------------------------------

def test_unknown_parameters_are_reported_once_each_in_order(registry):
    parsed = parse(registry, "redis", "redis://cache/0?tls=x&keepalives=x&gssencmode=5&keepalives=y&targetServerType")
    assert parsed.unknown_params == ["tls", "keepalives", "gssencmode", "targetServerType"]
    assert parsed.kept_params == []


def test_parameters_a_type_maps_to_no_field_are_kept_in_its_extra_field(registry):
    """postgres keeps them in Server settings (asyncpg sends a URL's other parameters to the server so);
    given twice, or with no value, they are refused as mapped ones are."""
    parsed = parse(registry, "postgres", "postgres://db/orders?sslmode=require&search_path=app&keepalives=1")
    assert parsed.values == {"host": "db", "database": "orders", "sslmode": "require",
                             "server_settings": "search_path=app\nkeepalives=1"}
    assert parsed.kept_params == ["search_path", "keepalives"] and parsed.unknown_params == []
    for bad, says in (("?a=1&a=2", "given more than once"), ("?a=", "has no value"), ("?a%20b=1", "not a name")):
        with pytest.raises(UrlError, match=says):
            parse(registry, "postgres", "postgres://db/orders" + bad)
    assert parse(registry, "postgres", "host=db search_path=app").values["server_settings"] == "search_path=app"
    # libpq's own spelling, `options=-c name=value …`, reads into the same lines
    spelled = parse(registry, "postgres", r"host=db options='-c search_path=app -cwork_mem=4MB --lock-timeout=1s'")
    assert spelled.values["server_settings"] == "search_path=app\nwork_mem=4MB\nlock_timeout=1s"
    with pytest.raises(UrlError, match="-c name=value"):
        parse(registry, "postgres", "postgres://db/x?options=search_path")
    # a parameter that may carry a secret is never kept as plain configuration: reported and left out
    carried = parse(registry, "postgres", "postgres://db/x?sslpassword=Canary-9d&search_path=app")
    assert carried.values["server_settings"] == "search_path=app" and "Canary-9d" not in repr(carried.values)
    assert carried.unknown_params == ["sslpassword"] and carried.kept_params == ["search_path"]


def test_a_parameter_of_another_type_is_unknown_and_the_url_otherwise_used(registry):
    parsed = parse(registry, "redis", "redis://cache/0?db=3&SSLMODE=require")
    assert parsed.values == {"tls": False, "host": "cache", "db": 0}
    assert parsed.unknown_params == ["db", "SSLMODE"]


def test_a_secret_query_value_is_never_repeated_in_a_message():
    manifest = _manifest("keyed", ["keyed"], {"query": {"key": "key"}},
                         {"host": HOST, "key": {"type": "string", "writeOnly": True, "enum": ["a", "b"]}})
    with pytest.raises(UrlError) as caught:
        parse_url(manifest, field_specs(manifest.credentials), "keyed://h?key=SECRET")
    assert str(caught.value) == "query parameter 'key' must be one of a, b"


# --- the Hub: defaults, and what a pasted URL keeps of a form's values --------------------------------------

@pytest.fixture
def hub(registry, tmp_path) -> Hub:
    return Hub(data_dir=tmp_path, registry=registry)


def test_hub_fills_defaults_for_what_the_url_leaves_out(hub):
    parsed = hub.types.values_from_url("postgres", "postgres://alice:pw@db/orders?sslmode=require")
    assert parsed.values == {"host": "db", "port": 5432, "database": "orders", "user": "alice", "password": "pw",
                             "sslmode": "require", "target_session_attrs": "any"}
    assert parsed.userinfo is True and parsed.unknown_params == []
    assert hub.types.values_from_url("redis", "rediss://cache").values == {"host": "cache", "port": 6379, "db": 0,
                                                                     "tls": True}
    assert hub.types.values_from_url("vhosted", "amqp://rabbit").values == {
        "host": "rabbit", "port": 5672, "user": "guest", "vhost": "/", "verify_tls": True, "tls": False}
    assert hub.types.values_from_url("http", "https://u:p@api.example.com").values == {
        "base_url": "https://api.example.com", "auth.method": "basic", "auth.username": "u", "auth.password": "p",
        "test_path": "/", "verify_tls": True, "auth.header": "X-API-Key"}


def test_hub_keeps_what_the_url_cannot_say(hub):
    form = {"host": "old", "port": 6000, "user": "carol", "password": "typed-before", "vhost": "staging",
            "heartbeat": 10, "ca_file": "/etc/ca.pem", "tls": False, "client_name": "billing"}
    # No user info in the URL: the typed user and password stay; host, port, path, scheme and query
    # parameters are the URL's (or their defaults: no CA file); the client name is out of any URL's reach.
    parsed = hub.types.values_from_url("vhosted", "amqps://rabbit", keep=form)
    assert parsed.values == {"host": "rabbit", "port": 5672, "user": "carol", "password": "typed-before",
                             "vhost": "/", "verify_tls": True, "tls": True, "client_name": "billing"}
    # User info in the URL decides all of it: a user without a password means no password.
    parsed = hub.types.values_from_url("vhosted", "amqp://dave@rabbit/prod?cafile=/etc/ca2.pem", keep=form)
    assert parsed.values == {"host": "rabbit", "port": 5672, "user": "dave", "vhost": "prod", "verify_tls": True,
                             "tls": False, "ca_file": "/etc/ca2.pem", "client_name": "billing"}


def test_hub_keeps_a_chosen_auth_method_when_the_url_has_no_userinfo(hub):
    form = {"base_url": "https://old.example.com", "auth.method": "bearer", "auth.token": "tok", "headers": "A: b"}
    parsed = hub.types.values_from_url("http", "https://api.example.com/v2", keep=form)
    assert parsed.values == {"base_url": "https://api.example.com/v2", "auth.method": "bearer", "auth.token": "tok",
                             "headers": "A: b", "test_path": "/", "verify_tls": True, "auth.header": "X-API-Key"}


def test_url_field_keys_and_example_urls(registry):
    assert url_field_keys(registry.get("postgres").manifest) == (
        {"host", "port", "database", "sslmode", "sslrootcert", "connect_timeout", "application_name", "more_hosts",
         "target_session_attrs", "server_settings"},
        {"user", "password"})
    assert url_field_keys(registry.get("http").manifest) == (
        {"base_url"}, {"auth.username", "auth.password", "auth.method"})
    assert url_field_keys(registry.get("nourl").manifest) == (set(), set())
    examples = {name: example_url(registry.get(name).manifest, registry.get(name).specs)
                for name in ("postgres", "redis", "http", "tokened", "filedb", "vhosted", "mailer", "nourl")}
    assert examples == {
        "postgres": "postgres://user:password@host:5432/database",
        "redis": "redis://user:password@host:6379/0",
        "http": "https://user:password@api.example.com/v1",
        "tokened": "nats://user:password@host:4222",
        "filedb": "sqlite:///path/to/file",
        "vhosted": "amqp://user:password@host:5672/vhost",
        "mailer": "smtp://user:password@host:587",
        "nourl": "",
    }
    # Every example parses as its own type's URL.
    for name, url in examples.items():
        if url:
            parse(registry, name, url)


# --- round trip: values → display URL → values; display URLs never hold the password --------------------------

LABEL = st.from_regex(r"\A[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?\Z")
HOSTNAMES = st.lists(LABEL, min_size=1, max_size=4).map(".".join).filter(lambda h: not h.replace(".", "").isdigit())
HOSTS = st.one_of(HOSTNAMES, st.ip_addresses(v=4).map(str), st.ip_addresses(v=6).map(str))
TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="§"), min_size=1, max_size=20)
# Only passwords hold "§" (raw or encoded): one can appear in a display URL only if the password was put there.
PASSWORDS = TEXT.map(lambda text: f"§{text}")
ROUND_TRIP = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _display(registry: Registry, type_name: str, config: dict) -> str:
    return registry.get(type_name).integration().connection_info(config).display_url


@ROUND_TRIP
@given(host=HOSTS, port=st.integers(1, 65535), user=TEXT, database=TEXT, password=PASSWORDS,
       sslmode=st.sampled_from(["disable", "prefer", "require", "verify-ca", "verify-full"]))
def test_postgres_round_trip(registry, hub, host, port, user, database, password, sslmode):
    values = {"host": host, "port": port, "user": user, "database": database, "password": password,
              "sslmode": sslmode}
    display = _display(registry, "postgres", {k: v for k, v in values.items() if k != "password"})
    assert password not in display and quote(password, safe="") not in display
    assert _display(registry, "postgres", values) == display  # a secret passed by mistake is not shown either
    back = parse(registry, "postgres", display)
    assert back.values == {"host": host, "port": port, "user": user, "database": database}

    # The same values as a URL with the password, through the Hub, as the CLI and the dialog do.
    netloc = f"[{host}]" if ":" in host else host
    url = (f"postgresql://{quote(user, safe='')}:{quote(password, safe='')}@{netloc}:{port}/"
           f"{quote(database, safe='')}?sslmode={sslmode}")
    parsed = hub.types.values_from_url("postgres", url)
    assert parsed.values == {**values, "target_session_attrs": "any"}  # the default of what the URL leaves out
    secrets = secret_keys(registry.get("postgres").specs)
    config = {k: v for k, v in parsed.values.items() if k not in secrets}
    assert _display(registry, "postgres", config) == display


@ROUND_TRIP
@given(host=HOSTS, port=st.integers(1, 65535), db=st.integers(0, 10_000), username=st.none() | TEXT,
       password=PASSWORDS, tls=st.booleans())
def test_redis_round_trip(registry, hub, host, port, db, username, password, tls):
    config = {"host": host, "port": port, "db": db, "tls": tls}
    if username is not None:
        config["username"] = username
    display = _display(registry, "redis", config)
    assert password not in display and quote(password, safe="") not in display
    assert _display(registry, "redis", {**config, "password": password}) == display
    back = parse(registry, "redis", display)
    assert back.values == config

    netloc = f"[{host}]" if ":" in host else host
    user = quote(username, safe="") if username is not None else ""
    url = f"{'rediss' if tls else 'redis'}://{user}:{quote(password, safe='')}@{netloc}:{port}/{db}"
    assert hub.types.values_from_url("redis", url).values == {**config, "password": password}


@settings(max_examples=200, deadline=None)
@given(password=st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=30))
def test_any_percent_encoded_password_comes_back_as_it_was(registry, password):
    entry = registry.get("postgres")
    url = f"postgres://u:{quote(password, safe='')}@db/orders"
    assert parse_url(entry.manifest, entry.specs, url).values["password"] == password


@settings(max_examples=200, deadline=None)
@given(password=st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="/?#%"), min_size=1,
                        max_size=30).filter(lambda p: not any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127
                                                              for ch in p)))
def test_unencoded_passwords_with_at_colon_plus_come_back_as_they_were(registry, password):
    """Only '/', '?', '#' and '%' (and blanks) must be encoded; '@', ':', '+' and the rest may be raw."""
    assume(password)
    entry = registry.get("postgres")
    parsed = parse_url(entry.manifest, entry.specs, f"postgres://u:{password}@db:5432/orders")
    assert parsed.values == {"user": "u", "password": password, "host": "db", "port": 5432, "database": "orders"}
