"""The sandbox over HTTP: ``/api/v2`` (form POST, or GET with a query string) and the control
surface under ``/_sandbox/``. Never expose it beyond loopback.

In-process (tests)::

    server = SandboxServer().start(host="127.0.0.1", port=0)
    client = UpstreamClient(url=server.url, key="sandbox-key")
    server.sandbox.advance(3600)      # move the sandbox's clock one hour on
    server.stop()
"""

from __future__ import annotations

import json
import socket
import struct
import sys
import threading
from collections.abc import Callable, Mapping
from decimal import InvalidOperation
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from .control import control
from .faults import serve_api
from .model import MAX_REQUEST_BYTES, int_or_none, to_json
from .simulator import Sandbox


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    # Do not wait for request threads on close: some are stalling on purpose.
    block_on_close = False

    def __init__(self, address: tuple[str, int], sandbox: Sandbox, *, verbose: bool) -> None:
        self.sandbox = sandbox
        self.verbose = verbose
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()
        super().__init__(address, _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients hanging up mid-answer is the point of several faults: stay quiet.
        if self.verbose:
            super().handle_error(request, client_address)

    def close_connections(self) -> None:
        with self.connections_lock:
            for conn in list(self.connections):
                try:
                    conn.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            self.connections.clear()


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"  # keep-alive, like the real upstream behind nginx
    server_version = "sandbox-upstream/1"
    timeout = 60  # idle keep-alive connections are closed after this

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in two writes; without NODELAY, Nagle holds the body
        # until the client's delayed ACK (~40 ms a request). nginx sets it too.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self.server.connections_lock:
            self.server.connections.add(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        except OSError:
            pass
        with self.server.connections_lock:
            self.server.connections.discard(self.connection)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        if self.server.verbose:
            sys.stderr.write(f"sandbox: {self.address_string()} {format % args}\n")

    def do_GET(self) -> None:
        self._dispatch(body=b"")

    def do_POST(self) -> None:
        length = int_or_none(self.headers.get("Content-Length")) or 0
        if length > MAX_REQUEST_BYTES:
            self.send(413, b'{"error": "Request too large"}')
            self.close_connection = True
            return
        self._dispatch(body=self.rfile.read(length) if length > 0 else b"")

    def _dispatch(self, *, body: bytes) -> None:
        url = urlsplit(self.path)
        if url.path.rstrip("/") == "/api/v2":
            params = dict(parse_qsl(url.query, keep_blank_values=True))
            params.update(parse_qsl(body.decode("utf-8", errors="replace"), keep_blank_values=True))
            serve_api(self, self.server.sandbox, params)
        elif url.path.startswith("/_sandbox/"):
            self._control(url.path.removeprefix("/_sandbox/").strip("/"), body)
        else:
            self.send(404, to_json({"error": "Not found"}))

    def _control(self, name: str, body: bytes) -> None:
        sandbox = self.server.sandbox
        try:
            payload = json.loads(body.decode("utf-8")) if body.strip() else {}
            if not isinstance(payload, dict):
                raise ValueError("the body must be a JSON object")
            result = control(sandbox, self.command, name, payload)
            if self.command == "POST":
                sandbox.persist()
        except LookupError:
            self.send(404, to_json({"error": f"unknown control {self.command} /_sandbox/{name}"}))
            return
        except (ValueError, TypeError, InvalidOperation) as exc:
            self.send(400, to_json({"error": str(exc)}))
            return
        self.send(200, to_json(result if result is not None else {"ok": True}))

    # ------------------------------------------------------------------ writing (faults.Reply)

    def send(
        self,
        status: int,
        body: bytes,
        *,
        content_type: str = "application/json",
        content_length: int | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", f"{content_type}; charset=utf-8")
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.send_header(
                "Content-Length", str(len(body) if content_length is None else content_length)
            )
            self.end_headers()
            self.wfile.write(body)
            self.wfile.flush()
        except OSError:
            self.close_connection = True  # the client left (it gave up waiting)

    def send_slowly(self, body: bytes, *, delay: float) -> None:
        try:
            self.send_response(200)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.flush()
            generation = self.server.sandbox.generation
            for index in range(len(body)):
                if self.server.sandbox.generation != generation:
                    self.close_connection = True
                    return
                self.wfile.write(body[index : index + 1])
                self.wfile.flush()
                self.server.sandbox.sleep(delay)
        except OSError:
            self.close_connection = True

    def drop(self, *, reset: bool) -> None:
        """Close the connection without a word; with ``reset``, abortively (RST)."""
        self.close_connection = True
        if reset:
            # Linger 0 + close before the server's own shutdown(SHUT_WR), which
            # would send a polite FIN first: the client gets a connection reset.
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()


class SandboxServer:
    """Serves a ``Sandbox`` over HTTP from a daemon thread."""

    def __init__(self, sandbox: Sandbox | None = None, *, verbose: bool = False) -> None:
        self.sandbox = sandbox if sandbox is not None else Sandbox()
        self._verbose = verbose
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def start(self, host: str = "127.0.0.1", port: int = 0) -> SandboxServer:
        if self._server is not None:
            raise RuntimeError("already started")
        self._server = _Server((host, port), self.sandbox, verbose=self._verbose)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.1},
            name=f"sandbox-upstream:{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    @property
    def host(self) -> str:
        return str(self._require().server_address[0])

    @property
    def port(self) -> int:
        return int(self._require().server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def url(self) -> str:
        """The API endpoint, as the client's ``url``."""
        return f"{self.base_url}/api/v2"

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        self.sandbox.wake_sleepers()
        server.shutdown()
        server.close_connections()
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def serve_forever(
        self,
        host: str = "127.0.0.1",
        port: int = 8001,
        *,
        ready: Callable[[SandboxServer], None] | None = None,
    ) -> None:
        """Foreground serving for the command line; Ctrl-C stops it. ``ready`` is called
        once the port is bound, so whoever waits for the banner can connect at once."""
        self._server = _Server((host, port), self.sandbox, verbose=self._verbose)
        if ready is not None:
            ready(self)
        try:
            self._server.serve_forever(poll_interval=0.5)
        except KeyboardInterrupt:
            pass
        finally:
            self.stop()
            self.sandbox.persist()  # the clock as it stopped

    def __enter__(self) -> SandboxServer:
        return self if self._server is not None else self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _require(self) -> _Server:
        if self._server is None:
            raise RuntimeError("the sandbox server is not running")
        return self._server
