"""Where the stub may listen: loopback only, since it has no authentication, on a free port."""

from __future__ import annotations

import errno
import ipaddress

from flowprobe.errors import FlowprobeError
from flowprobe.local.stub.handler import StubHandler
from flowprobe.local.stub.http_server import StubHTTPServer, StubHTTPServer6
from flowprobe.local.stub.protocol import StubSettings

_LOOPBACK_HINT = "127.0.0.1, ::1 or localhost"


def loopback_address(host: str) -> str:
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


def host_port(host: str, port: int) -> str:
    """``host:port``, with an IPv6 host in brackets as URLs want it."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def bind(address: str, port: int, settings: StubSettings) -> StubHTTPServer:
    """A stub server bound and listening on ``address``; a taken port says to choose another."""
    server_class = StubHTTPServer6 if ":" in address else StubHTTPServer
    try:
        return server_class((address, port), settings, StubHandler)
    except OSError as error:
        where = host_port(address, port)
        if error.errno == errno.EADDRINUSE:
            raise FlowprobeError(f"port {where} is taken; choose another with --port") from None
        raise FlowprobeError(f"cannot listen on {where}: {error.strerror or error}") from None
