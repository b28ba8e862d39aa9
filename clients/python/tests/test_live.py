"""scspd_client against two real scspd, A and B, DCSs of each other.

Run by crates/scspd/tests/python_client.rs (cargo test), which installs the package into a fresh
venv, starts the daemons and passes their sockets by environment:

    SCSPD_A_SOCKET, SCSPD_B_SOCKET   the daemons' sockets
    SCSPD_A_CONFIG                   A's configuration file (the reload test breaks and mends it)
    SCSPD_SERVER                     the server's name at both

The restart of B is asked of the runner on standard output ("@@kill B", "@@restart B"); it
answers "@@done" on standard input. The framing's unit tests (test_framing.py) run in the same
suite; the last line on standard output is "@@result ran=N failures=F errors=E skipped=S".
"""

from __future__ import annotations

import ipaddress
import os
import queue
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest
from typing import Callable, Iterator, List, Optional, Tuple, TypeVar

import scspd_client as sc

import test_framing

T = TypeVar("T")

A = os.environ.get("SCSPD_A_SOCKET", "")
B = os.environ.get("SCSPD_B_SOCKET", "")
A_CONFIG = os.environ.get("SCSPD_A_CONFIG", "")
S = os.environ.get("SCSPD_SERVER", "")
HERE = os.path.dirname(os.path.abspath(__file__))
EXAMPLE = os.path.join(HERE, "..", "examples", "local_server.py")

#: How long any awaited change may take (SCSP on loopback takes well under a second; the
#: daemons' HelloInterval is 1 s, so a realignment after a restart takes a few).
WAIT = 30.0


def poll(what: str, fn: Callable[[], Optional[T]], secs: float = WAIT) -> T:
    """Calls ``fn`` until it returns something true, for at most ``secs``; fails naming ``what``."""
    deadline = time.monotonic() + secs
    while True:
        last = fn()
        if last:
            return last
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {secs} s waiting for {what} (last: {last!r})")
        time.sleep(0.05)


def client(path: str) -> sc.Client:
    return sc.Client.connect(path, name="test_live", timeout=10)


def cache(path: str) -> List[sc.Entry]:
    with client(path) as c:
        return c.show_cache(S)


def triples(path: str, originator: Optional[str] = None) -> set[Tuple[str, str, str]]:
    return {
        (e.key, e.originator, e.data)
        for e in cache(path)
        if originator is None or e.originator == originator
    }


def lsid_hex(path: str) -> str:
    """The server's LSID as scspd writes IDs (the originator of its entries)."""
    with client(path) as c:
        (srv,) = [s for s in c.show_servers() if s.name == S]
    return srv.lsid


def attach_when_free(path: str, confirm: bool = False) -> Tuple[sc.Client, List[sc.Entry]]:
    """Attaches to S at ``path``, waiting while a client that just closed is still attached
    (closing detaches, but the daemon learns it a moment later)."""
    deadline = time.monotonic() + WAIT
    while True:
        c = client(path)
        try:
            return c, c.attach(S, confirm=confirm)
        except sc.Busy:
            c.close()
            if time.monotonic() >= deadline:
                raise
            time.sleep(0.05)


def next_note(c: sc.Client, want: Callable[[sc.Notification], bool], what: str) -> sc.Notification:
    """The first notification satisfying ``want`` (others are skipped), within WAIT."""
    deadline = time.monotonic() + WAIT
    seen: List[str] = []
    while True:
        left = deadline - time.monotonic()
        n = c.next_notification(timeout=max(0.0, left))
        if n is None:
            raise AssertionError(f"no notification {what} within {WAIT} s; saw {seen}")
        if want(n):
            return n
        seen.append(f"{n.event} {n.entry.key}")


def control(cmd: str) -> None:
    """Asks the runner (the Rust test) to act on the daemons, and waits until it has."""
    print(f"@@{cmd}", flush=True)
    answer = sys.stdin.readline().strip()
    if answer != "@@done":
        raise AssertionError(f"the runner answered {answer!r} to {cmd!r}")


