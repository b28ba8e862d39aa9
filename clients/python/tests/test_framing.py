"""Unit tests of scspd_client without a daemon: the framing, and the client against a scripted
peer on a socket pair (notifications queued while waiting for a reply, ids, timeouts, fatal
errors, the version check).

Run alone with ``python -m unittest tests/test_framing.py`` (the package installed or on
PYTHONPATH); tests/test_live.py runs them too.
"""

from __future__ import annotations

import io
import json
import socket
import struct
import threading
import unittest
from typing import Any, Callable, Dict, List

import scspd_client as sc

ENTRY = {
    "key": "0a000009",
    "originator": "10.0.0.100",
    "seq": 2147483649,
    "data": "4700",
    "local": False,
    "age_s": 0,
}


class Framing(unittest.TestCase):
    def test_frame_is_big_endian_length_then_json(self) -> None:
        msg = {"type": "request", "id": 7, "op": "show_servers"}
        f = sc.encode_frame(msg)
        body = b'{"type":"request","id":7,"op":"show_servers"}'
        self.assertEqual(f, struct.pack(">I", len(body)) + body)
        self.assertEqual(sc.frame_len(f[:4]), len(body))
        self.assertEqual(sc.decode_body(f[4:]), msg)

    def test_the_documents_hello_is_0x34_bytes(self) -> None:
        # docs/client-protocol.md, "Framing": the Hello as written there is 52 bytes.
        text = b'{"type": "hello", "version": 3, "client": "atmarpd"}'
        self.assertEqual(len(text), 0x34)
        r = sc.read_frame(io.BytesIO(b"\x00\x00\x00\x34" + text))
        self.assertEqual(r, {"type": "hello", "version": 3, "client": "atmarpd"})

    def test_round_trip_of_many_frames_and_utf8(self) -> None:
        msgs: List[Dict[str, Any]] = [
            {"type": "hello", "version": 1, "client": "é✓"},
            {
                "type": "request",
                "id": 1,
                "op": "load",
                "server": "s",
                "entries": [{"key": "01", "data": ""}],
            },
            {"type": "reply", "id": 1, "ok": {"kind": "done"}},
        ]
        buf = io.BytesIO()
        for m in msgs:
            sc.write_frame(buf, m)
        buf.seek(0)
        for m in msgs:
            self.assertEqual(sc.read_frame(buf), m)
        with self.assertRaises(sc.ConnectionClosed):
            sc.read_frame(buf)

    def test_bad_lengths_are_typed_errors(self) -> None:
        with self.assertRaises(sc.EmptyFrame):
            sc.frame_len(b"\0\0\0\0")
        with self.assertRaises(sc.FrameTooLarge) as e:
            sc.frame_len(struct.pack(">I", sc.MAX_FRAME + 1))
        self.assertEqual(e.exception.length, sc.MAX_FRAME + 1)
        self.assertEqual(sc.frame_len(struct.pack(">I", sc.MAX_FRAME)), sc.MAX_FRAME)
        # The length is checked before the body is read: nothing of 4 GiB is allocated.
        with self.assertRaises(sc.FrameTooLarge):
            sc.read_frame(io.BytesIO(b"\xff\xff\xff\xff"))
        with self.assertRaises(sc.FrameTooLarge):
            sc.encode_frame({"data": "x" * sc.MAX_FRAME})

    def test_truncated_and_bad_bodies(self) -> None:
        with self.assertRaises(sc.TruncatedFrame):
            sc.read_frame(io.BytesIO(b"\0\0"))
        with self.assertRaises(sc.TruncatedFrame):
            sc.read_frame(io.BytesIO(b"\0\0\0\x09{"))
        with self.assertRaises(sc.BadJson):
            sc.read_frame(io.BytesIO(b"\0\0\0\x03{x}"))
        with self.assertRaises(sc.BadJson):
            sc.decode_body(b"[1]")
        with self.assertRaises(sc.BadJson):
            sc.decode_body(b"\xff\xfe")
        # Every framing error is a FrameError, and a ScspdError.
        for cls in (
            sc.EmptyFrame,
            sc.FrameTooLarge,
            sc.BadJson,
            sc.TruncatedFrame,
            sc.ConnectionClosed,
        ):
            self.assertTrue(issubclass(cls, sc.FrameError))
            self.assertTrue(issubclass(cls, sc.ScspdError))

    def test_decoder_takes_bytes_in_any_pieces(self) -> None:
        msgs = [{"type": "notify", "n": i, "pad": "x" * i} for i in range(20)]
        stream = b"".join(sc.encode_frame(m) for m in msgs)
        for step in (1, 3, 7, 64, len(stream)):
            d = sc.FrameDecoder()
            got: List[Dict[str, Any]] = []
            for i in range(0, len(stream), step):
                got.extend(d.feed(stream[i : i + step]))
            self.assertEqual(got, msgs, f"step {step}")
            self.assertFalse(d.in_frame)
        d = sc.FrameDecoder()
        self.assertEqual(d.feed(stream[:5]), [])
        self.assertTrue(d.in_frame)
        with self.assertRaises(sc.EmptyFrame):
            sc.FrameDecoder().feed(b"\0\0\0\0")
        with self.assertRaises(sc.FrameTooLarge):
            sc.FrameDecoder().feed(b"\x7f\0\0\0")

    def test_hex_and_entry_helpers(self) -> None:
        self.assertEqual(sc.to_hex(b"\x0a\x00\x00\x01"), "0a000001")
        self.assertEqual(sc.to_hex("0A000001"), "0A000001")
        self.assertEqual(sc.key_data((b"\x01", b"")), {"key": "01", "data": ""})
        self.assertEqual(sc.key_data(("01", "02", 5)), {"key": "01", "data": "02", "seq": 5})
        self.assertEqual(sc.key_data({"key": b"\x01", "data": "ab"}), {"key": "01", "data": "ab"})
        e = sc.Entry.from_json(dict(ENTRY, future_field=1))
        self.assertEqual(
            (e.key_bytes, e.data_bytes, e.seq), (b"\x0a\x00\x00\x09", b"\x47\x00", 0x80000001)
        )
        self.assertEqual(e.raw["future_field"], 1)
        with self.assertRaises(sc.ProtocolError):
            sc.Entry.from_json({"key": "01"})


