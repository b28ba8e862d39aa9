#!/usr/bin/env python3
"""Round trip of one 1,400-byte UDP datagram between two processes on loopback, the floor under
every lock-step exchange of Cache Alignment (docs/PERFORMANCE.md, "The protocol's floor").

    scripts/udp_rtt.py            # blocking receives (each side sleeps until the datagram comes)
    scripts/udp_rtt.py --spin     # non-blocking receives polled in a loop (neither side sleeps)
"""
import os
import socket
import sys
import time

N = 20000
spin = "--spin" in sys.argv[1:]
a = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
a.bind(("127.0.0.1", 0))
b = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
b.bind(("127.0.0.1", 0))
pa, pb = a.getsockname(), b.getsockname()
if spin:
    a.setblocking(False)
    b.setblocking(False)


def rx(s):
    while True:
        try:
            return s.recvfrom(2048)
        except BlockingIOError:
            pass


msg = b"x" * 1400
if os.fork() == 0:
    for _ in range(N):
        d, _ = rx(b)
        b.sendto(d, pa)
    os._exit(0)
t = time.perf_counter()
for _ in range(N):
    a.sendto(msg, pb)
    rx(a)
dt = time.perf_counter() - t
os.wait()
print(f"udp round trip ({'spinning' if spin else 'blocking'}): {dt / N * 1e6:.1f} us over {N}")
