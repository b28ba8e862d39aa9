"""A blocking client for scspd's local socket (docs/client-protocol.md).

::

    from scspd_client import Client

    with Client.connect("/run/scspd.sock", name="atmarpd") as c:
        for s in c.show_servers():
            print(s.name, s.entries, "entries")

A :class:`Client` is one session: it says hello and checks the version, numbers its requests,
matches each reply to its request, and keeps the notifications that arrive while it waits for a
reply, for :meth:`Client.next_notification`. It is not thread-safe: use one per thread, or a lock.
"""

from __future__ import annotations

import os
import socket
import time
from collections import deque
from dataclasses import dataclass
from typing import (
    Any,
    Deque,
    Dict,
    Iterable,
    Iterator,
    List,
    Mapping,
    Optional,
    Set,
    Tuple,
    Union,
)

from .errors import (
    ConnectError,
    ConnectionClosed,
    ConnectionLost,
    FatalError,
    FrameError,
    ProtocolError,
    ScspdError,
    Timeout,
    TruncatedFrame,
    VersionMismatch,
    daemon_error,
    fatal_error,
)
from .framing import DEFAULT_SOCKET, VERSION, FrameDecoder, Message, encode_frame
from .types import DcsInfo, Entry, LoadResult, Notification, ServerInfo

#: A byte string: bytes, or hex text (either case, no prefix or separator).
Hex = Union[bytes, bytearray, memoryview, str]
#: An entry to load or hand over: (key, data), (key, data, seq), a mapping with "key", "data" and
#: optionally "seq", or an :class:`Entry`.
EntryLike = Union[Tuple[Hex, Hex], Tuple[Hex, Hex, Optional[int]], Mapping[str, Any], Entry]

_RECV_SIZE = 1 << 18


class _UseDefault:
    """The type of :data:`DEFAULT`."""

    def __repr__(self) -> str:
        return "DEFAULT"


#: As a call's ``timeout``: the client's own (:attr:`Client.timeout`).
DEFAULT = _UseDefault()
#: A call's ``timeout``: seconds, None (wait for ever), or :data:`DEFAULT`.
TimeoutArg = Union[float, None, _UseDefault]


def socket_path(path: Union[str, "os.PathLike[str]", None] = None) -> str:
    """The socket to use: ``path`` if given, else $SCSPD_SOCKET, else /run/scspd.sock."""
    if path is not None:
        return os.fspath(path)
    return os.environ.get("SCSPD_SOCKET") or DEFAULT_SOCKET


def to_hex(value: Hex) -> str:
    """A byte string as the protocol writes it: bytes become lowercase hex; text is sent as is."""
    if isinstance(value, str):
        return value
    return bytes(value).hex()


def key_data(item: EntryLike) -> Dict[str, Any]:
    """One element of a ``load``/``handover`` list (``{"key", "data", "seq"?}``)."""
    if isinstance(item, Entry):
        return {"key": item.key, "data": item.data}
    if isinstance(item, Mapping):
        out: Dict[str, Any] = {"key": to_hex(item["key"]), "data": to_hex(item["data"])}
        if item.get("seq") is not None:
            out["seq"] = int(item["seq"])
        return out
    if len(item) == 2:
        k, d = item
        return {"key": to_hex(k), "data": to_hex(d)}
    k, d, seq = item
    out2: Dict[str, Any] = {"key": to_hex(k), "data": to_hex(d)}
    if seq is not None:
        out2["seq"] = int(seq)
    return out2


@dataclass(frozen=True)
class RecordResult:
    """The answer to ``add_record``: ``record_added`` with the entry as held, or
    ``records_deleted`` when the record was a deletion in its protocol (a MARS leave)."""

    kind: str
    entries: List[Entry]

    @property
    def entry(self) -> Optional[Entry]:
        """The entry added (None when the record deleted)."""
        return self.entries[0] if self.kind == "record_added" and self.entries else None


