"""StubLLM, the stub's lifecycle: bound on creation, served in a thread or the foreground, stopped.

The sockets are bound in ``binding.py``, requests answered by ``handler.py``, and a foreground
stub stops on SIGTERM through ``signals.py``.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from typing import Any, Self

from flowprobe.errors import FlowprobeError, SettingsError
from flowprobe.local.stub.binding import bind, host_port, loopback_address
from flowprobe.local.stub.protocol import DEFAULT_SETTINGS, StubSettings
from flowprobe.local.stub.signals import sigterm_interrupts

# How often a serving loop checks for stop(); short so tests that start many stubs stay fast.
_POLL_INTERVAL = 0.05


class StubLLM:
    """An OpenAI-compatible stub listening on loopback; bound on creation, served by start()."""

    def __init__(
        self, *, host: str = "127.0.0.1", port: int = 0, settings: StubSettings = DEFAULT_SETTINGS
    ) -> None:
        if not 0 <= port <= 65535:
            raise SettingsError(f"port must be 0 (any free port) to 65535, got {port}")
        self._server = bind(loopback_address(host), port, settings)
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
        return f"http://{host_port(self.host, self.port)}/v1"

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
            with sigterm_interrupts():
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
