"""The stub's HTTP server: loopback only, keep-alive, chunked streams, stoppable from a test.

What it answers is decided in ``protocol.py``, bodies are read by ``body.py`` and answers
written by ``replies.py``; this module routes requests and owns the sockets and threads.
"""

from __future__ import annotations

import contextlib
import errno
import ipaddress
import logging
import signal
import socket
import socketserver
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from http import HTTPStatus
from http.server import ThreadingHTTPServer
from types import FrameType
from typing import Any, Self

from flowprobe.errors import FlowprobeError, SettingsError
from flowprobe.local.stub.body import read_body
from flowprobe.local.stub.protocol import (
    DEFAULT_SETTINGS,
    SETTINGS_PATH,
    Reply,
    RequestError,
    StubSettings,
    api_path,
    models_answer,
    parse_chat_request,
    parse_json,
    settings_for_request,
    settings_from_json,
    settings_json,
)
from flowprobe.local.stub.replies import ReplyWriter

LAST_REQUESTS_KEPT = 100

# How often a serving loop checks for stop(); short so tests that start many stubs stay fast.
_POLL_INTERVAL = 0.05
# An idle keep-alive connection is dropped after this long, so abandoned clients do not pin threads.
_IDLE_TIMEOUT = 300.0
_LOOPBACK_HINT = "127.0.0.1, ::1 or localhost"

logger = logging.getLogger(__name__)


class _Handler(ReplyWriter):
    """Answers one connection's requests; every failure ends as JSON, never as a traceback."""

    protocol_version = "HTTP/1.1"
    server_version = "flowprobe-stub-llm"
    sys_version = ""
    timeout = _IDLE_TIMEOUT
    server: _StubServer

    def log_message(self, format: str, *args: Any) -> None:
        """Log nothing: the stub sits on a load test's hot path, and headers may carry keys."""

    def do_GET(self) -> None:
        """Answer a GET (models, health)."""
        self._answer()

    def do_POST(self) -> None:
        """Answer a POST (chat completions)."""
        self._answer()

    def do_PUT(self) -> None:
        """Answer a PUT (the stub's own settings)."""
        self._answer()

    def _answer(self) -> None:
        self._response_started = False
        try:
            self.server.count_request()
            body = read_body(self.headers, self.rfile)
            self._route(body, received_at=time.monotonic())
        except RequestError as error:
            self._send_failure(error)
        except (ConnectionError, TimeoutError):
            self.close_connection = True  # the client left or stalled; there is no one to tell
        except Exception:
            logger.exception(
                "flowprobe stub-llm failed to answer %s %s", self.command, api_path(self.path)
            )
            failure = RequestError(
                HTTPStatus.INTERNAL_SERVER_ERROR,
                "the stub failed; see its log",
                kind="server_error",
                close=True,
            )
            self._send_failure(failure)

    def _route(self, body: bytes, received_at: float) -> None:
        path = api_path(self.path)
        if path == "/chat/completions":
            self._require_method("POST")
            self._chat(body, received_at)
        elif path == "/models" or path.startswith("/models/"):
            self._require_method("GET")
            self._send_json(HTTPStatus.OK, models_answer(path))
        elif path == "/health":
            self._require_method("GET")
            self._send_json(HTTPStatus.OK, {"status": "ok"})
        elif path == SETTINGS_PATH:
            self._settings(body)
        else:
            raise RequestError(
                HTTPStatus.NOT_FOUND,
                f"unknown path {self.command} {self.path}; the stub serves "
                "POST /v1/chat/completions, GET /v1/models, GET /v1/models/{id} and GET /health",
            )

    def _settings(self, body: bytes) -> None:
        # Lets a test behind Langflow change the delays, since no header of its own reaches us.
        if self.command == "PUT":
            self.server.settings = settings_from_json(parse_json(body), self.server.settings)
        else:
            self._require_method("GET")
        self._send_json(HTTPStatus.OK, settings_json(self.server.settings))

    def _require_method(self, method: str) -> None:
        if self.command != method:
            message = f"{self.command} is not allowed on {self.path}; use {method}"
            raise RequestError(HTTPStatus.METHOD_NOT_ALLOWED, message, allow=method)

    def _chat(self, body: bytes, received_at: float) -> None:
        payload = parse_json(body)
        if isinstance(payload, dict):
            self.server.last_requests.append(payload)
        chat = parse_chat_request(payload)
        settings = settings_for_request(self.server.settings, self.headers)
        reply = Reply.build(chat, settings.tokens)
        if chat.stream:
            self._stream(reply, settings, received_at)
        else:
            self._send_completion(reply, settings, received_at)


class _StubServer(ThreadingHTTPServer):
    """A threading HTTP server that keeps the stub's counters and can cut its connections."""

    daemon_threads = True
    # Never share the port: a second stub on a taken port must fail, not split the traffic.
    allow_reuse_port = False
    # The default backlog of 5 drops connections when a load test opens many at once.
    request_queue_size = 1024

    def __init__(self, address: tuple[str, int], settings: StubSettings) -> None:
        self.settings = settings
        self.last_requests: deque[dict[str, Any]] = deque(maxlen=LAST_REQUESTS_KEPT)
        self.requests_served = 0
        self._lock = threading.Lock()
        self._connections: set[Any] = set()
        super().__init__(address, _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind looks the host up with getfqdn, which can stall on DNS.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name = str(host)
        self.server_port = int(port)

    def get_request(self) -> tuple[Any, Any]:
        connection, address = super().get_request()
        # Without this, Nagle holds each small streamed chunk back until the previous is acked.
        connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return connection, address

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], ConnectionError | TimeoutError):
            return  # a client that hangs up is ordinary under load
        logger.exception("flowprobe stub-llm: unexpected error on a connection")

    def count_request(self) -> None:
        with self._lock:
            self.requests_served += 1

    def close_connections(self) -> None:
        """Cut every open connection, so keep-alive clients cannot outlive stop()."""
        with self._lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)


