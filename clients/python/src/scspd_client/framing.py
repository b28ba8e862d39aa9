"""The framing of scspd's client protocol (docs/client-protocol.md, "Framing").

Every message, both ways, is one frame: a 4-byte big-endian length *n* of the body
(1 <= n <= MAX_FRAME), then *n* bytes of UTF-8 JSON encoding one object.

These functions work without a socket: :func:`encode_frame` and :func:`decode_body` on bytes,
:func:`read_frame` and :func:`write_frame` on binary file objects, and :class:`FrameDecoder` on
bytes as they arrive (what a non-blocking or asyncio client needs).
"""

from __future__ import annotations

import json
import struct
from typing import Any, Dict, List, Mapping, Protocol

from .errors import (
    BadJson,
    ConnectionClosed,
    EmptyFrame,
    FrameTooLarge,
    TruncatedFrame,
)

#: Version of the protocol this package speaks (3: ``show_cache``, ``dump``, ``attach`` and
#: ``watch`` replies come in several frames, each but the last marked ``more``).
VERSION = 3
#: Largest frame body accepted, both ways, in bytes (64 MiB).
MAX_FRAME = 64 << 20
#: Where scspd listens unless told otherwise.
DEFAULT_SOCKET = "/run/scspd.sock"

_HEADER = struct.Struct(">I")
#: Bytes in a frame's length prefix.
HEADER_LEN = _HEADER.size

Message = Dict[str, Any]


class Readable(Protocol):
    """A binary stream to read frames from (a file, ``socket.makefile("rb")``, ``io.BytesIO``)."""

    def read(self, n: int = ..., /) -> bytes: ...


class Writable(Protocol):
    """A binary stream to write frames to."""

    def write(self, data: bytes, /) -> Any: ...

    def flush(self) -> Any: ...


def frame_len(header: bytes) -> int:
    """Checks a frame's 4-byte length prefix and returns the length of the body that follows.

    Raises :class:`EmptyFrame` for 0 and :class:`FrameTooLarge` above :data:`MAX_FRAME`.
    """
    if len(header) != HEADER_LEN:
        raise ValueError(f"a frame header is {HEADER_LEN} bytes, not {len(header)}")
    (n,) = _HEADER.unpack(header)
    if n == 0:
        raise EmptyFrame("empty frame")
    if n > MAX_FRAME:
        raise FrameTooLarge(n)
    return int(n)


def encode_frame(msg: Mapping[str, Any]) -> bytes:
    """One complete frame for ``msg``: length prefix, then compact UTF-8 JSON.

    Raises :class:`FrameTooLarge` if the body would exceed :data:`MAX_FRAME`.
    """
    body = json.dumps(msg, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    if len(body) > MAX_FRAME:
        raise FrameTooLarge(len(body))
    return _HEADER.pack(len(body)) + body


def decode_body(body: bytes) -> Message:
    """Decodes a frame's body: a JSON object. Raises :class:`BadJson` otherwise."""
    try:
        msg = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        raise BadJson(f"bad JSON in frame: {e}") from e
    if not isinstance(msg, dict):
        raise BadJson(f"bad JSON in frame: expected an object, got {type(msg).__name__}")
    return msg


def write_frame(f: Writable, msg: Mapping[str, Any]) -> None:
    """Writes ``msg`` as one frame to the binary file ``f`` (a single write) and flushes it."""
    f.write(encode_frame(msg))
    f.flush()


def _read_exact(f: Readable, n: int, got: bytes = b"") -> bytes:
    buf = bytearray(got)
    while len(buf) < n:
        chunk = f.read(n - len(buf))
        if not chunk:
            break
        buf += chunk
    return bytes(buf)


def read_frame(f: Readable) -> Message:
    """Reads one frame from the binary file ``f`` and decodes its body.

    A stream that ends before the first byte of the frame raises :class:`ConnectionClosed`; one
    that ends inside it, :class:`TruncatedFrame`. The length is checked before the body is read,
    so an oversized frame never allocates.
    """
    header = _read_exact(f, HEADER_LEN)
    if not header:
        raise ConnectionClosed("connection closed")
    if len(header) < HEADER_LEN:
        raise TruncatedFrame("connection closed inside a frame header")
    n = frame_len(header)
    body = _read_exact(f, n)
    if len(body) < n:
        raise TruncatedFrame(f"connection closed inside a frame ({len(body)} of {n} bytes)")
    return decode_body(body)


class FrameDecoder:
    """Splits a byte stream into messages, whatever pieces it arrives in.

    ``feed`` takes the bytes received so far and returns the messages they complete; an
    incomplete frame waits for more. A bad length is raised as soon as the header is complete.
    After an error the decoder must not be used again (the stream has lost its framing).
    """

    def __init__(self) -> None:
        self._buf = bytearray()
        self._need: int = 0  # body length of the frame being read, 0 while reading a header

    def feed(self, data: bytes) -> List[Message]:
        self._buf += data
        out: List[Message] = []
        while True:
            if self._need == 0:
                if len(self._buf) < HEADER_LEN:
                    return out
                self._need = frame_len(bytes(self._buf[:HEADER_LEN]))
                del self._buf[:HEADER_LEN]
            if len(self._buf) < self._need:
                return out
            body = bytes(self._buf[: self._need])
            del self._buf[: self._need]
            self._need = 0
            out.append(decode_body(body))

    @property
    def in_frame(self) -> bool:
        """Whether part of a frame has been received and the rest is awaited."""
        return self._need != 0 or len(self._buf) > 0
