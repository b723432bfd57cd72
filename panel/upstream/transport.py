"""One POST to the upstream, bounded by a total deadline and a size cap, decoded as JSON.

``timeout`` is a total deadline for one call: connecting, sending and reading the whole body.
requests' own timeout is per socket read, so a server that trickles one byte per second would
never trip it; the body is therefore read in chunks against a monotonic deadline, and the socket
timeout is shrunk to the time left before every read. Known gap: DNS resolution is not bounded
by any timeout in requests/urllib3, and a server trickling its *headers* is only bounded per
read (both rare enough to accept).

The API key is a secret: it is never logged and never appears in an exception message
(snippets of bodies are redacted before they are quoted).
"""

from __future__ import annotations

import http.client
import json
import logging
import time
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Final
from urllib.parse import quote_plus, urlsplit

import requests
import urllib3.exceptions

from .errors import (
    UpstreamAmbiguous,
    UpstreamBadAnswer,
    UpstreamError,
    UpstreamRejected,
    UpstreamUnreachable,
    never_sent,
)

logger = logging.getLogger(__name__)

# How much of a bad body is quoted in an exception message.
_SNIPPET_CHARS: Final = 200
_READ_CHUNK: Final = 64 * 1024


class Transport:
    """The HTTP side of an ``UpstreamClient``: it owns the pooled session."""

    def __init__(
        self,
        *,
        url: str,
        key: str,
        timeout: float,
        connect_timeout: float,
        max_body_bytes: int,
        session: requests.Session | None,
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("upstream url must be an absolute http(s) URL")
        if not key:
            raise ValueError("upstream key must not be empty")
        if timeout <= 0 or connect_timeout <= 0 or max_body_bytes <= 0:
            raise ValueError("timeouts and max_body_bytes must be positive")
        self._url = url
        self._key = key
        self._timeout = float(timeout)
        self._connect_timeout = float(connect_timeout)
        self._max_body_bytes = max_body_bytes
        # requests' default adapter does not retry (urllib3 Retry(0, read=False)),
        # which is what we need: a retried POST could place an order twice.
        self._session = session if session is not None else requests.Session()

    @property
    def url(self) -> str:
        return self._url

    def close(self) -> None:
        self._session.close()

    def call(self, action: str, params: Mapping[str, str | int]) -> Any:
        """POST one action; return the decoded JSON, or raise.

        A whole-answer ``{"error": "..."}`` raises UpstreamRejected here, for
        every action (per-item errors of multi answers are inside lists or
        keyed objects, so they never look like this).
        """
        started = time.monotonic()
        deadline = started + self._timeout
        try:
            response = self._session.post(
                self._url,
                data={"key": self._key, "action": action, **params},
                timeout=(min(self._connect_timeout, self._timeout), self._timeout),
                stream=True,
                # A redirected POST is re-sent (307/308), possibly to another
                # host, with our key in it; never follow.
                allow_redirects=False,
                headers={"Accept": "application/json"},
            )
        except requests.RequestException as exc:
            # `from None`: requests' exception carries the prepared request,
            # whose body holds the key; do not chain it into our error.
            raise self._transport_error(action, exc, started) from None

        with response:
            if response.status_code != 200:
                snippet = self._read_snippet(response, deadline)
                raise UpstreamBadAnswer(
                    f"upstream {action}: HTTP {response.status_code}: {snippet}", action=action
                )
            body = self._read_body(action, response, deadline)

        answer = self._decode(action, body, response.headers.get("Content-Type", ""))
        if isinstance(answer, Mapping) and "error" in answer and "order" not in answer:
            message = self.redact(str(answer["error"]))
            logger.info("upstream %s rejected: %s", action, message)
            raise UpstreamRejected(message, action=action)
        logger.debug("upstream %s answered in %.3fs", action, time.monotonic() - started)
        return answer

    def _transport_error(
        self, action: str, exc: requests.RequestException, started: float
    ) -> UpstreamError:
        elapsed = time.monotonic() - started
        detail = self.redact(f"{type(exc).__name__}: {exc}")[:300]
        if never_sent(exc):
            logger.warning("upstream %s unreachable after %.2fs: %s", action, elapsed, detail)
            return UpstreamUnreachable(f"upstream {action}: not reached: {detail}", action=action)
        logger.warning("upstream %s ambiguous after %.2fs: %s", action, elapsed, detail)
        return UpstreamAmbiguous(f"upstream {action}: sent, no answer: {detail}", action=action)

    def _read_body(self, action: str, response: requests.Response, deadline: float) -> bytes:
        raw = response.raw
        chunks: list[bytes] = []
        size = 0
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise self._past_deadline(action, size)
            _shrink_read_timeout(raw, remaining)
            try:
                # read1 returns as soon as some bytes are there, so the deadline
                # is checked even when the server trickles the body.
                chunk = raw.read1(_READ_CHUNK, decode_content=True)
            except (
                urllib3.exceptions.HTTPError,
                http.client.HTTPException,
                OSError,
                ValueError,
            ) as exc:
                timed_out = isinstance(exc, urllib3.exceptions.ReadTimeoutError | TimeoutError)
                if timed_out or time.monotonic() >= deadline:  # the shrunken socket timeout fired
                    raise self._past_deadline(action, size) from None
                detail = self.redact(f"{type(exc).__name__}: {exc}")[:300]
                raise UpstreamAmbiguous(
                    f"upstream {action}: answer broken off after {size} bytes: {detail}",
                    action=action,
                ) from None
            if not chunk:
                return b"".join(chunks)
            size += len(chunk)
            if size > self._max_body_bytes:
                raise UpstreamBadAnswer(
                    f"upstream {action}: answer larger than {self._max_body_bytes} bytes",
                    action=action,
                )
            chunks.append(chunk)

    def _past_deadline(self, action: str, size: int) -> UpstreamAmbiguous:
        return UpstreamAmbiguous(
            f"upstream {action}: answer not complete within the {self._timeout:g}s deadline "
            f"({size} bytes read)",
            action=action,
        )

    def _read_snippet(self, response: requests.Response, deadline: float) -> str:
        """Best effort: a short quote of an error page, never blocking past the deadline."""
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return "(no body read)"
        _shrink_read_timeout(response.raw, remaining)
        try:
            data = response.raw.read1(_SNIPPET_CHARS * 4, decode_content=True)
        except Exception:  # noqa: BLE001 - only decorates an error already being raised
            return "(body unreadable)"
        return self._snippet(data)

    def _decode(self, action: str, body: bytes, content_type: str) -> Any:
        try:
            text = body.decode("utf-8-sig")  # a BOM from a PHP include is common enough
        except UnicodeDecodeError:
            raise UpstreamBadAnswer(
                f"upstream {action}: answer is not UTF-8: {self._snippet(body)}", action=action
            ) from None
        if not text.strip():
            raise UpstreamBadAnswer(f"upstream {action}: empty answer", action=action)
        # Judged by the body, not the Content-Type: PHP panels often send JSON
        # labelled text/html, and error pages labelled application/json.
        if text.lstrip().startswith("<"):
            raise UpstreamBadAnswer(
                f"upstream {action}: answered HTML ({content_type or 'no content type'}), "
                f"not JSON: {self._snippet(body)}",
                action=action,
            )
        try:
            return json.loads(text, parse_float=Decimal, parse_constant=_reject_json_constant)
        except ValueError as exc:
            kind = "truncated JSON" if _at_end(exc, text) else "malformed JSON"
            raise UpstreamBadAnswer(
                f"upstream {action}: {kind}: {self._snippet(body)}", action=action
            ) from None

    def _snippet(self, data: bytes) -> str:
        text = data[: _SNIPPET_CHARS * 4].decode("utf-8", errors="replace")
        return repr(self.redact(" ".join(text.split()))[:_SNIPPET_CHARS])

    def redact(self, text: str) -> str:
        for secret in {self._key, quote_plus(self._key)}:
            text = text.replace(secret, "***")
        return text


def _at_end(exc: ValueError, text: str) -> bool:
    """True if the JSON decoder stopped at the end of the text (it wanted more)."""
    return isinstance(exc, json.JSONDecodeError) and exc.pos >= len(text.rstrip())


def _shrink_read_timeout(raw: Any, remaining: float) -> None:
    """Bound the next socket read by the time left before the deadline.

    Reaches into urllib3's connection; if that ever changes shape we fall back
    to the read timeout set at request time, and the deadline check between
    reads still bounds the call to about twice the timeout.
    """
    sock = getattr(getattr(raw, "connection", None), "sock", None)
    if sock is not None:
        try:
            sock.settimeout(max(remaining, 0.001))
        except OSError:
            pass


def _reject_json_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")
