"""Hosted Langflow's URL form, served locally in front of a self-hosted Langflow.

Hosted Langflow serves a flow at ``{base}/lf/{LANGFLOW_ID}/api/v1/run/{flow}`` and accepts only
``Authorization: Bearer <key>``. The gateway listens on 127.0.0.1 and forwards
``/lf/{LANGFLOW_ID}/<path>`` to the upstream Langflow's ``/<path>`` with the bearer token as
``x-api-key``, so that the hosted form can be tested with no hosted account:

- a request without a bearer token (``x-api-key`` alone, or nothing) answers 401 with
  ``WWW-Authenticate: Bearer``, before anything reaches the upstream; a wrong token is
  forwarded and refused by Langflow itself (403);
- any path outside ``/lf/{LANGFLOW_ID}/`` (another id, Langflow's own ``/api/v1/...``) answers
  404, as hosted Langflow has no such route;
- ``/lf/{LANGFLOW_ID}/health`` is forwarded without a token: it says whether the upstream runs,
  and is what a launcher waits for;
- answers pass through chunk by chunk as they arrive (never buffered), so a stream's time to
  first token is Langflow's own; a request body is read up to ``max_request_bytes`` (413 past
  it), an answer relayed up to ``max_answer_bytes``, each call within ``total_timeout``.

Run it with ``python -m flowprobe.local.gateway --port 8200 --upstream http://127.0.0.1:7860``;
the Langflow id is generated once and saved in ``--id-file`` (``.flowprobe/langflow-id``).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import sys
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from flowprobe.errors import FlowprobeError
from flowprobe.local.stub.http_server import StubHTTPServer
from flowprobe.local.stub.protocol import DEFAULT_SETTINGS
from flowprobe.local.stub.signals import sigterm_interrupts

logger = logging.getLogger("flowprobe.local.gateway")

ID_FILE = Path(".flowprobe") / "langflow-id"
# Langflow's own health routes: public on Langflow, forwarded here without a token.
PUBLIC_PATHS = frozenset({"/health", "/health_check"})
# Hop-by-hop headers, and those the gateway sets itself, are never relayed as they came.
_REQUEST_DROPPED = frozenset(
    {
        *("connection", "keep-alive", "proxy-connection", "te", "trailer", "upgrade"),
        *("transfer-encoding", "host", "content-length", "accept-encoding"),
        *("authorization", "x-api-key"),
    }
)
_ANSWER_DROPPED = frozenset(
    {"connection", "keep-alive", "transfer-encoding", "content-length", "trailer", "upgrade"}
)
# Langflow on SQLite can keep its database locked when a run is cut off mid-stream, so an
# answer whose caller left is still read to its end upstream, for at most this long.
DRAIN_LIMIT = 60.0


@dataclass(frozen=True, slots=True, kw_only=True)
class GatewayLimits:
    """Bounds on what one call may take: bytes in, bytes out, seconds."""

    max_request_bytes: int = 64 * 1024 * 1024
    max_answer_bytes: int = 256 * 1024 * 1024
    connect_timeout: float = 10.0
    idle_timeout: float = 120.0  # between two reads of the upstream answer
    total_timeout: float = 600.0
    client_idle_timeout: float = 60.0  # a caller that sends nothing for this long is dropped


def langflow_id_for(id_file: Path) -> str:
    """The Langflow id saved in ``id_file``; a new one, saved there, the first time."""
    with contextlib.suppress(FileNotFoundError):
        saved = id_file.read_text(encoding="utf-8").strip()
        if saved:
            return _checked_id(saved)
    fresh = str(uuid.uuid4())
    id_file.parent.mkdir(parents=True, exist_ok=True)
    id_file.write_text(fresh + "\n", encoding="utf-8")
    return fresh


def _checked_id(langflow_id: str) -> str:
    if not langflow_id or not all(c.isalnum() or c in "-_" for c in langflow_id):
        raise FlowprobeError(
            f"Langflow id {langflow_id!r} must be letters, digits, - or _ (a UUID, as hosted "
            "Langflow's are)"
        )
    return langflow_id


def _checked_upstream(upstream: str) -> str:
    parts = urlsplit(upstream)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query:
        raise FlowprobeError(
            f"upstream {upstream!r} is not an http(s) URL of a Langflow server, "
            "e.g. http://127.0.0.1:7860"
        )
    return upstream.rstrip("/")


class GatewayHTTPServer(StubHTTPServer):
    """The stub's threading server (no DNS lookup on bind, Nagle off for streamed chunks,
    connections cut on stop), forwarding to one upstream Langflow."""

    def __init__(
        self, port: int, *, upstream: str, langflow_id: str, limits: GatewayLimits
    ) -> None:
        self.upstream = _checked_upstream(upstream)
        self.langflow_id = _checked_id(langflow_id)
        self.limits = limits
        timeout = httpx.Timeout(
            connect=limits.connect_timeout,
            read=limits.idle_timeout,
            write=limits.idle_timeout,
            pool=limits.connect_timeout,
        )
        # Redirects pass through to the caller as answers; the gateway never follows them.
        self.http = httpx.Client(timeout=timeout, follow_redirects=False)
        try:
            super().__init__(("127.0.0.1", port), DEFAULT_SETTINGS, GatewayHandler)
        except OSError as error:
            self.http.close()
            raise FlowprobeError(
                f"the gateway cannot listen on 127.0.0.1:{port}: {error.strerror or error}"
            ) from None

    @property
    def prefix(self) -> str:
        return f"/lf/{self.langflow_id}"

    @property
    def base_url(self) -> str:
        """What a hosted-form client takes as its base URL (the id goes separately)."""
        return f"http://127.0.0.1:{self.server_address[1]}"

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], ConnectionError | TimeoutError):
            return  # a caller hanging up is ordinary
        logger.exception("flowprobe gateway: unexpected error on a connection")

    def server_close(self) -> None:
        super().server_close()
        self.http.close()


class _CallerLeft(Exception):
    """The caller closed its connection while an answer was relayed."""


class GatewayHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: GatewayHTTPServer

    def setup(self) -> None:
        super().setup()
        self.connection.settimeout(self.server.limits.client_idle_timeout)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # a request line may carry a key in its query: nothing is logged per request

    def do_GET(self) -> None:
        self._serve()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = do_GET

    def _serve(self) -> None:
        self.server.count_request()
        path, _, query = self.path.partition("?")
        prefix = self.server.prefix
        if not path.startswith(prefix + "/"):
            self._refuse(404, "Not Found")
            return
        rest = path[len(prefix) :]
        token = self._bearer_token()
        if token is None and rest not in PUBLIC_PATHS:
            self._refuse(
                401,
                "hosted Langflow takes the key as Authorization: Bearer <key> only",
                {"WWW-Authenticate": "Bearer"},
            )
            return
        body = self._request_body()
        if body is None:
            return
        url = self.server.upstream + rest + (f"?{query}" if query else "")
        self._forward(url, body, token)

    def _bearer_token(self) -> str | None:
        scheme, _, token = (self.headers.get("authorization") or "").strip().partition(" ")
        return (token.strip() or None) if scheme.lower() == "bearer" else None

    def _request_body(self) -> bytes | None:
        """The request's body; None once a refusal has been sent for it."""
        if self.headers.get("transfer-encoding"):
            self._refuse(411, "send the request body with a Content-Length", close=True)
            return None
        try:
            length = int(self.headers.get("content-length") or 0)
        except ValueError:
            length = -1
        if length < 0:
            self._refuse(400, "the Content-Length is not a number of bytes", close=True)
            return None
        if length > self.server.limits.max_request_bytes:
            limit = self.server.limits.max_request_bytes
            self._refuse(413, f"the request body is over {limit} bytes", close=True)
            return None
        return self.rfile.read(length) if length else b""

    def _upstream_headers(self, token: str | None) -> dict[str, str]:
        headers = {k: v for k, v in self.headers.items() if k.lower() not in _REQUEST_DROPPED}
        # Identity: the bytes are relayed as they come, so nothing must need decoding.
        headers["accept-encoding"] = "identity"
        if token is not None:
            headers["x-api-key"] = token
        return headers

    def _forward(self, url: str, body: bytes, token: str | None) -> None:
        started = time.monotonic()
        http = self.server.http
        request = http.build_request(
            self.command, url, content=body, headers=self._upstream_headers(token)
        )
        try:
            answer = http.send(request, stream=True)
        except httpx.HTTPError as exc:
            self._refuse(502, f"the upstream Langflow did not answer ({type(exc).__name__})")
            return
        try:
            self._relay(answer, started)
        except _CallerLeft:
            self.close_connection = True
            _drain(answer, started)
        except (httpx.HTTPError, TimeoutError):
            # Headers are out: the only honest signal left is a cut connection (no last chunk).
            self.close_connection = True
        finally:
            answer.close()

    def _relay(self, answer: httpx.Response, started: float) -> None:
        self.send_response(answer.status_code, answer.reason_phrase)
        for name, value in answer.headers.multi_items():
            if name.lower() not in _ANSWER_DROPPED:
                self.send_header(name, value)
        bodiless = self.command == "HEAD" or answer.status_code in (204, 304)
        if not bodiless:
            self.send_header("transfer-encoding", "chunked")
        try:
            self.end_headers()
        except OSError as exc:
            raise _CallerLeft from exc
        if bodiless:
            return
        relayed = 0
        for chunk in answer.iter_raw():
            relayed += len(chunk)
            if relayed > self.server.limits.max_answer_bytes:
                raise TimeoutError("the answer is over the gateway's size limit")
            if time.monotonic() - started > self.server.limits.total_timeout:
                raise TimeoutError("the answer is past the gateway's total deadline")
            if chunk:  # an empty chunk would end the chunked body early
                self._write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        self._write(b"0\r\n\r\n")

    def _write(self, data: bytes) -> None:
        try:
            self.wfile.write(data)
            self.wfile.flush()
        except OSError as exc:
            raise _CallerLeft from exc

    def _refuse(
        self,
        status: int,
        detail: str,
        headers: dict[str, str] | None = None,
        *,
        close: bool = False,
    ) -> None:
        payload = json.dumps({"detail": detail}).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(payload)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if close:  # the unread body would be taken for the next request
            self.send_header("connection", "close")
            self.close_connection = True
        self.end_headers()
        if self.command != "HEAD":
            with contextlib.suppress(OSError):
                self.wfile.write(payload)


