"""The studio's gate: a local server is still reachable by every web page the user visits.

A page on another site can make the browser send requests to ``127.0.0.1`` (CSRF), and a
DNS-rebinding site can even read the answers. So, as notebook servers do, every API call
must carry a random token that only the printed URL knows; the ``Host`` header must be
the loopback address and port the server bound (a rebinding site's requests carry its
own host name); an ``Origin`` header, when the browser sends one, must be the studio's
own. Request bodies are capped by ``Content-Length`` and by the bytes actually streamed.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import parse_qs

__all__ = ["Gate", "GateMiddleware", "make_token", "MAX_BODY", "TOKEN_HEADER"]

MAX_BODY = 1_000_000  # bytes in one request body
TOKEN_HEADER = "x-penbot-token"

Scope = dict
Receive = Callable[[], Awaitable[dict]]
Send = Callable[[dict], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def make_token() -> str:
    return secrets.token_urlsafe(24)


@dataclass(frozen=True)
class Gate:
    """Who may talk to the studio: the token, the ``host:port`` names it answers to, the body cap.

    ``hosts`` empty means any Host (only for tests that cannot choose their Host header).
    """

    token: str
    hosts: frozenset[str]
    max_body: int = MAX_BODY

    @classmethod
    def loopback(cls, token: str, port: int, max_body: int = MAX_BODY) -> Gate:
        return cls(token, frozenset({f"127.0.0.1:{port}", f"localhost:{port}"}), max_body)

    def host_ok(self, host: str) -> bool:
        return not self.hosts or host.lower() in self.hosts

    def origin_ok(self, origin: str | None) -> bool:
        """No Origin (a plain navigation, curl) is fine; a foreign or opaque ("null") one is not."""
        if origin is None:
            return True
        origin = origin.lower()
        return origin.startswith("http://") and self.host_ok(origin[len("http://"):])

    def token_ok(self, given: str | None) -> bool:
        return given is not None and secrets.compare_digest(given.encode(), self.token.encode())


def _headers(scope: Scope) -> dict[str, str]:
    out: dict[str, str] = {}
    for k, v in scope.get("headers") or ():
        out.setdefault(k.decode("latin-1").lower(), v.decode("latin-1"))
    return out


async def _refuse(send: Send, status: int, message: str) -> None:
    body = json.dumps({"error": message}).encode()
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
        (b"cache-control", b"no-store"),
    ]})
    await send({"type": "http.response.body", "body": body})


# sent with every answer: the page loads nothing from elsewhere and cannot be framed
SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"content-security-policy", b"default-src 'self'; img-src 'self' data: blob:; style-src 'self'; "
                                 b"script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'"),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
)


class GateMiddleware:
    """Pure ASGI middleware applying ``Gate`` before any route runs (bodies are read here, capped)."""

    def __init__(self, app: ASGIApp, gate: Gate, api_prefix: str = "/api/") -> None:
        self.app, self.gate, self.api_prefix = app, gate, api_prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = _headers(scope)
        if not self.gate.host_ok(headers.get("host", "")):
            await _refuse(send, 403, "this studio only answers to its own loopback address")
            return
        if not self.gate.origin_ok(headers.get("origin")):
            await _refuse(send, 403, "requests from other web sites are refused")
            return
        if scope["path"].startswith(self.api_prefix):
            query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
            given = headers.get(TOKEN_HEADER) or (query.get("token") or [None])[0]
            if not self.gate.token_ok(given):
                await _refuse(send, 403, "missing or wrong token: open the URL that `penbot studio` printed")
                return
        length = headers.get("content-length")
        if length is not None:
            if not length.isdigit():
                await _refuse(send, 400, "bad Content-Length")
                return
            if int(length) > self.gate.max_body:
                await _refuse(send, 413, f"request body over {self.gate.max_body:,} bytes")
                return
        if scope["method"] in ("POST", "PUT", "PATCH", "DELETE"):
            body = await _read_capped(receive, self.gate.max_body)
            if body is None:
                await _refuse(send, 413, f"request body over {self.gate.max_body:,} bytes")
                return
            receive = _replay(body, receive)

        async def send_secured(message: dict) -> None:
            if message["type"] == "http.response.start":
                message = dict(message)
                headers = list(message.get("headers") or ())
                own = {k.lower() for k, _ in headers}  # a route may set its own policy (the framed cells page)
                message["headers"] = headers + [(k, v) for k, v in SECURITY_HEADERS if k not in own]
            await send(message)

        await self.app(scope, receive, send_secured)


async def _read_capped(receive: Receive, cap: int) -> bytes | None:
    """The whole body, or None as soon as more than ``cap`` bytes arrived (chunked uploads too)."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return b"".join(chunks)
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > cap:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = [False]

    async def again() -> dict:
        if not sent[0]:
            sent[0] = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return again
