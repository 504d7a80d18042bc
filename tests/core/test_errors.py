"""The error taxonomy: library and OS exceptions land in the class whose hint tells the user what to check."""

from __future__ import annotations

import asyncio
import errno
import socket
import ssl

import pytest

from connhub.core.errors import (
    HINTS,
    TITLES,
    AuthError,
    ConnectionTestError,
    ErrorClass,
    RateLimited,
    classify,
)


@pytest.mark.parametrize(("exc", "error_class"), [
    (socket.gaierror(socket.EAI_NONAME, "Name or service not known"), ErrorClass.DNS),
    (ConnectionRefusedError(errno.ECONNREFUSED, "Connection refused"), ErrorClass.REFUSED),
    (TimeoutError(), ErrorClass.TIMEOUT),
    (asyncio.TimeoutError(), ErrorClass.TIMEOUT),
    (ssl.SSLCertVerificationError(1, "certificate verify failed: self-signed certificate"), ErrorClass.TLS),
    (ssl.SSLError(1, "wrong version number"), ErrorClass.TLS),
    (PermissionError(errno.EACCES, "Permission denied"), ErrorClass.PERMISSION),
    (OSError(errno.EHOSTUNREACH, "No route to host"), ErrorClass.REFUSED),
    (OSError(errno.ENETUNREACH, "Network is unreachable"), ErrorClass.REFUSED),
    (OSError(errno.ETIMEDOUT, "Connection timed out"), ErrorClass.TIMEOUT),
    (OSError("Multiple exceptions: [Errno 111] Connect call failed ('127.0.0.1', 1)"), ErrorClass.REFUSED),
    (FileNotFoundError(errno.ENOENT, "No such file", "/tmp/ca.pem"), ErrorClass.NOT_FOUND),
    (RuntimeError("something odd"), ErrorClass.UNKNOWN),
    (ValueError(), ErrorClass.UNKNOWN),
])
def test_classify(exc, error_class):
    error = classify(exc)
    assert isinstance(error, ConnectionTestError)
    assert error.error_class is error_class
    assert error.detail  # never an empty message


def test_dns_message_names_the_resolver_error():
    assert classify(socket.gaierror(socket.EAI_NONAME, "Name or service not known")).detail == (
        "Cannot resolve host: Name or service not known")


def test_unreachable_host_says_so():
    assert classify(OSError(errno.EHOSTUNREACH, "No route to host")).detail == (
        "Host unreachable: [Errno 113] No route to host")


def test_refused_names_the_addresses_tried_in_plain_words():
    one = ConnectionRefusedError(errno.ECONNREFUSED, "Connect call failed ('127.0.0.1', 43433)")
    both = OSError("Multiple exceptions: [Errno 111] Connect call failed ('::1', 5432, 0, 0), "
                   "[Errno 111] Connect call failed ('127.0.0.1', 5432)")
    assert classify(one).detail == "Nothing accepts connections on 127.0.0.1:43433"
    assert classify(both).detail == "Nothing accepts connections on [::1]:5432 or 127.0.0.1:5432"


def test_unknown_keeps_the_exception_type_and_text():
    assert classify(RuntimeError("something odd")).detail == "RuntimeError: something odd"
    assert classify(ValueError()).detail == "ValueError: ValueError"


def test_typed_errors_pass_through_unchanged():
    error = AuthError("password authentication failed for user \"app\"")
    assert classify(error) is error
    assert error.error_class is ErrorClass.AUTH


def test_a_typed_error_without_detail_uses_its_title():
    assert AuthError().detail == "Authentication failed"
    assert RateLimited(retry_after=30).retry_after == 30


@pytest.mark.parametrize("error_class", list(ErrorClass))
def test_every_class_has_a_title_and_a_hint(error_class):
    assert TITLES[error_class].strip()
    assert HINTS[error_class].strip().endswith(".")