class Peer:
    """A scripted scspd on one end of a socket pair: ``script`` runs in a thread with the peer's
    socket, and reads and writes frames with :meth:`recv` and :meth:`send`."""

    def __init__(self, script: Callable[["Peer"], None]) -> None:
        self.client_sock, self.sock = socket.socketpair()
        self.file = self.sock.makefile("rb")
        self.received: List[Dict[str, Any]] = []
        self.error: List[BaseException] = []
        self.thread = threading.Thread(target=self._run, args=(script,), daemon=True)
        self.thread.start()

    def _run(self, script: Callable[["Peer"], None]) -> None:
        try:
            script(self)
        except BaseException as e:  # reported by join()
            self.error.append(e)

    def recv(self) -> Dict[str, Any]:
        m = sc.read_frame(self.file)
        self.received.append(m)
        return m

    def send(self, msg: Dict[str, Any]) -> None:
        self.sock.sendall(sc.encode_frame(msg))

    def welcome(self, version: int = sc.VERSION) -> None:
        hello = self.recv()
        assert hello == {"type": "hello", "version": sc.VERSION, "client": "unit"}, hello
        self.send({"type": "welcome", "version": version, "daemon": "scspd mock"})

    def join(self) -> None:
        self.thread.join(10)
        assert not self.thread.is_alive(), "the mock peer did not finish"
        self.file.close()
        self.sock.close()
        if self.error:
            raise self.error[0]


def notify(event: str = "learned", **extra: Any) -> Dict[str, Any]:
    return dict({"type": "notify", "event": event, "server": "s", "entry": ENTRY}, **extra)


