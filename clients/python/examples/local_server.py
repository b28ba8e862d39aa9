#!/usr/bin/env python3
"""A complete local server for scspd, with the scspd_client package.

It plays the part an ATMARP, NHRP or MARS server plays: it owns a table of entries that SCSP
must spread to the server group, and it wants to know the entries the other servers hold.

- It connects to scspd, attaches to one server (optionally asking to confirm each new remote
  entry) and hands over its whole table: scspd originates what is new, keeps what it already
  holds under its sequence number, and withdraws any entry it originated earlier that the table
  no longer lists.
- It keeps the remote entries in memory from the attach reply and the notifications (learned,
  replaced, removed), and prints each change; with --confirm it accepts every new remote entry
  except those whose key is given with --reject-key.
- When its table file changes, it hands it over again. An entry of its own that expires is
  added again if the table still lists it.
- When scspd goes away (restart, upgrade), it reconnects with a growing delay and starts again:
  attach, then handover.

The table file has one entry a line, "KEY DATA" or "KEY DATA SEQ" (hex byte strings, SEQ a CSA
sequence number), "#" starting a comment:

    # key     data
    0a000001  47000580ffe1000000f21a2d8e0020481a2d8e00

Run it as  python3 local_server.py -s /run/scspd.sock --server atmarp --table table.txt
It prints one line per event, for people (and for the tests in clients/python/tests).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from typing import Dict, List, Optional, Set, Tuple

from scspd_client import Client, Entry, FatalError, ScspdError, to_hex


def say(*parts: object) -> None:
    print(*parts, flush=True)


def read_table(path: str) -> List[Dict[str, object]]:
    """The table's entries; a bad line is reported (file:line) and skipped."""
    out: List[Dict[str, object]] = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            words = line.split("#", 1)[0].split()
            if not words:
                continue
            try:
                if len(words) not in (2, 3):
                    raise ValueError("expected KEY DATA [SEQ]")
                key, data = (bytes.fromhex(w).hex() for w in words[:2])
                if not 1 <= len(key) // 2 <= 255:
                    raise ValueError("a key is 1 to 255 bytes")
                e: Dict[str, object] = {"key": key, "data": data}
                if len(words) == 3:
                    e["seq"] = int(words[2], 0)
                out.append(e)
            except ValueError as err:
                print(f"{path}:{n}: {err}: {line.strip()!r}", file=sys.stderr, flush=True)
    return out


def mtime(path: Optional[str]) -> Optional[Tuple[int, int, int]]:
    """What tells that the file changed (also when it was replaced by a rename)."""
    if path is None:
        return None
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_ino, st.st_mtime_ns, st.st_size)


class LocalServer:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.server: str = args.server
        self.reject: Set[str] = {to_hex(bytes.fromhex(k)) for k in args.reject_key}
        #: Remote entries by (key, originator).
        self.remote: Dict[Tuple[str, str], Entry] = {}
        self.table: List[Dict[str, object]] = []
        self.table_mtime: Optional[Tuple[int, int, int]] = None

    def load_table(self) -> None:
        self.table_mtime = mtime(self.args.table)
        self.table = read_table(self.args.table) if self.args.table else []

    def hand_over(self, c: Client) -> None:
        r = c.handover(self.server, self.table)
        say(f"handed over {r.accepted} entries" + (f", refused: {r.errors}" if r.errors else ""))

    def session(self) -> None:
        """One connection: attach, hand over, then follow the notifications until it ends."""
        with Client.connect(self.args.socket, name=self.args.name, timeout=self.args.timeout) as c:
            entries = c.attach(self.server, confirm=self.args.confirm)
            self.remote = {(e.key, e.originator): e for e in entries if not e.local}
            say(f"attached to {self.server} ({c.daemon}): {len(self.remote)} remote entries")
            self.load_table()
            self.hand_over(c)
            while True:
                n = c.next_notification(timeout=1.0)
                if mtime(self.args.table) != self.table_mtime:
                    self.load_table()
                    say("table changed")
                    self.hand_over(c)
                if n is None:
                    continue
                e = n.entry
                if n.event in ("learned", "replaced"):
                    self.remote[(e.key, e.originator)] = e
                    say(f"{n.event} {e.key} from {e.originator} seq {e.seq:#x} data {e.data}")
                elif n.event == "removed":
                    self.remote.pop((e.key, e.originator), None)
                    say(f"removed {e.key} from {e.originator} ({n.reason})")
                    mine = {str(t["key"]): t for t in self.table}
                    if e.local and n.reason == "expired" and e.key in mine:
                        seq = c.add(self.server, e.key, str(mine[e.key]["data"]))
                        say(f"refreshed {e.key} seq {seq:#x}")
                elif n.event == "confirm" and n.token is not None:
                    accept = e.key not in self.reject
                    c.confirm(self.server, n.token, accept)
                    say(f"{'accepted' if accept else 'rejected'} {e.key} from {e.originator}")
                else:
                    say(f"ignored notification {n.event}")

    def run(self) -> None:
        delay = 0.1
        while True:
            started = time.monotonic()
            try:
                self.session()
            except FatalError as e:
                say(f"session ended by scspd: {e}")
            except (ScspdError, OSError) as e:
                say(f"scspd unavailable: {e}")
            # A session that lasted resets the delay; repeated failures back off.
            delay = 0.1 if time.monotonic() - started > 10 else min(delay * 2, self.args.max_delay)
            say(f"reconnecting in {delay:.1f} s")
            time.sleep(delay)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument(
        "-s", "--socket", help="scspd's socket (default: $SCSPD_SOCKET or /run/scspd.sock)"
    )
    p.add_argument(
        "--server", required=True, help="the server to attach to, as named in scspd.conf"
    )
    p.add_argument("--table", help="the file of this server's entries (KEY DATA [SEQ] a line)")
    p.add_argument("--confirm", action="store_true", help="confirm each new remote entry")
    p.add_argument(
        "--reject-key",
        action="append",
        default=[],
        metavar="HEX",
        help="with --confirm: reject remote entries of this key (repeatable)",
    )
    p.add_argument("--name", default="local_server.py", help="the name in scspd's logs")
    p.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for a reply")
    p.add_argument(
        "--max-delay", type=float, default=5.0, help="longest wait between reconnections"
    )
    args = p.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        LocalServer(args).run()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
