"""Reading a request's body off the connection: by Content-Length or chunked, within limits.

A body over the limit is refused from its declared sizes, before it is read, so a runaway
client cannot make the stub hold it in memory.
"""

from __future__ import annotations

from email.message import Message
from http import HTTPStatus
from io import BufferedIOBase

from flowprobe.local.stub.protocol import RequestError

_MAX_BODY_BYTES = 16 * 1024 * 1024
_MAX_CHUNK_LINE = 1024


def read_body(headers: Message, rfile: BufferedIOBase) -> bytes:
    """The request's whole body; a ``RequestError`` for a bad or oversized one."""
    encoding = headers.get("Transfer-Encoding")
    if encoding is not None:
        if encoding.strip().lower() != "chunked":
            raise RequestError(
                HTTPStatus.BAD_REQUEST,
                f"Transfer-Encoding {encoding!r} is not supported",
                close=True,
            )
        return _read_chunked_body(rfile)
    return _read_exactly(rfile, _content_length(headers.get("Content-Length")))


def _read_chunked_body(rfile: BufferedIOBase) -> bytes:
    parts: list[bytes] = []
    total = 0
    while size := _chunk_size(rfile.readline(_MAX_CHUNK_LINE + 1)):
        total += size
        if total > _MAX_BODY_BYTES:
            raise _too_large()
        parts.append(_read_exactly(rfile, size))
        _read_exactly(rfile, 2)  # the CRLF that closes every chunk
    while rfile.readline(_MAX_CHUNK_LINE + 1) not in (b"\r\n", b"\n", b""):
        pass  # trailers carry nothing the stub uses
    return b"".join(parts)


def _read_exactly(rfile: BufferedIOBase, size: int) -> bytes:
    data = rfile.read(size) if size else b""
    if len(data) < size:
        raise ConnectionResetError("the client closed before sending its whole body")
    return data


def _content_length(text: str | None) -> int:
    if text is None:
        return 0
    try:
        length = int(text)
    except ValueError:
        length = -1
    if length < 0:
        raise RequestError(HTTPStatus.BAD_REQUEST, f"bad Content-Length {text!r}", close=True)
    if length > _MAX_BODY_BYTES:
        raise _too_large()
    return length


def _chunk_size(line: bytes) -> int:
    if not line:
        raise ConnectionResetError("the client closed inside a chunked body")
    try:
        size = int(line.split(b";", 1)[0].strip(), 16)
    except ValueError:
        size = -1
    if size < 0 or not line.endswith(b"\n"):
        raise RequestError(HTTPStatus.BAD_REQUEST, "malformed chunked request body", close=True)
    return size


def _too_large() -> RequestError:
    message = f"the request body is larger than {_MAX_BODY_BYTES} bytes"
    return RequestError(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, message, close=True)