class _StubServer6(_StubServer):
    address_family = socket.AF_INET6


# --- the public server ----------------------------------------------------------------------


class StubLLM:
    """An OpenAI-compatible stub listening on loopback; bound on creation, served by start()."""

    def __init__(
        self, *, host: str = "127.0.0.1", port: int = 0, settings: StubSettings = DEFAULT_SETTINGS
    ) -> None:
        if not 0 <= port <= 65535:
            raise SettingsError(f"port must be 0 (any free port) to 65535, got {port}")
        self._server = _bind(_loopback_address(host), port, settings)
        self._state_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._serving = False
        self._stopped = False

    @property
    def host(self) -> str:
        """The address listened on (127.0.0.1 for ``localhost``)."""
        return str(self._server.server_address[0])

    @property
    def port(self) -> int:
        """The port listened on (the one picked by the system when 0 was asked)."""
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        """What to give an OpenAI client as its base URL, e.g. ``http://127.0.0.1:PORT/v1``."""
        return f"http://{_host_port(self.host, self.port)}/v1"

    @property
    def settings(self) -> StubSettings:
        """The pacing every request gets unless its ``x-stub-*`` headers say otherwise."""
        return self._server.settings

    @property
    def requests_served(self) -> int:
        """How many HTTP requests reached a handler, whatever the answer."""
        return self._server.requests_served

    @property
    def last_requests(self) -> deque[dict[str, Any]]:
        """The last 100 chat request bodies received, parsed, oldest first."""
        return self._server.last_requests

    def start(self) -> Self:
        """Serve in a background daemon thread; returns self."""
        with self._state_lock:
            if self._stopped:
                raise FlowprobeError("this stub LLM was stopped; create a new StubLLM")
            if self._serving:
                return self
            self._serving = True
            self._thread = threading.Thread(
                target=self._server.serve_forever,
                kwargs={"poll_interval": _POLL_INTERVAL},
                name=f"flowprobe-stub-llm-{self.port}",
                daemon=True,
            )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, cut open connections and release the port; safe to call twice."""
        with self._state_lock:
            if self._stopped:
                return
            self._stopped = True
        if self._serving:
            self._server.shutdown()
        if self._thread is not None:
            self._thread.join()
        self._server.close_connections()
        self._server.server_close()

    def serve_forever(self, *, ready: Callable[[], object] | None = None) -> None:
        """Serve in this thread until KeyboardInterrupt or SIGTERM, then stop.

        ``ready`` is called once SIGTERM would stop the stub cleanly, just before serving:
        announce readiness there, so a launcher that signals on reading it never kills the stub.
        """
        with self._state_lock:
            if self._serving or self._stopped:
                raise FlowprobeError("this stub LLM is already serving or was stopped")
            self._serving = True
        try:
            with _sigterm_interrupts():
                if ready is not None:
                    ready()
                self._server.serve_forever(poll_interval=_POLL_INTERVAL)
        except KeyboardInterrupt:
            pass  # Ctrl-C or SIGTERM is how a foreground stub is asked to stop
        finally:
            with self._state_lock:
                # The loop ran in this thread, so it is over (or never began, when SIGTERM came
                # during ready()): a shutdown() now would wait forever for a loop to end.
                self._serving = False
            self.stop()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"StubLLM(base_url={self.base_url!r}, requests_served={self.requests_served})"


def _loopback_address(host: str) -> str:
    """The address to bind for ``host``; anything but loopback is refused (there is no auth)."""
    name = host.strip().removeprefix("[").removesuffix("]")
    if name.lower() == "localhost":
        return "127.0.0.1"
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        address = None
    if address is None or not address.is_loopback:
        raise FlowprobeError(
            f"flowprobe stub-llm only listens on loopback ({_LOOPBACK_HINT}), not {host!r}: "
            "it has no authentication"
        )
    return str(address)


def _host_port(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _bind(address: str, port: int, settings: StubSettings) -> _StubServer:
    server_class = _StubServer6 if ":" in address else _StubServer
    try:
        return server_class((address, port), settings)
    except OSError as error:
        where = _host_port(address, port)
        if error.errno == errno.EADDRINUSE:
            raise FlowprobeError(f"port {where} is taken; choose another with --port") from None
        raise FlowprobeError(f"cannot listen on {where}: {error.strerror or error}") from None


def _raise_keyboard_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


@contextlib.contextmanager
def _sigterm_interrupts() -> Iterator[None]:
    """Make SIGTERM stop a foreground stub as Ctrl-C does (launchers terminate() it)."""
    if threading.current_thread() is not threading.main_thread():
        yield  # only the main thread may set signal handlers
        return
    previous = signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL if previous is None else previous)
