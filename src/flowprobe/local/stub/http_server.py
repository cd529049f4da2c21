"""The threading HTTP server under the stub: its counters, and the connections stop() cuts."""

from __future__ import annotations

import contextlib
import logging
import socket
import socketserver
import sys
import threading
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from flowprobe.local.stub.protocol import StubSettings

LAST_REQUESTS_KEPT = 100

# The name the stub logged under before its server was split up, so log filters keep working.
logger = logging.getLogger("flowprobe.local.stub.server")


class StubHTTPServer(ThreadingHTTPServer):
    """A threading HTTP server that keeps the stub's counters and can cut its connections."""

    daemon_threads = True
    # Never share the port: a second stub on a taken port must fail, not split the traffic.
    allow_reuse_port = False
    # The default backlog of 5 drops connections when a load test opens many at once.
    request_queue_size = 1024

    def __init__(
        self,
        address: tuple[str, int],
        settings: StubSettings,
        handler: type[BaseHTTPRequestHandler],
    ) -> None:
        self.settings = settings
        self.last_requests: deque[dict[str, Any]] = deque(maxlen=LAST_REQUESTS_KEPT)
        self.requests_served = 0
        self._lock = threading.Lock()
        self._connections: set[Any] = set()
        super().__init__(address, handler)

    def server_bind(self) -> None:
        """Bind without HTTPServer's getfqdn lookup of the host, which can stall on DNS."""
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name = str(host)
        self.server_port = int(port)

    def get_request(self) -> tuple[Any, Any]:
        """Accept a connection with Nagle off, so each small streamed chunk leaves at once."""
        connection, address = super().get_request()
        connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return connection, address

    def process_request(self, request: Any, client_address: Any) -> None:
        """Serve a connection in its thread, remembered until it is shut down."""
        with self._lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        """Close a connection and forget it."""
        with self._lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Log a connection's unexpected error; a client hanging up is ordinary under load."""
        if isinstance(sys.exc_info()[1], ConnectionError | TimeoutError):
            return
        logger.exception("flowprobe stub-llm: unexpected error on a connection")

    def count_request(self) -> None:
        """Count one request that reached a handler."""
        with self._lock:
            self.requests_served += 1

    def close_connections(self) -> None:
        """Cut every open connection, so keep-alive clients cannot outlive stop()."""
        with self._lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)


class StubHTTPServer6(StubHTTPServer):
    """The same server on IPv6 (``::1``)."""

    address_family = socket.AF_INET6