def _drain(answer: httpx.Response, started: float) -> None:
    """Read the rest of an answer nobody waits for, within :data:`DRAIN_LIMIT`."""
    with contextlib.suppress(httpx.HTTPError):
        for _ in answer.iter_raw():
            if time.monotonic() - started > DRAIN_LIMIT:
                return


class Gateway:
    """The gateway's lifecycle: bound on creation, served in a thread or the foreground."""

    def __init__(
        self,
        *,
        upstream: str,
        langflow_id: str,
        port: int = 0,
        limits: GatewayLimits | None = None,
    ) -> None:
        if not 0 <= port <= 65535:
            raise FlowprobeError(f"port must be 0 (any free port) to 65535, got {port}")
        self._server = GatewayHTTPServer(
            port, upstream=upstream, langflow_id=langflow_id, limits=limits or GatewayLimits()
        )
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        return self._server.base_url

    @property
    def langflow_id(self) -> str:
        return self._server.langflow_id

    @property
    def requests_served(self) -> int:
        return self._server.requests_served

    def start(self) -> Gateway:
        """Serve in a background daemon thread."""
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, cut open connections and release the port."""
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join()
            self._thread = None
        self._server.close_connections()
        self._server.server_close()

    def serve_forever(self) -> None:
        """Serve in this thread until Ctrl-C or SIGTERM."""
        try:
            with sigterm_interrupts():
                self._server.serve_forever(poll_interval=0.05)
        except KeyboardInterrupt:
            pass
        finally:
            self._server.close_connections()
            self._server.server_close()

    def __enter__(self) -> Gateway:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def _arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m flowprobe.local.gateway",
        description="Serve hosted Langflow's URL form (/lf/{LANGFLOW_ID}/..., bearer token) on "
        "127.0.0.1, forwarding to a self-hosted Langflow.",
    )
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port (printed)")
    parser.add_argument("--upstream", default="http://127.0.0.1:7860", help="Langflow's URL")
    parser.add_argument("--langflow-id", default=None, help="[default: the one in --id-file]")
    parser.add_argument(
        "--id-file",
        type=Path,
        default=ID_FILE,
        help=f"where the generated Langflow id is kept [default: {ID_FILE}]",
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """The command line: serve in the foreground; a usage problem is one line and exit 2."""
    arguments = _arguments(argv)
    try:
        langflow_id = arguments.langflow_id or langflow_id_for(arguments.id_file)
        gateway = Gateway(upstream=arguments.upstream, langflow_id=langflow_id, port=arguments.port)
    except (FlowprobeError, OSError) as exc:
        print(f"flowprobe gateway: {exc}", file=sys.stderr)
        return 2
    print(
        f"flowprobe gateway listening on {gateway.base_url}/lf/{gateway.langflow_id}/ "
        f"-> {arguments.upstream}",
        flush=True,
    )
    gateway.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
