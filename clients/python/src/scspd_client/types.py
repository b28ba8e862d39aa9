"""The objects scspd sends, as typed values (docs/client-protocol.md).

Each keeps the JSON object it was made from in ``raw``: fields a newer scspd adds within the
protocol version are there, and fields this package does not know are ignored, as the document
asks.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional

from .errors import ProtocolError


def _required(obj: Mapping[str, Any], what: str, /, **kinds: type) -> Dict[str, Any]:
    """The fields ``kinds`` names, in its order, each read and checked by :func:`_get`."""
    return {name: _get(obj, name, kind, what) for name, kind in kinds.items()}


def _get(obj: Mapping[str, Any], name: str, kind: type, what: str) -> Any:
    try:
        v = obj[name]
    except (KeyError, TypeError):
        raise ProtocolError(f"{what} without {name!r}: {obj!r}") from None
    if kind is int and isinstance(v, bool):
        raise ProtocolError(f"{what}: {name!r} is not an integer: {v!r}")
    if not isinstance(v, kind):
        raise ProtocolError(f"{what}: {name!r} is not {kind.__name__}: {v!r}")
    return v


@dataclass(frozen=True)
class Entry:
    """A cache entry (an ``EntryView``). Byte strings are lowercase hex."""

    key: str
    originator: str
    seq: int
    data: str
    local: bool
    age_s: int
    #: The record decoded by the server's profile (absent when it cannot decode it).
    record: Optional[Dict[str, Any]] = None
    #: The record for people: (name, value) pairs in order.
    columns: Optional[List[Dict[str, str]]] = None
    raw: Dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def key_bytes(self) -> bytes:
        return bytes.fromhex(self.key)

    @property
    def data_bytes(self) -> bytes:
        return bytes.fromhex(self.data)

    @property
    def originator_bytes(self) -> bytes:
        """The Originator ID's bytes (scspd writes a 4-byte ID as a dotted quad, a 16-byte ID
        as an IPv6 address, others in hex)."""
        try:
            return ipaddress.ip_address(self.originator).packed
        except ValueError:
            return bytes.fromhex(self.originator)

    @classmethod
    def from_json(cls, obj: Any) -> "Entry":
        w = "entry"
        if not isinstance(obj, dict):
            raise ProtocolError(f"an entry is not an object: {obj!r}")
        rec = obj.get("record")
        cols = obj.get("columns")
        return cls(
            **_required(
                obj,
                w,
                key=str,
                originator=str,
                seq=int,
                data=str,
                local=bool,
                age_s=int,
            ),
            record=rec if isinstance(rec, dict) else None,
            columns=cols if isinstance(cols, list) else None,
            raw=obj,
        )


@dataclass(frozen=True)
class ServerInfo:
    """A configured server, as ``show_servers`` lists it."""

    name: str
    protocol_id: int
    protocol: str
    sgid: int
    family_id: int
    lsid: str
    listen: str
    entries: int
    entries_held: int
    dcs: int
    dcs_aligned: int
    client_attached: bool
    dropped_unknown: int
    profile: str = ""
    atmarp_format: Optional[str] = None
    raw: Dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, obj: Any) -> "ServerInfo":
        w = "server"
        if not isinstance(obj, dict):
            raise ProtocolError(f"a server is not an object: {obj!r}")
        fmt = obj.get("atmarp_format")
        return cls(
            **_required(
                obj,
                w,
                name=str,
                protocol_id=int,
                protocol=str,
                sgid=int,
                family_id=int,
                lsid=str,
                listen=str,
                entries=int,
                entries_held=int,
                dcs=int,
                dcs_aligned=int,
                client_attached=bool,
                dropped_unknown=int,
            ),
            profile=str(obj.get("profile", "")),
            atmarp_format=fmt if isinstance(fmt, str) else None,
            raw=obj,
        )


@dataclass(frozen=True)
class DcsInfo:
    """A DCS, as ``show_dcs`` lists it."""

    server: str
    id: str
    address: str
    hello: str
    hello_since_s: int
    ca: str
    ca_since_s: int
    rx_msgs: int
    tx_msgs: int
    errors: int
    retransmits: int
    rexmit_queue: int
    crl: int
    #: Every counter of the DCS; informative, may change.
    stats: Dict[str, Any] = field(default_factory=dict)
    raw: Dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, obj: Any) -> "DcsInfo":
        w = "DCS"
        if not isinstance(obj, dict):
            raise ProtocolError(f"a DCS is not an object: {obj!r}")
        stats = obj.get("stats")
        return cls(
            **_required(
                obj,
                w,
                server=str,
                id=str,
                address=str,
                hello=str,
                hello_since_s=int,
                ca=str,
                ca_since_s=int,
                rx_msgs=int,
                tx_msgs=int,
                errors=int,
                retransmits=int,
                rexmit_queue=int,
                crl=int,
            ),
            stats=stats if isinstance(stats, dict) else {},
            raw=obj,
        )


@dataclass(frozen=True)
class LoadResult:
    """The answer to ``load`` and ``handover``: entries accepted, and why the others were not."""

    accepted: int
    errors: List[str]


@dataclass(frozen=True)
class Notification:
    """An unprompted message to an attached client.

    ``event`` is ``learned``, ``replaced``, ``removed`` or ``confirm``; ``reason`` is set for
    ``removed`` (``deleted``, ``purged``, ``expired``, ``flushed``) and ``token`` for ``confirm``
    (answer it with :meth:`Client.confirm`).
    """

    event: str
    server: str
    entry: Entry
    reason: Optional[str] = None
    token: Optional[int] = None
    raw: Dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, obj: Dict[str, Any]) -> "Notification":
        w = "notification"
        event = _get(obj, "event", str, w)
        reason = obj.get("reason")
        token = obj.get("token")
        if event == "confirm":
            token = _get(obj, "token", int, w)
        return cls(
            event=event,
            server=_get(obj, "server", str, w),
            entry=Entry.from_json(obj.get("entry")),
            reason=reason if isinstance(reason, str) else None,
            token=token if isinstance(token, int) and not isinstance(token, bool) else None,
            raw=obj,
        )
