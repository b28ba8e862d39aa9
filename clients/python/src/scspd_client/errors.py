"""Exceptions of the scspd client.

Everything raised by this package is a :class:`ScspdError`:

- :class:`ConnectError`: the socket could not be connected to;
- :class:`FrameError` and its kinds: the connection closed or failed, or a frame was bad;
- :class:`Timeout`: no answer within the time given (also a :class:`TimeoutError`);
- :class:`VersionMismatch`: scspd speaks another protocol version;
- :class:`DaemonError`: scspd refused a request (a ``reply`` with ``error``); one subclass per
  error code (:class:`NotFound`, :class:`Busy`, ...), and :class:`FatalError` when scspd ended
  the session (a ``fatal`` message). Each carries ``code`` and ``message``;
- :class:`ProtocolError`: scspd sent something that makes no sense at that point.
"""

from __future__ import annotations

from enum import Enum
from typing import Dict, Optional, Type, Union


class ErrorCode(str, Enum):
    """The error codes of docs/client-protocol.md ("Error codes"). Compares equal to its string."""

    BAD_FRAME = "bad_frame"
    VERSION = "version"
    SEQUENCE = "sequence"
    NO_SUCH_SERVER = "no_such_server"
    BAD_ARGUMENT = "bad_argument"
    REFUSED = "refused"
    NOT_FOUND = "not_found"
    BUSY = "busy"
    CONFIG = "config"
    OVERFLOW = "overflow"

    def __str__(self) -> str:
        return self.value


class ScspdError(Exception):
    """Base of every exception of this package."""


class ConnectError(ScspdError):
    """The socket could not be connected to."""

    def __init__(self, path: str, cause: OSError) -> None:
        self.path = path
        self.cause = cause
        import errno

        if cause.errno in (errno.ENOENT, errno.ECONNREFUSED):
            text = f"cannot connect to scspd: {cause.strerror}; is scspd running? (socket {path})"
        else:
            text = f"cannot connect to {path}: {cause.strerror or cause}"
        super().__init__(text)


class FrameError(ScspdError):
    """Reading or writing a frame failed."""


class ConnectionClosed(FrameError):
    """scspd closed the connection between two frames."""


class ConnectionLost(FrameError):
    """The connection failed (an OS error while reading or writing)."""


class TruncatedFrame(ConnectionLost):
    """The connection ended inside a frame."""


class FrameTooLarge(FrameError):
    """A frame announced or encoded a body longer than MAX_FRAME."""

    def __init__(self, length: int) -> None:
        from .framing import MAX_FRAME

        self.length = length
        super().__init__(f"frame too large: {length} bytes (at most {MAX_FRAME})")


class EmptyFrame(FrameError):
    """A frame announced a length of 0."""


class BadJson(FrameError):
    """A frame's body is not a JSON object."""


class Timeout(ScspdError, TimeoutError):
    """No answer within the time given. The connection stays usable: a late reply is dropped."""


class ProtocolError(ScspdError):
    """scspd sent something that makes no sense at that point."""


class VersionMismatch(ScspdError):
    """scspd speaks another protocol version than this package."""

    def __init__(self, ours: int, theirs: int, daemon: str) -> None:
        self.ours = ours
        self.theirs = theirs
        self.daemon = daemon
        super().__init__(
            f"protocol version mismatch: this client speaks {ours}, {daemon} speaks {theirs}"
        )


class DaemonError(ScspdError):
    """scspd refused a request, or (as :class:`FatalError`) ended the session.

    ``code`` is an :class:`ErrorCode`, or the code's string if this package does not know it
    (a newer daemon); ``message`` is for people.
    """

    #: The code this class stands for (None: any).
    CODE: Optional[ErrorCode] = None

    def __init__(self, code: Union[ErrorCode, str], message: str) -> None:
        self.code = code
        self.message = message
        super().__init__(f"{code}: {message}")


class BadFrameError(DaemonError):
    CODE = ErrorCode.BAD_FRAME


class VersionError(DaemonError):
    CODE = ErrorCode.VERSION


class SequenceError(DaemonError):
    CODE = ErrorCode.SEQUENCE


class NoSuchServer(DaemonError):
    CODE = ErrorCode.NO_SUCH_SERVER


class BadArgument(DaemonError):
    CODE = ErrorCode.BAD_ARGUMENT


class Refused(DaemonError):
    CODE = ErrorCode.REFUSED


class NotFound(DaemonError):
    CODE = ErrorCode.NOT_FOUND


class Busy(DaemonError):
    CODE = ErrorCode.BUSY


class ConfigError(DaemonError):
    CODE = ErrorCode.CONFIG


class Overflow(DaemonError):
    CODE = ErrorCode.OVERFLOW


class FatalError(DaemonError):
    """scspd ended the session with this error (a ``fatal`` message) and closed the connection."""

    def __init__(self, code: Union[ErrorCode, str], message: str) -> None:
        super().__init__(code, message)
        self.args = (f"{code}: {message} (session ended by scspd)",)

    def __str__(self) -> str:
        return str(self.args[0])


# Every subclass above that stands for one code.
_BY_CODE: Dict[str, Type[DaemonError]] = {
    c.CODE.value: c for c in DaemonError.__subclasses__() if c.CODE is not None
}


def _code(raw: object) -> Union[ErrorCode, str]:
    s = str(raw)
    try:
        return ErrorCode(s)
    except ValueError:
        return s


def daemon_error(error: object) -> DaemonError:
    """The exception for a reply's ``error`` object: the subclass of its code."""
    code, message = _fields(error)
    return _BY_CODE.get(str(code), DaemonError)(code, message)


def fatal_error(error: object) -> FatalError:
    """The exception for a ``fatal`` message's ``error`` object."""
    code, message = _fields(error)
    return FatalError(code, message)


def _fields(error: object) -> "tuple[Union[ErrorCode, str], str]":
    if not isinstance(error, dict):
        raise ProtocolError(f"malformed error object: {error!r}")
    return _code(error.get("code", "")), str(error.get("message", ""))
