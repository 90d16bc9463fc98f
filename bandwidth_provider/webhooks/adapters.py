"""Thin front ends over `Receiver`: a WSGI app and an AWS Lambda function-URL handler."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from ..wire import MAX_NOTIFICATION_BYTES
from .duplicates import DuplicateDetector
from .receiver import Handler, Receiver, Reply

__all__ = ["make_lambda_handler", "make_wsgi_app"]

#: Reason phrases of the statuses a Receiver answers with (WSGI needs them in the status line).
_REASONS = {
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    405: "Method Not Allowed",
    413: "Payload Too Large",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


# ---------------------------------------------------------------- WSGI


def _read_wsgi_body(environ: Mapping[str, Any], limit: int) -> bytes:
    """At most `limit + 1` bytes, so an oversized body is detected without reading all of it."""
    stream = environ.get("wsgi.input")
    if stream is None:
        return b""
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length <= 0:
        return stream.read(limit + 1) if environ.get("wsgi.input_terminated") else b""
    data: bytes = stream.read(min(length, limit + 1))
    return data


WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def make_wsgi_app(
    handler: Handler,
    *,
    username: str | None,
    password: str | None,
    duplicates: DuplicateDetector | None = None,
    max_bytes: int = MAX_NOTIFICATION_BYTES,
) -> WSGIApp:
    """A WSGI application that receives notifications for `handler` (serve it at the callback URL).

    The handler runs synchronously: 200 is answered only after it returns, so raise to signal a
    failure (the API's Status then shows it). Keep it quick, since Bandwidth waits for the answer.
    """
    receiver = Receiver(handler, username=username, password=password, duplicates=duplicates, max_bytes=max_bytes)

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        method = str(environ.get("REQUEST_METHOD", "GET"))
        # Read (a bounded amount of) the body even before answering 401, so a keep-alive
        # connection stays in sync for the credentialed resend.
        body = _read_wsgi_body(environ, receiver.max_bytes) if method.upper() == "POST" else b""
        reply = receiver.respond(method, environ.get("HTTP_AUTHORIZATION"), body)
        start_response(f"{reply.status} {_REASONS.get(reply.status, '')}".rstrip(), reply.all_headers)
        return [reply.body.encode()]

    app.receiver = receiver  # type: ignore[attr-defined]
    return app


# ---------------------------------------------------------------- AWS Lambda function URLs

LambdaHandler = Callable[[Mapping[str, Any], Any], dict[str, Any]]


def make_lambda_handler(
    handler: Handler,
    *,
    username: str | None,
    password: str | None,
    duplicates: DuplicateDetector | None = None,
    max_bytes: int = MAX_NOTIFICATION_BYTES,
) -> LambdaHandler:
    """A Lambda entry point for a function URL (payload format 2.0) with the same semantics as the WSGI app.

    The function URL itself must use authorization type NONE: Bandwidth authenticates with the
    Basic challenge handled here, not with AWS signatures.
    """
    receiver = Receiver(handler, username=username, password=password, duplicates=duplicates, max_bytes=max_bytes)

    def lambda_handler(event: Mapping[str, Any], context: Any = None) -> dict[str, Any]:
        request = _lambda_request(event)
        if request is None:
            return _lambda_reply(Reply(400, "malformed request\n"))
        return _lambda_reply(receiver.respond(*request))

    lambda_handler.receiver = receiver  # type: ignore[attr-defined]
    return lambda_handler


def _lambda_request(event: object) -> tuple[str, str | None, bytes] | None:
    """(method, Authorization, body) of a function URL event; None when the event is malformed.

    Total on purpose: a missing or non-string body, bad base64, or missing headers must answer 400,
    never raise (an exception would surface as a 502 from the function URL with a stack trace in logs).
    """
    if not isinstance(event, Mapping):
        return None
    context = event.get("requestContext")
    http = context.get("http") if isinstance(context, Mapping) else None
    method = (http.get("method") if isinstance(http, Mapping) else None) or event.get("httpMethod") or "GET"
    if not isinstance(method, str):
        return None
    if method.upper() != "POST":
        return method, None, b""  # answered 405 whatever else the event holds
    headers, raw, encoded = event.get("headers"), event.get("body"), event.get("isBase64Encoded", False)
    if not isinstance(headers, Mapping) or not isinstance(raw, str) or not isinstance(encoded, bool):
        return None
    authorization = [v for k, v in headers.items() if isinstance(k, str) and k.lower() == "authorization"]
    if len(authorization) > 1 or not all(isinstance(v, str) for v in authorization):
        return None
    try:
        body = base64.b64decode(raw, validate=True) if encoded else raw.encode("utf-8")
    except (binascii.Error, ValueError):  # bad base64, or a lone surrogate that UTF-8 cannot carry
        return None
    return method, authorization[0] if authorization else None, body


def _lambda_reply(reply: Reply) -> dict[str, Any]:
    return {
        "statusCode": reply.status,
        "headers": {name: value for name, value in reply.all_headers if name != "Content-Length"},
        "body": reply.body,
    }