class Client:
    """A session with scspd. See the module's documentation."""

    def __init__(
        self,
        sock: socket.socket,
        name: str = "scspd-client",
        timeout: Optional[float] = None,
    ) -> None:
        """Opens the session on an already connected stream socket: hello, then welcome.

        ``timeout`` (seconds, None for ever) bounds the wait for the welcome and, unless a call
        gives its own, for each reply. On failure the socket is closed.
        """
        self._sock = sock
        self._timeout = timeout
        self._decoder = FrameDecoder()
        self._inbox: Deque[Message] = deque()
        self._notes: Deque[Notification] = deque()
        self._abandoned: Set[int] = set()
        self._next_id = 1
        self._dead: Optional[ScspdError] = None
        self.daemon = ""
        try:
            deadline = _deadline(timeout)
            self._send({"type": "hello", "version": VERSION, "client": name}, deadline)
            msg = self._recv(deadline)
            kind = msg.get("type")
            if kind == "welcome":
                version = msg.get("version")
                daemon = str(msg.get("daemon", ""))
                if version != VERSION:
                    raise VersionMismatch(
                        VERSION, version if isinstance(version, int) else -1, daemon
                    )
                self.daemon = daemon
            elif kind == "fatal":
                raise fatal_error(msg.get("error"))
            else:
                raise ProtocolError(f"expected a welcome, got {_what(msg)}")
        except BaseException:
            self.close()
            raise

    @classmethod
    def connect(
        cls,
        path: Union[str, "os.PathLike[str]", None] = None,
        name: str = "scspd-client",
        timeout: Optional[float] = None,
    ) -> "Client":
        """Connects to scspd's socket (:func:`socket_path`) and opens the session as ``name``
        (a name for scspd's logs)."""
        p = socket_path(path)
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.settimeout(timeout)
            sock.connect(p)
        except OSError as e:
            sock.close()
            if isinstance(e, socket.timeout):
                raise Timeout(f"connecting to {p}: timed out") from e
            raise ConnectError(p, e) from e
        return cls(sock, name=name, timeout=timeout)

    # -- the session ------------------------------------------------------------------------

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self.closed else "open"
        return f"<scspd_client.Client {self.daemon or '?'} {state}>"

    def close(self) -> None:
        """Ends the session; scspd detaches this client from every server it attached to."""
        if self._dead is None:
            self._dead = ConnectionClosed("the client was closed")
        try:
            self._sock.close()
        except OSError:
            pass

    @property
    def closed(self) -> bool:
        """Whether the session has ended (closed here, by scspd, or by an error)."""
        return self._dead is not None

    @property
    def socket(self) -> socket.socket:
        """The underlying socket (do not read from it: the client buffers what arrives)."""
        return self._sock

    def fileno(self) -> int:
        """The socket's descriptor, for ``select``; check :attr:`pending_notifications` first,
        as notifications already received do not make the socket readable."""
        return self._sock.fileno()

    @property
    def timeout(self) -> Optional[float]:
        """The default wait for a reply, in seconds (None: for ever)."""
        return self._timeout

    @timeout.setter
    def timeout(self, value: Optional[float]) -> None:
        self._timeout = value

    # -- requests ---------------------------------------------------------------------------

    def request(self, req: Mapping[str, Any], timeout: TimeoutArg = DEFAULT) -> Dict[str, Any]:
        """Sends a request (an object with ``op`` and its fields) and waits for its reply.

        Returns the reply's ``ok`` object (``kind`` names it). A refusal raises the
        :class:`DaemonError` subclass of its code; the session ending raises :class:`FatalError`
        or a :class:`FrameError`. Notifications that arrive meanwhile are kept for
        :meth:`next_notification`. After a :class:`Timeout` the session stays usable: the late
        reply is dropped when it comes.

        A streamed reply comes back whole: the entries of a ``show_cache`` reply's frames
        joined (``next`` and ``count`` those of the last), the texts of a ``dump``. The reply to
        ``attach`` or ``watch`` is the cache as its snapshot ended: the ``learned``,
        ``replaced`` and ``removed`` notifications that arrive before its last frame are applied
        to its entries in the order received, not kept (docs/client-protocol.md, "The
        snapshot"); the notifications kept are the changes after it, and ``confirm``s.
        """
        if "op" not in req:
            raise ValueError("a request needs an 'op'")
        deadline = _deadline(self._timeout if isinstance(timeout, _UseDefault) else timeout)
        rid = self._next_id
        self._next_id += 1
        msg: Dict[str, Any] = {"type": "request", "id": rid}
        msg.update(req)
        msg["type"], msg["id"] = "request", rid
        self._send(msg, deadline)
        snapshot = req.get("op") in ("attach", "watch")
        whole: Optional[Dict[str, Any]] = None
        held: Dict[Tuple[Any, Any], Any] = {}
        try:
            while True:
                m = self._recv(deadline)
                kind = m.get("type")
                if kind == "reply":
                    got = m.get("id")
                    if got == rid:
                        part = self._result(m)
                        whole = _join(whole, part, held)
                        if part.get("more") is True:
                            continue
                        if snapshot:
                            whole["entries"] = list(held.values())
                        whole.pop("more", None)
                        return whole
                    if got in self._abandoned:
                        self._drop_abandoned(m)
                        continue
                    raise self._die(
                        ProtocolError(f"reply to request {got} while waiting for {rid}")
                    )
                if kind == "notify" and snapshot and _fold(held, m):
                    continue
                if kind == "notify":
                    self._notes.append(self._notification(m))
                elif kind == "fatal":
                    raise self._die(fatal_error(m.get("error")))
                else:
                    raise self._die(ProtocolError(f"expected a reply, got {_what(m)}"))
        except Timeout:
            self._abandoned.add(rid)
            raise

    def show_servers(self, timeout: TimeoutArg = DEFAULT) -> List[ServerInfo]:
        """Every configured server, with its state."""
        ok = self._expect({"op": "show_servers"}, "servers", timeout)
        return [ServerInfo.from_json(s) for s in _list(ok, "servers")]

    def show_dcs(
        self, server: Optional[str] = None, timeout: TimeoutArg = DEFAULT
    ) -> List[DcsInfo]:
        """Every DCS of ``server``, or of every server."""
        req: Dict[str, Any] = {"op": "show_dcs"}
        if server is not None:
            req["server"] = server
        ok = self._expect(req, "dcs", timeout)
        return [DcsInfo.from_json(d) for d in _list(ok, "dcs")]

    def show_cache(
        self,
        server: str,
        timeout: TimeoutArg = DEFAULT,
        *,
        key: Optional[Hex] = None,
        originator: Optional[str] = None,
    ) -> List[Entry]:
        """The live entries of ``server``'s cache, sorted by key then originator; only those
        whose key begins with ``key`` (bytes, or hex of any number of digits) and of
        ``originator``, when given. The reply is streamed (protocol version 3), however many
        entries it selects; page through a large cache with :meth:`show_cache_page`, or count
        it with :meth:`count_cache`."""
        req = _cache_query(server, key, originator)
        ok = self._expect(req, "cache", timeout)
        entries = [Entry.from_json(e) for e in _list(ok, "entries")]
        entries.sort(key=lambda e: (e.key, e.originator))
        return entries

    def show_cache_page(
        self,
        server: str,
        limit: int,
        cursor: Optional[str] = None,
        *,
        key: Optional[Hex] = None,
        originator: Optional[str] = None,
        timeout: TimeoutArg = DEFAULT,
    ) -> Tuple[List[Entry], Optional[str]]:
        """At most ``limit`` entries of ``server``'s cache from ``cursor`` on,
        with the cursor of the next page (``None`` at the end). Pages follow the cache's order;
        an entry changed meanwhile may or may not appear."""
        req = _cache_query(server, key, originator)
        req["limit"] = int(limit)
        if cursor is not None:
            req["cursor"] = cursor
        ok = self._expect(req, "cache", timeout)
        nxt = ok.get("next")
        return [Entry.from_json(e) for e in _list(ok, "entries")], (
            nxt if isinstance(nxt, str) else None
        )

    def count_cache(
        self,
        server: str,
        *,
        key: Optional[Hex] = None,
        originator: Optional[str] = None,
        timeout: TimeoutArg = DEFAULT,
    ) -> int:
        """How many live entries of ``server``'s cache :meth:`show_cache` would select."""
        req = _cache_query(server, key, originator)
        req["count"] = True
        ok = self._expect(req, "cache", timeout)
        return _int(ok, "count")

    def add(self, server: str, key: Hex, data: Hex, timeout: TimeoutArg = DEFAULT) -> int:
        """Originates or updates a local entry; returns the instance's sequence number."""
        req = {"op": "add", "server": server, "key": to_hex(key), "data": to_hex(data)}
        ok = self._expect(req, "added", timeout)
        return _int(ok, "seq")

    def delete(self, server: str, key: Hex, timeout: TimeoutArg = DEFAULT) -> None:
        """Withdraws an entry originated here (the ``del`` request); :class:`NotFound` if none."""
        self._expect({"op": "del", "server": server, "key": to_hex(key)}, "done", timeout)

    def add_record(
        self,
        server: str,
        record: Mapping[str, Any],
        profile: Optional[str] = None,
        timeout: TimeoutArg = DEFAULT,
    ) -> RecordResult:
        """Originates or updates an entry given as a typed record of the server's profile."""
        req: Dict[str, Any] = {"op": "add_record", "server": server, "record": dict(record)}
        if profile is not None:
            req["profile"] = profile
        ok = self._expect(req, ("record_added", "records_deleted"), timeout)
        if ok["kind"] == "record_added":
            return RecordResult("record_added", [Entry.from_json(ok.get("entry"))])
        return RecordResult("records_deleted", [Entry.from_json(e) for e in _list(ok, "entries")])

    def del_record(
        self,
        server: str,
        selector: Mapping[str, Any],
        profile: Optional[str] = None,
        timeout: TimeoutArg = DEFAULT,
    ) -> List[Entry]:
        """Withdraws every entry originated here that ``selector`` names; returns them as they
        were. :class:`NotFound` if none."""
        req: Dict[str, Any] = {"op": "del_record", "server": server, "selector": dict(selector)}
        if profile is not None:
            req["profile"] = profile
        ok = self._expect(req, "records_deleted", timeout)
        return [Entry.from_json(e) for e in _list(ok, "entries")]

    def load(
        self,
        server: str,
        entries: Union[Iterable[EntryLike], Mapping[Any, Hex]],
        timeout: TimeoutArg = DEFAULT,
    ) -> LoadResult:
        """Originates many entries; a refused entry does not stop the others."""
        return self._load("load", server, entries, timeout)

    def handover(
        self,
        server: str,
        entries: Union[Iterable[EntryLike], Mapping[Any, Hex]],
        timeout: TimeoutArg = DEFAULT,
    ) -> LoadResult:
        """As :meth:`load`, then withdraws every entry originated here that is not listed: a
        local server hands over its whole cache after (re)connecting."""
        return self._load("handover", server, entries, timeout)

    def dump(self, timeout: TimeoutArg = DEFAULT) -> str:
        """The text dump SIGINT writes: every server, DCS and entry (for people)."""
        ok = self._expect({"op": "dump"}, "dump", timeout)
        text = ok.get("text")
        if not isinstance(text, str):
            raise ProtocolError(f"dump without text: {ok!r}")
        return text

    def attach(
        self, server: str, confirm: bool = False, timeout: TimeoutArg = DEFAULT
    ) -> List[Entry]:
        """Becomes ``server``'s local server: from now on :meth:`next_notification` delivers its
        changes. Returns the live entries (the snapshot, streamed by scspd a page at a time, with
        the changes made meanwhile applied to it); the notifications that follow are the
        changes after it. With ``confirm``, each new remote entry waits for :meth:`confirm`.
        :class:`Busy` if another client is attached. Closing the session detaches."""
        ok = self._expect(
            {"op": "attach", "server": server, "confirm": bool(confirm)}, "attached", timeout
        )
        return [Entry.from_json(e) for e in _list(ok, "entries")]

    def confirm(self, server: str, token: int, accept: bool, timeout: TimeoutArg = DEFAULT) -> None:
        """Answers a ``confirm`` notification: accept (store and flood) or reject the entry."""
        req = {"op": "confirm", "server": server, "token": int(token), "accept": bool(accept)}
        self._expect(req, "done", timeout)

    def reload(self, timeout: TimeoutArg = DEFAULT) -> None:
        """Reloads the configuration file, as SIGHUP does; :class:`ConfigError` if it has
        errors (the running configuration is kept)."""
        self._expect({"op": "reload"}, "done", timeout)

    # -- notifications ----------------------------------------------------------------------

    @property
    def pending_notifications(self) -> int:
        """Notifications received and not yet taken."""
        return len(self._notes)

    def next_notification(self, timeout: Optional[float] = None) -> Optional[Notification]:
        """The next notification: one kept while waiting for a reply, or the next to arrive.

        Waits at most ``timeout`` seconds (None: for ever; 0: only what has arrived) and then
        returns None. The session ending raises :class:`FatalError` or a :class:`FrameError`.
        """
        if self._notes:
            return self._notes.popleft()
        deadline = _deadline(timeout)
        while True:
            try:
                m = self._recv(deadline)
            except Timeout:
                return None
            kind = m.get("type")
            if kind == "notify":
                return self._notification(m)
            if kind == "reply" and m.get("id") in self._abandoned:
                self._drop_abandoned(m)
                continue
            if kind == "fatal":
                raise self._die(fatal_error(m.get("error")))
            raise self._die(ProtocolError(f"expected a notification, got {_what(m)}"))

    def notifications(self) -> Iterator[Notification]:
        """Every notification, as it comes (blocks between them); ends with an exception when
        the session ends."""
        while True:
            n = self.next_notification()
            if n is not None:
                yield n

    # -- internals --------------------------------------------------------------------------

    def _expect(
        self,
        req: Mapping[str, Any],
        kind: Union[str, Tuple[str, ...]],
        timeout: TimeoutArg,
    ) -> Dict[str, Any]:
        ok = self.request(req, timeout)
        kinds = (kind,) if isinstance(kind, str) else kind
        if ok.get("kind") not in kinds:
            raise ProtocolError(
                f"{req['op']}: expected result {' or '.join(kinds)}, got {ok.get('kind')!r}"
            )
        return ok

    def _load(
        self,
        op: str,
        server: str,
        entries: Union[Iterable[EntryLike], Mapping[Any, Hex]],
        timeout: TimeoutArg,
    ) -> LoadResult:
        if isinstance(entries, Mapping):
            items = [{"key": to_hex(k), "data": to_hex(d)} for k, d in entries.items()]
        else:
            items = [key_data(e) for e in entries]
        ok = self._expect({"op": op, "server": server, "entries": items}, "loaded", timeout)
        errors = ok.get("errors", [])
        return LoadResult(
            _int(ok, "accepted"), [str(e) for e in errors] if isinstance(errors, list) else []
        )

    def _drop_abandoned(self, m: Message) -> None:
        """A frame of the reply to a request given up after a :class:`Timeout`: dropped; the
        request is forgotten with the reply's last frame."""
        ok = m.get("ok")
        if not (isinstance(ok, dict) and ok.get("more") is True):
            self._abandoned.discard(m["id"])

    def _result(self, m: Message) -> Dict[str, Any]:
        ok = m.get("ok")
        if isinstance(ok, dict):
            return ok
        if "error" in m:
            raise daemon_error(m["error"])
        raise self._die(ProtocolError(f"a reply with neither ok nor error: {m!r}"))

    def _notification(self, m: Message) -> Notification:
        try:
            return Notification.from_json(m)
        except ProtocolError as e:
            raise self._die(e) from None

    def _die(self, e: ScspdError) -> ScspdError:
        """Ends the session with ``e`` (returned, for ``raise``)."""
        if self._dead is None:
            self._dead = e
        try:
            self._sock.close()
        except OSError:
            pass
        return e

    def _send(self, msg: Mapping[str, Any], deadline: Optional[float]) -> None:
        if self._dead is not None:
            raise self._dead
        frame = encode_frame(msg)
        try:
            self._sock.settimeout(_remaining(deadline))
            self._sock.sendall(frame)
        except (socket.timeout, BlockingIOError) as e:
            # Part of the frame may have gone: the stream has lost its framing.
            raise self._die(Timeout("timed out sending a request; the session is closed")) from e
        except OSError as e:
            # scspd may have ended the session (a fatal message, then close) before this
            # request: report its reason rather than the broken pipe.
            raise self._die(
                self._fatal_received() or ConnectionLost(f"sending to scspd: {e}")
            ) from e

    def _fatal_received(self) -> Optional[FatalError]:
        """After a failed send: the fatal error scspd sent before closing, if it is among the
        bytes already received (notifications before it are kept)."""
        try:
            self._sock.settimeout(0.0)
            while True:
                data = self._sock.recv(_RECV_SIZE)
                if not data:
                    break
                self._inbox.extend(self._decoder.feed(data))
        except (OSError, FrameError):
            pass
        while self._inbox:
            m = self._inbox.popleft()
            if m.get("type") == "fatal":
                return fatal_error(m.get("error"))
            if m.get("type") == "notify":
                try:
                    self._notes.append(Notification.from_json(m))
                except ProtocolError:
                    pass
        return None

    def _recv(self, deadline: Optional[float]) -> Message:
        while not self._inbox:
            if self._dead is not None:
                raise self._dead
            try:
                self._sock.settimeout(_remaining(deadline))
                data = self._sock.recv(_RECV_SIZE)
            except (socket.timeout, BlockingIOError) as e:
                raise Timeout("timed out waiting for scspd") from e
            except OSError as e:
                raise self._die(ConnectionLost(f"receiving from scspd: {e}")) from e
            if not data:
                if self._decoder.in_frame:
                    raise self._die(TruncatedFrame("scspd closed the connection inside a frame"))
                raise self._die(ConnectionClosed("scspd closed the connection"))
            try:
                self._inbox.extend(self._decoder.feed(data))
            except FrameError as e:
                raise self._die(e) from None
        return self._inbox.popleft()