class Live(unittest.TestCase):
    a_id = ""
    b_id = ""

    @classmethod
    def setUpClass(cls) -> None:
        if not (A and B and S and A_CONFIG):
            raise RuntimeError(
                "run by crates/scspd/tests/python_client.rs: SCSPD_A_SOCKET, "
                "SCSPD_B_SOCKET, SCSPD_A_CONFIG and SCSPD_SERVER are not set"
            )
        cls.a_id, cls.b_id = lsid_hex(A), lsid_hex(B)
        for path in (A, B):

            def aligned(path: str = path) -> bool:
                with client(path) as c:
                    return all(d.ca == "Aligned" for d in c.show_dcs(S)) and bool(c.show_dcs(S))

            poll(f"the DCS at {path} to be Aligned", aligned)

    def test_00_the_installed_package_is_tested(self) -> None:
        # The Rust test installs the package into a venv: the module must come from there, not
        # from the source tree.
        self.assertTrue(
            os.path.abspath(sc.__file__).startswith(os.path.abspath(sys.prefix)), sc.__file__
        )
        self.assertNotEqual(sys.prefix, sys.base_prefix, "not run in a venv")

    def test_01_session_and_read_requests(self) -> None:
        with client(A) as c:
            self.assertTrue(c.daemon.startswith("scspd "), c.daemon)
            servers = c.show_servers()
            (srv,) = [s for s in servers if s.name == S]
            self.assertEqual((srv.lsid, srv.dcs, srv.sgid), ("127.0.0.1", 1, 7))
            self.assertEqual(srv.profile, "generic")
            (d,) = c.show_dcs(S)
            self.assertEqual((d.server, d.id, d.hello), (S, "127.0.0.2", "Bidirectional"))
            self.assertGreater(d.rx_msgs, 0)
            self.assertEqual([x.id for x in c.show_dcs()], ["127.0.0.2"])
            self.assertIn(f"server {S}", c.dump())
            c.reload()  # the configuration is fine: done
        self.assertTrue(c.closed)

    def test_02_an_entry_added_at_a_reaches_b(self) -> None:
        key = b"\x0a\x02\x00\x01"
        with client(A) as c:
            seq = c.add(S, key, b"\xca\xfe")
            # A CSA sequence number (signed 32 bits, RFC 2334 B.2.0.2): neither the reserved
            # -2^31 nor the purge 2^31-1 (once a DCS is Aligned, scspd numbers from the seconds
            # since 2000 at its start: docs/rfc2334-readings.md, "numbers after a restart").
            self.assertNotIn(seq, (0x80000000, 0x7FFFFFFF))
            mine = [e for e in c.show_cache(S) if e.key == "0a020001"]
            self.assertEqual(
                [(e.originator, e.local, e.seq) for e in mine], [(self.a_id, True, seq)]
            )
            poll("0a020001 at B", lambda: ("0a020001", self.a_id, "cafe") in triples(B))
            (at_b,) = [e for e in cache(B) if e.key == "0a020001"]
            self.assertEqual((at_b.local, at_b.seq, at_b.data_bytes), (False, seq, b"\xca\xfe"))
            # New data: a new instance, under the next sequence number.
            seq2 = c.add(S, "0A020001", "beef")
            self.assertEqual(seq2, seq + 1)
            poll("the new data at B", lambda: ("0a020001", self.a_id, "beef") in triples(B))
            c.delete(S, key)
            poll("0a020001 withdrawn at B", lambda: not any(t[0] == "0a020001" for t in triples(B)))
            with self.assertRaises(sc.NotFound) as e:
                c.delete(S, key)
            self.assertEqual(e.exception.code, "not_found")

    def test_03_attach_and_notifications_of_entries_learned_from_the_dcs(self) -> None:
        w, entries = attach_when_free(B)
        with w, client(A) as a:
            self.assertFalse(any(e.key == "0a030001" for e in entries))
            # One client at a time may be attached.
            with client(B) as other, self.assertRaises(sc.Busy) as busy:
                other.attach(S)
            self.assertEqual(busy.exception.code, sc.ErrorCode.BUSY)
            with client(B) as other:
                (srv,) = [s for s in other.show_servers() if s.name == S]
                self.assertTrue(srv.client_attached)

            seq = a.add(S, "0a030001", "4700")
            # Requests on the attached connection itself: a notification arriving before a
            # reply is kept, not lost.
            poll("0a030001 at B", lambda: any(e.key == "0a030001" for e in w.show_cache(S)))
            n = next_note(w, lambda n: n.entry.key == "0a030001", "for 0a030001")
            self.assertEqual((n.event, n.server), ("learned", S))
            self.assertEqual(
                (n.entry.originator, n.entry.seq, n.entry.data, n.entry.local),
                (self.a_id, seq, "4700", False),
            )
            self.assertIsNotNone(n.entry.record)  # decoded by the generic profile

            seq2 = a.add(S, "0a030001", "4701")
            n = next_note(w, lambda n: n.entry.key == "0a030001", "replacing 0a030001")
            self.assertEqual((n.event, n.entry.seq, n.entry.data), ("replaced", seq2, "4701"))

            a.delete(S, "0a030001")
            n = next_note(w, lambda n: n.entry.key == "0a030001", "removing 0a030001")
            self.assertEqual((n.event, n.reason, n.entry.data), ("removed", "deleted", "4701"))

    def test_04_handover_withdraws_what_it_does_not_list(self) -> None:
        with client(A) as c:
            c.handover(S, [])  # start from nothing originated at A
            r = c.load(S, [("0a040001", "01"), ("0a040002", "02")])
            self.assertEqual((r.accepted, r.errors), (2, []))
            seq1 = {e.key: e.seq for e in c.show_cache(S)}["0a040001"]
            poll(
                "both at B",
                lambda: (
                    {("0a040001", self.a_id, "01"), ("0a040002", self.a_id, "02")} <= triples(B)
                ),
            )

            r = c.handover(S, [("0a040001", "01"), {"key": "0a040003", "data": "03"}])
            self.assertEqual((r.accepted, r.errors), (2, []))
            local = {e.key: e for e in c.show_cache(S) if e.local}
            self.assertEqual(sorted(local), ["0a040001", "0a040003"])
            # Listed with the data held: kept under its sequence number.
            self.assertEqual(local["0a040001"].seq, seq1)
            want = {("0a040001", self.a_id, "01"), ("0a040003", self.a_id, "03")}
            poll("B to hold exactly what A handed over", lambda: triples(B, self.a_id) == want)

            # A malformed hex string refuses the whole request, before any entry is taken.
            with self.assertRaises(sc.BadArgument) as e:
                c.handover(S, [("0a040004", "04"), ("0a04000x", "05")])
            self.assertEqual(e.exception.code, "bad_argument")
            self.assertEqual(
                sorted(e.key for e in c.show_cache(S) if e.local), ["0a040001", "0a040003"]
            )

            c.handover(S, {})
            self.assertEqual([e for e in c.show_cache(S) if e.local], [])
            poll("A's entries withdrawn at B", lambda: not triples(B, self.a_id))

    def test_05_errors_raise_the_class_of_their_code(self) -> None:
        with client(A) as c:
            with self.assertRaises(sc.NoSuchServer) as e1:
                c.show_cache("no-such-server")
            self.assertEqual(e1.exception.code, sc.ErrorCode.NO_SUCH_SERVER)
            with self.assertRaises(sc.BadArgument) as e2:
                c.add(S, "zz", "00")
            self.assertEqual(e2.exception.code, "bad_argument")
            with self.assertRaises(sc.BadArgument):
                c.add(S, b"", b"\x00")  # a key is 1 to 255 bytes
            with self.assertRaises(sc.NotFound) as e3:
                c.delete(S, "0a05ffff")
            self.assertEqual(e3.exception.code, "not_found")
            with self.assertRaises(sc.SequenceError) as e4:
                c.confirm(S, 1, True)  # not attached
            self.assertEqual(e4.exception.code, "sequence")
            # Every refusal leaves the session usable.
            self.assertFalse(c.closed)
            self.assertTrue(c.show_servers())

        # reload: a file with errors is refused as a whole, with code config.
        with open(A_CONFIG, encoding="utf-8") as f:
            good = f.read()
        try:
            with open(A_CONFIG, "w", encoding="utf-8") as f:
                f.write("server x { Prot 1; };\n")
            with client(A) as c, self.assertRaises(sc.ConfigError) as e5:
                c.reload()
            self.assertEqual(e5.exception.code, "config")
            self.assertIn(A_CONFIG, e5.exception.message)
        finally:
            with open(A_CONFIG, "w", encoding="utf-8") as f:
                f.write(good)
        with client(A) as c:
            c.reload()
            self.assertEqual([s.name for s in c.show_servers()], [S])

        # A bad frame ends the session: FatalError with code bad_frame.
        with client(A) as c:
            c.socket.sendall(b"\0\0\0\x03{x}")
            with self.assertRaises(sc.FatalError) as e6:
                c.show_servers()
            self.assertEqual(e6.exception.code, "bad_frame")
            self.assertTrue(c.closed)

        # The framing alone: a Hello of an unknown version is answered fatal "version".
        with socket.socket(socket.AF_UNIX) as s:
            s.settimeout(10)
            s.connect(A)
            wire = s.makefile("rwb")
            sc.write_frame(wire, {"type": "hello", "version": 99, "client": "test_live"})
            m = sc.read_frame(wire)
            self.assertEqual((m["type"], m["error"]["code"]), ("fatal", "version"))
            with self.assertRaises(sc.ConnectionClosed):
                sc.read_frame(wire)

        # A confirmation token nobody issued.
        w, _ = attach_when_free(B, confirm=True)
        with w, self.assertRaises(sc.NotFound):
            w.confirm(S, 123456789, True)

    def test_06_confirm_accepts_and_rejects(self) -> None:
        w, _ = attach_when_free(B, confirm=True)
        with w, client(A) as a:
            a.add(S, "0a060001", "0a")
            n = next_note(w, lambda n: n.entry.key == "0a060001", "confirm for 0a060001")
            self.assertEqual(n.event, "confirm")
            assert n.token is not None
            # Waiting for the verdict: not stored at B yet.
            self.assertNotIn("0a060001", [e.key for e in cache(B)])
            w.confirm(S, n.token, True)
            poll("the accepted entry at B", lambda: ("0a060001", self.a_id, "0a") in triples(B))

            a.add(S, "0a060002", "0b")
            n = next_note(
                w,
                lambda n: n.entry.key == "0a060002" and n.event == "confirm",
                "confirm for 0a060002",
            )
            assert n.token is not None
            w.confirm(S, n.token, False)
            # The verdict is applied before the reply: dropped.
            self.assertNotIn("0a060002", [e.key for e in cache(B)])
            with self.assertRaises(sc.NotFound):
                w.confirm(S, n.token, True)  # a token is answered once
            a.handover(S, [])

    def test_08_cache_filters_pages_and_counts(self) -> None:
        with client(A) as a:
            r = a.load(S, [(f"0a08{i:04x}", "08") for i in range(50)])
            self.assertEqual((r.accepted, r.errors), (50, []))
            self.assertEqual(a.count_cache(S, key="0a08"), 50)
            self.assertEqual(a.count_cache(S, key="0a08", originator="255.255.255.254"), 0)
            odd = a.show_cache(S, key="0a08002")
            self.assertEqual(sorted(e.key for e in odd), [f"0a08002{i:x}" for i in range(16)])
            keys: List[str] = []
            cursor: Optional[str] = None
            pages = 0
            while True:
                page, cursor = a.show_cache_page(S, 20, cursor, key="0a08")
                self.assertLessEqual(len(page), 20)
                keys += [e.key for e in page]
                pages += 1
                if cursor is None:
                    break
                self.assertLess(pages, 10)
            self.assertEqual(sorted(keys), [f"0a08{i:04x}" for i in range(50)])
            self.assertGreaterEqual(pages, 3)
            with self.assertRaises(sc.BadArgument):
                a.show_cache_page(S, 20, "not a cursor")
            a.handover(S, [])

    def test_07_the_example_local_server(self) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            table = os.path.join(tmp, "table.txt")

            def write_table(*entries: Tuple[str, str]) -> None:
                # Replaced by a rename, so the example never reads half a file.
                with open(table + ".new", "w", encoding="utf-8") as f:
                    f.write("# the example's table\n")
                    for k, d in entries:
                        f.write(f"{k} {d}\n")
                os.replace(table + ".new", table)

            write_table(("0c000001", "01"), ("0c000002", "02"))
            ex = Example(
                [
                    sys.executable,
                    "-u",
                    EXAMPLE,
                    "-s",
                    B,
                    "--server",
                    S,
                    "--table",
                    table,
                    "--confirm",
                    "--reject-key",
                    "0c0000ff",
                    "--max-delay",
                    "0.5",
                ]
            )
            try:
                self._example(ex, write_table)
            finally:
                status = ex.stop()
            self.assertEqual(status, 0, ex.output())
            self.assertEqual(ex.stderr(), "")

    def _example(self, ex: "Example", write_table: Callable[..., None]) -> None:
        b = self.b_id
        ex.wait("attached to")
        ex.wait("handed over 2 entries")
        poll(
            "the example's entries at A",
            lambda: {("0c000001", b, "01"), ("0c000002", b, "02")} <= triples(A, b),
        )

        with client(A) as a:
            a.add(S, "0c000010", "10")
            ex.wait(f"accepted 0c000010 from {self.a_id}")
            a.add(S, "0c0000ff", "ff")
            ex.wait(f"rejected 0c0000ff from {self.a_id}")
            poll("0c000010 at B", lambda: any(e.key == "0c000010" for e in cache(B)))
            self.assertNotIn("0c0000ff", [e.key for e in cache(B)])
            a.delete(S, "0c000010")
            ex.wait(f"removed 0c000010 from {self.a_id} (deleted)")
            a.delete(S, "0c0000ff")

        # The table changes: handed over again, and what it dropped is withdrawn everywhere.
        write_table(("0c000001", "01"), ("0c000003", "03"))
        ex.wait("table changed")
        ex.wait("handed over 2 entries")
        want = {("0c000001", b, "01"), ("0c000003", b, "03")}
        poll("A to hold the new table", lambda: triples(A, b) == want)

        # scspd restarts: the example reconnects, attaches, and hands over its table, changed
        # meanwhile; entries of B that came back from A and are no longer listed are withdrawn.
        control("kill B")
        ex.wait("scspd unavailable")
        write_table(("0c000001", "01"), ("0c000004", "04"))
        control("restart B")
        ex.wait("attached to")
        ex.wait("handed over 2 entries")
        want = {("0c000001", b, "01"), ("0c000004", b, "04")}
        poll("A to hold the table handed over after the restart", lambda: triples(A, b) == want)
        poll(
            "B to hold it, as its own",
            lambda: (
                {(e.key, e.data) for e in cache(B) if e.local}
                == {("0c000001", "01"), ("0c000004", "04")}
            ),
        )


