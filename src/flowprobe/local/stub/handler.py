"""The stub's request handler: reads a request, routes it, and answers every failure as JSON."""

from __future__ import annotations

import logging
import time
from http import HTTPStatus
from typing import Any

from flowprobe.local.stub.body import read_body
from flowprobe.local.stub.http_server import StubHTTPServer
from flowprobe.local.stub.protocol import (
    SETTINGS_PATH,
    Reply,
    RequestError,
    api_path,
    models_answer,
    parse_chat_request,
    parse_json,
    settings_for_request,
    settings_from_json,
    settings_json,
)
from flowprobe.local.stub.replies import ReplyWriter

# An idle keep-alive connection is dropped after this long, so abandoned clients do not pin threads.
_IDLE_TIMEOUT = 300.0

# The name the stub logged under before its server was split up, so log filters keep working.
logger = logging.getLogger("flowprobe.local.stub.server")


class StubHandler(ReplyWriter):
    """Answers one connection's requests; every failure ends as JSON, never as a traceback."""

    protocol_version = "HTTP/1.1"
    server_version = "flowprobe-stub-llm"
    sys_version = ""
    timeout = _IDLE_TIMEOUT
    server: StubHTTPServer

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
