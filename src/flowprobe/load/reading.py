"""Reading a FastHttpUser response body as it arrives.

geventhttpclient's ``read(n)`` waits until ``n`` bytes are buffered, which would hold back
tokens and skew time to first token; this reads whatever one ``recv`` brings instead. It uses
the response's parser buffer, a private part of geventhttpclient that locust pins.
"""

from __future__ import annotations

from typing import Any

BLOCK_SIZE = 64 * 1024


class BodyEnded(Exception):
    """The connection closed before the HTTP message was complete."""


def read_available(raw: Any) -> bytes:
    """The body bytes available now, waiting for at least one; ``b""`` once the body is done.

    Raises :class:`BodyEnded` if the connection closed in the middle of the body.
    """
    buffer = raw._body_buffer
    while not buffer and not raw.message_complete and raw._sock is not None:
        try:
            data = raw._sock.recv(BLOCK_SIZE)
            raw.feed(data)
        except Exception as exc:  # noqa: BLE001  # a reset or a parse error both end the body
            raw.release()
            raise BodyEnded(str(exc) or type(exc).__name__) from None
        if not data:
            raw.release()
            if not raw.message_complete:
                raise BodyEnded("connection closed before the end of the body")
    chunk = bytes(buffer)
    del buffer[:]
    if raw.message_complete and raw._sock is not None:
        raw.release()
    return chunk