class Example:
    """The example local server as a child process; its output lines are kept."""

    def __init__(self, argv: List[str]) -> None:
        self.proc = subprocess.Popen(
            argv,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            text=True,
        )
        self.lines: "queue.Queue[Optional[str]]" = queue.Queue()
        self.seen: List[str] = []
        self._err: List[str] = []
        threading.Thread(target=self._read, daemon=True).start()
        self._err_thread = threading.Thread(target=self._read_err, daemon=True)
        self._err_thread.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def _read_err(self) -> None:
        assert self.proc.stderr is not None
        self._err.append(self.proc.stderr.read())

    def wait(self, prefix: str) -> str:
        """The next line starting with ``prefix`` (lines before it are passed over)."""
        deadline = time.monotonic() + WAIT
        while True:
            try:
                line = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(
                    f"the example printed no {prefix!r} within {WAIT} s:\n{self.output()}"
                ) from None
            if line is None:
                raise AssertionError(
                    f"the example ended before printing {prefix!r}:\n{self.output()}"
                )
            self.seen.append(line)
            if line.startswith(prefix):
                return line

    def stop(self) -> Optional[int]:
        self.proc.terminate()
        try:
            return self.proc.wait(timeout=WAIT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()

    def stderr(self) -> str:
        self._err_thread.join(WAIT)
        return "".join(self._err)

    def output(self) -> str:
        return "\n".join(self.seen)


def suite() -> Iterator[unittest.TestSuite]:
    loader = unittest.TestLoader()
    yield loader.loadTestsFromModule(test_framing)
    yield loader.loadTestsFromTestCase(Live)


if __name__ == "__main__":
    print(
        f"Python {sys.version.split()[0]} at {sys.executable}, scspd_client from {sc.__file__}",
        file=sys.stderr,
        flush=True,
    )
    result = unittest.TextTestRunner(stream=sys.stderr, verbosity=2).run(
        unittest.TestSuite(suite())
    )
    print(
        f"@@result ran={result.testsRun} failures={len(result.failures)} "
        f"errors={len(result.errors)} skipped={len(result.skipped)}",
        flush=True,
    )
    sys.exit(0 if result.wasSuccessful() else 1)