def _deadline(timeout: Optional[float]) -> Optional[float]:
    if timeout is None:
        return None
    return time.monotonic() + max(0.0, float(timeout))


def _remaining(deadline: Optional[float]) -> Optional[float]:
    if deadline is None:
        return None
    return max(0.0, deadline - time.monotonic())


def _what(m: Message) -> str:
    kind = m.get("type")
    return f"a {kind} message" if isinstance(kind, str) else "a message without a type"


def _list(ok: Mapping[str, Any], name: str) -> List[Any]:
    v = ok.get(name)
    if not isinstance(v, list):
        raise ProtocolError(f"result {ok.get('kind')!r} without a list {name!r}")
    return v


def _int(ok: Mapping[str, Any], name: str) -> int:
    v = ok.get(name)
    if not isinstance(v, int) or isinstance(v, bool):
        raise ProtocolError(f"result {ok.get('kind')!r} without an integer {name!r}")
    return v


def _cache_query(server: str, key: Optional[Hex], originator: Optional[str]) -> Dict[str, Any]:
    req: Dict[str, Any] = {"op": "show_cache", "server": server}
    if key is not None:
        req["key"] = key if isinstance(key, str) else to_hex(key)
    if originator is not None:
        req["originator"] = originator
    return req


def _entry_id(e: Any) -> Tuple[Any, Any]:
    if not isinstance(e, dict):
        raise ProtocolError(f"an entry that is not an object: {e!r}")
    return (e.get("key"), e.get("originator"))


