"""Client for scspd's local socket protocol (docs/client-protocol.md in the scsp repository).

scspd synchronises the caches of a group of servers with SCSP (RFC 2334). Local programs (an
ATMARP, NHRP or MARS server, or any program) talk to it over a UNIX stream socket in frames of
length-prefixed JSON. This package speaks that protocol, with the standard library only:

- :class:`Client`: a session; one method per request (``show_servers``, ``show_dcs``,
  ``show_cache``, ``show_cache_page``, ``count_cache``, ``add``, ``delete``, ``add_record``, ``del_record``, ``load``, ``handover``,
  ``dump``, ``attach``, ``confirm``, ``reload``), and ``next_notification`` once attached;
- :mod:`scspd_client.framing`: the framing alone (``encode_frame``, ``read_frame``,
  ``FrameDecoder``, ...), for other event loops;
- typed exceptions: :class:`DaemonError` and one subclass per error code, each with ``code``.
"""

from .client import DEFAULT, Client, RecordResult, key_data, socket_path, to_hex
from .errors import (
    BadArgument,
    BadFrameError,
    BadJson,
    Busy,
    ConfigError,
    ConnectError,
    ConnectionClosed,
    ConnectionLost,
    DaemonError,
    EmptyFrame,
    ErrorCode,
    FatalError,
    FrameError,
    FrameTooLarge,
    NoSuchServer,
    NotFound,
    Overflow,
    ProtocolError,
    Refused,
    ScspdError,
    SequenceError,
    Timeout,
    TruncatedFrame,
    VersionError,
    VersionMismatch,
)
from .framing import (
    DEFAULT_SOCKET,
    MAX_FRAME,
    VERSION,
    FrameDecoder,
    decode_body,
    encode_frame,
    frame_len,
    read_frame,
    write_frame,
)
from .types import DcsInfo, Entry, LoadResult, Notification, ServerInfo

__version__ = "0.1.0"

__all__ = [
    "BadArgument",
    "BadFrameError",
    "BadJson",
    "Busy",
    "Client",
    "ConfigError",
    "ConnectError",
    "ConnectionClosed",
    "ConnectionLost",
    "DEFAULT",
    "DEFAULT_SOCKET",
    "DaemonError",
    "DcsInfo",
    "EmptyFrame",
    "Entry",
    "ErrorCode",
    "FatalError",
    "FrameDecoder",
    "FrameError",
    "FrameTooLarge",
    "LoadResult",
    "MAX_FRAME",
    "NoSuchServer",
    "NotFound",
    "Notification",
    "Overflow",
    "ProtocolError",
    "RecordResult",
    "Refused",
    "ScspdError",
    "SequenceError",
    "ServerInfo",
    "Timeout",
    "TruncatedFrame",
    "VERSION",
    "VersionError",
    "VersionMismatch",
    "decode_body",
    "encode_frame",
    "frame_len",
    "key_data",
    "read_frame",
    "socket_path",
    "to_hex",
    "write_frame",
]