class ClientAgainstMock(unittest.TestCase):
    def test_the_snapshot_folds_the_changes_before_its_end_and_keeps_the_rest(self) -> None:
        def script(p: Peer) -> None:
            p.welcome()
            req = p.recv()
            assert req == {
                "op": "attach",
                "server": "s",
                "confirm": False,
                "type": "request",
                "id": 1,
            }, req
            # While the snapshot streams: changes applied to it, confirm kept.
            p.send(notify("learned"))
            p.send(notify("confirm", token=17))
            p.send({"type": "reply", "id": 1, "ok": {"kind": "attached", "entries": [], "more": True}})
            p.send(notify("removed", reason="deleted"))
            p.send({"type": "reply", "id": 1, "ok": {"kind": "attached", "entries": [], "more": True}})
            p.send(notify("learned"))
            p.send({"type": "reply", "id": 1, "ok": {"kind": "attached", "entries": [ENTRY]}})
            # After it: kept.
            p.send(notify("removed", reason="deleted"))
            req = p.recv()
            assert req["id"] == 2 and req["op"] == "confirm" and req["token"] == 17, req
            p.send(notify("replaced"))
            p.send({"type": "reply", "id": 2, "ok": {"kind": "done"}})
            p.send({"type": "fatal", "error": {"code": "overflow", "message": "bye"}})

        p = Peer(script)
        with sc.Client(p.client_sock, name="unit", timeout=10) as c:
            self.assertEqual(c.daemon, "scspd mock")
            entries = c.attach("s")
            self.assertEqual([e.key for e in entries], ["0a000009"])
            self.assertEqual(c.pending_notifications, 1)
            n = c.next_notification(0)
            assert n is not None
            self.assertEqual((n.event, n.token), ("confirm", 17))
            assert n.token is not None
            c.confirm("s", n.token, True)
            got = [c.next_notification(5) for _ in range(2)]
            self.assertEqual(
                [(g.event, g.reason) for g in got if g],
                [("removed", "deleted"), ("replaced", None)],
            )
            with self.assertRaises(sc.FatalError) as e:
                c.next_notification(5)
            self.assertEqual(e.exception.code, sc.ErrorCode.OVERFLOW)
            self.assertEqual(e.exception.code, "overflow")
            self.assertEqual(str(e.exception), "overflow: bye (session ended by scspd)")
            self.assertTrue(c.closed)
            with self.assertRaises(sc.FatalError):
                c.show_servers()
        p.join()

    def test_refusals_raise_the_class_of_their_code(self) -> None:
        codes = [c.value for c in sc.ErrorCode] + ["from_the_future"]

        def script(p: Peer) -> None:
            p.welcome()
            for code in codes:
                req = p.recv()
                p.send({"type": "reply", "id": req["id"], "error": {"code": code, "message": "m"}})
            p.recv()
            p.send({"type": "reply", "id": len(codes) + 1, "ok": {"kind": "added", "seq": 5}})

        p = Peer(script)
        classes = {
            "bad_frame": sc.BadFrameError,
            "version": sc.VersionError,
            "sequence": sc.SequenceError,
            "no_such_server": sc.NoSuchServer,
            "bad_argument": sc.BadArgument,
            "refused": sc.Refused,
            "not_found": sc.NotFound,
            "busy": sc.Busy,
            "config": sc.ConfigError,
            "overflow": sc.Overflow,
        }
        with sc.Client(p.client_sock, name="unit", timeout=10) as c:
            for code in codes:
                with self.assertRaises(sc.DaemonError) as e:
                    c.delete("s", "01")
                self.assertEqual(e.exception.code, code)
                self.assertEqual(e.exception.message, "m")
                self.assertIs(type(e.exception), classes.get(code, sc.DaemonError))
            # The session goes on after refusals.
            self.assertEqual(c.add("s", b"\x01", b""), 5)
        p.join()
        self.assertEqual(p.received[-1]["key"], "01")

    def test_a_timeout_leaves_the_session_usable_and_drops_the_late_reply(self) -> None:
        go = threading.Event()

        def script(p: Peer) -> None:
            p.welcome()
            p.recv()  # request 1: answered late
            go.wait(10)
            # The late reply in two frames: both dropped.
            p.send({"type": "reply", "id": 1, "ok": {"kind": "dump", "text": "x", "more": True}})
            p.send({"type": "reply", "id": 1, "ok": {"kind": "dump", "text": "y"}})
            p.recv()  # request 2, answered in two frames, joined
            p.send({"type": "reply", "id": 2, "ok": {"kind": "dump", "text": "t", "more": True}})
            p.send({"type": "reply", "id": 2, "ok": {"kind": "dump", "text": "u"}})

        p = Peer(script)
        with sc.Client(p.client_sock, name="unit", timeout=10) as c:
            with self.assertRaises(sc.Timeout):
                c.reload(timeout=0.05)
            self.assertTrue(issubclass(sc.Timeout, TimeoutError))
            self.assertIsNone(c.next_notification(0.05))
            self.assertFalse(c.closed)
            go.set()
            self.assertEqual(c.dump(), "tu")
        p.join()

    def test_version_mismatch_and_fatal_welcome(self) -> None:
        p = Peer(lambda p: p.welcome(version=2))
        with self.assertRaises(sc.VersionMismatch) as e:
            sc.Client(p.client_sock, name="unit", timeout=10)
        self.assertEqual(
            str(e.exception), "protocol version mismatch: this client speaks 3, scspd mock speaks 2"
        )
        p.join()

        def busy(p: Peer) -> None:
            p.recv()
            p.send({"type": "fatal", "error": {"code": "busy", "message": "64 clients"}})

        p = Peer(busy)
        with self.assertRaises(sc.FatalError) as f:
            sc.Client(p.client_sock, name="unit", timeout=10)
        self.assertEqual(f.exception.code, "busy")
        p.join()

    def test_a_fatal_error_already_received_beats_the_broken_pipe(self) -> None:
        def script(p: Peer) -> None:
            p.welcome()
            p.send(notify("learned"))
            p.send({"type": "fatal", "error": {"code": "bad_frame", "message": "not JSON"}})

        p = Peer(script)
        c = sc.Client(p.client_sock, name="unit", timeout=10)
        p.join()  # scspd has closed its end: the next send fails with EPIPE
        with self.assertRaises(sc.FatalError) as e:
            c.show_servers()
        self.assertEqual(e.exception.code, "bad_frame")
        self.assertEqual(c.pending_notifications, 1)
        c.close()

    def test_a_close_inside_a_frame_is_truncation(self) -> None:
        def script(p: Peer) -> None:
            p.welcome()
            p.recv()
            p.sock.sendall(b"\0\0\0\x10{")
            p.sock.shutdown(socket.SHUT_WR)

        p = Peer(script)
        with sc.Client(p.client_sock, name="unit", timeout=10) as c:
            with self.assertRaises(sc.TruncatedFrame):
                c.show_servers()
            self.assertTrue(c.closed)
        p.join()

    def test_a_reply_to_another_request_is_a_protocol_error(self) -> None:
        def script(p: Peer) -> None:
            p.welcome()
            p.recv()
            p.send({"type": "reply", "id": 99, "ok": {"kind": "done"}})

        p = Peer(script)
        with sc.Client(p.client_sock, name="unit", timeout=10) as c:
            with self.assertRaises(sc.ProtocolError):
                c.reload()
        p.join()

    def test_connect_error_names_the_socket(self) -> None:
        with self.assertRaises(sc.ConnectError) as e:
            sc.Client.connect("/nonexistent/scspd.sock", timeout=1)
        msg = str(e.exception)
        self.assertTrue(msg.startswith("cannot connect to scspd: "), msg)
        self.assertTrue(msg.endswith("; is scspd running? (socket /nonexistent/scspd.sock)"), msg)

    def test_requests_are_the_documented_json(self) -> None:
        def script(p: Peer) -> None:
            p.welcome()
            answers = [
                {"kind": "servers", "servers": []},
                {"kind": "dcs", "dcs": []},
                {"kind": "cache", "entries": []},
                {"kind": "loaded", "accepted": 1, "errors": ["key 02: x"]},
                {"kind": "loaded", "accepted": 0, "errors": []},
                {"kind": "record_added", "entry": ENTRY},
                {"kind": "records_deleted", "entries": [ENTRY]},
            ]
            for a in answers:
                req = p.recv()
                p.send({"type": "reply", "id": req["id"], "ok": a})

        p = Peer(script)
        with sc.Client(p.client_sock, name="unit", timeout=10) as c:
            c.show_servers()
            c.show_dcs()
            c.show_cache("s")
            r = c.load("s", [("01", "aa"), {"key": b"\x02", "data": b"", "seq": 2147483650}])
            self.assertEqual((r.accepted, r.errors), (1, ["key 02: x"]))
            c.handover("s", {b"\x03": b"\xbb"})
            self.assertEqual(
                c.add_record("s", {"key": "0a000009"}, profile="generic").entry,
                sc.Entry.from_json(ENTRY),
            )
            self.assertEqual(len(c.del_record("s", {"key": "0a000009"})), 1)
        p.join()
        sent = [{k: v for k, v in m.items() if k not in ("type", "id")} for m in p.received[1:]]
        self.assertEqual(
            sent,
            [
                {"op": "show_servers"},
                {"op": "show_dcs"},
                {"op": "show_cache", "server": "s"},
                {
                    "op": "load",
                    "server": "s",
                    "entries": [
                        {"key": "01", "data": "aa"},
                        {"key": "02", "data": "", "seq": 2147483650},
                    ],
                },
                {"op": "handover", "server": "s", "entries": [{"key": "03", "data": "bb"}]},
                {
                    "op": "add_record",
                    "server": "s",
                    "record": {"key": "0a000009"},
                    "profile": "generic",
                },
                {"op": "del_record", "server": "s", "selector": {"key": "0a000009"}},
            ],
        )
        self.assertEqual([m["id"] for m in p.received[1:]], list(range(1, 8)))
        self.assertTrue(all(json.dumps(m) for m in p.received))


if __name__ == "__main__":
    unittest.main()