def _join(
    whole: Optional[Dict[str, Any]], part: Dict[str, Any], held: Dict[Tuple[Any, Any], Any]
) -> Dict[str, Any]:
    """A frame of a reply joined to those before: a snapshot's entries stored in ``held`` under
    their key and originator (replacing what is held), a cache's entries appended, a dump's
    text appended."""
    kind = part.get("kind")
    if kind == "attached":
        for e in _list(part, "entries"):
            held[_entry_id(e)] = e
    if whole is None:
        return dict(part)
    if kind == "cache":
        whole["entries"] = _list(whole, "entries") + _list(part, "entries")
        if "next" in part:
            whole["next"] = part["next"]
        else:
            whole.pop("next", None)
        if "count" in part:
            whole["count"] = part["count"]
    elif kind == "dump":
        whole["text"] = str(whole.get("text", "")) + str(part.get("text", ""))
    return whole


def _fold(held: Dict[Tuple[Any, Any], Any], m: Message) -> bool:
    """A notification that came while a snapshot streamed, applied to it: ``learned`` and
    ``replaced`` store the entry, ``removed`` drops it. False for any other (kept)."""
    event, entry = m.get("event"), m.get("entry")
    if event in ("learned", "replaced"):
        held[_entry_id(entry)] = entry
        return True
    if event == "removed":
        held.pop(_entry_id(entry), None)
        return True
    return False
