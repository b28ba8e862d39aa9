//! Socket input: datagrams drained in batches, each handed to the core as its DCS's.

use super::*;

impl Task {
    /// Carry out what the core wants: send its packets, handle its events; then let it store the
    /// records it received, and send and handle what that gives.
    pub(super) async fn drain(&mut self) {
        self.drain_once().await;
        if self.server.has_work() {
            // Datagrams that arrived meanwhile (a batch at most, so that a DCS that never stops
            // sending cannot hold its records unweighed) are taken first: the rest of a DCS's
            // answer to our CSUS lets the next CSUS go before the records are stored.
            if self.receive_ready() {
                self.drain_once().await;
            }
            let now = self.now();
            self.server.work(now);
            self.drain_once().await;
        }
    }

    /// During Cache Alignment, every message waits for the DCS's answer to the one before (2.2):
    /// the socket is polled for up to `LINGER` before the task goes back to sleep, as the answer
    /// usually comes sooner than a sleeping thread is woken (tens of microseconds on a virtual
    /// machine), and the exchange of a million entries is tens of thousands of such round trips.
    /// Between two looks the task yields, so that no other task waits on this one.
    pub(super) async fn linger(&mut self) {
        if !self.server.aligning() {
            return;
        }
        let start = Instant::now();
        while start.elapsed() < LINGER {
            if self.receive_ready() {
                // (The main loop takes over: timers and commands keep their turn.)
                self.drain().await;
                return;
            }
            // Not a spin: other server tasks and clients run in between (the runtime polls its
            // sockets, then comes back here).
            tokio::task::yield_now().await;
        }
    }

    /// Take the datagrams waiting on the socket, up to a batch, without waiting. Returns whether
    /// there were any.
    pub(super) fn receive_ready(&mut self) -> bool {
        let mut any = false;
        let Some(raw) = self.raw.take() else {
            return false;
        };
        let mut buf = std::mem::take(&mut self.buf);
        let mut bytes = 0;
        for _ in 0..RECV_BATCH {
            if bytes >= RECV_BATCH_BYTES {
                break;
            }
            match raw.recv_from(&mut buf) {
                Ok((n, from)) => {
                    any = true;
                    bytes += n;
                    self.datagram(&buf[..n], from);
                }
                Err(_) => break,
            }
        }
        self.buf = buf;
        self.raw = Some(raw);
        any
    }

    pub(super) async fn drain_once(&mut self) {
        loop {
            let mut busy = false;
            self.save_changes();
            while let Some(t) = self.server.poll_transmit() {
                busy = true;
                let Some(p) = self.peers.get(&t.dcs) else {
                    continue;
                };
                let addr = p.plan.addr;
                if let Err(e) = self.socket.send_to(&t.bytes, addr).await
                    && let Some(n) =
                        self.limit
                            .allow(std::time::Instant::now(), "send failed", Some(t.dcs))
                {
                    warn!(
                        dcs = %p.label,
                        peer = %addr,
                        "send failed: {e}{}",
                        suppressed_note(n)
                    );
                }
            }
            while let Some(ev) = self.server.poll_event() {
                busy = true;
                self.event(ev);
            }
            if !busy {
                break;
            }
        }
    }

    pub(super) fn datagram(&mut self, bytes: &[u8], from: SocketAddr) {
        match self.by_addr.get(&canonical(from)) {
            Some(&id) => {
                let now = self.now();
                self.server.handle_datagram(now, id, bytes);
            }
            None => {
                self.dropped_unknown += 1;
                if let Some(n) = self
                    .limit
                    .allow(std::time::Instant::now(), "unknown source", None)
                {
                    warn!(
                        "dropped a {}-byte packet from {from}, which is not a \
                         configured DCS{}",
                        bytes.len(),
                        suppressed_note(n)
                    );
                }
            }
        }
    }
}
