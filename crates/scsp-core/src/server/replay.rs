//! Replay protection for authenticated sessions (docs/replay-protection.md): a Vendor-Private
//! extension (B.3.2), covered by the HMAC of the Authentication extension (B.3.1), that carries
//! the sender's 64-bit cryptographic sequence number, the sender's nonce for this incarnation,
//! and the receiver's nonce as the sender last heard it.
//!
//! - A packet from an earlier incarnation of the receiver echoes a nonce the receiver no longer
//!   has: refused (the receiver restarted and forgot the sender; RFC 2334 B.3.1 alone accepts it).
//! - A packet whose sequence number is at or below the highest accepted, and outside the window
//!   of recent numbers or already seen in it: refused (a replay while the receiver runs).
//! - A sender numbers from its start time in microseconds, so a restarted sender is ahead of its
//!   earlier incarnation.
//! - A DCS that has sent the extension once must send it in every packet from then on.

use crate::wire::Extension;

/// This implementation's Vendor ID for its own Vendor-Private extensions (shared with the
/// reconciliation extension, docs/reconciliation.md 5.1): not an IEEE OUI, a private
/// convention of this implementation.
pub const VENDOR_ID: u32 = 0x5C_53_50;
/// Version octet of the replay extension.
pub const VERSION: u8 = 1;
/// Kind octet of the replay extension (the reconciliation extension uses 0-5).
pub const KIND: u8 = 0x10;
/// Length of the Vendor data: version, kind, two reserved octets, three 64-bit fields.
pub const DATA_LEN: usize = 28;
/// Octets the extension adds to a packet: type and length (4), Vendor ID (3), data.
pub const OVERHEAD: usize = 4 + 3 + DATA_LEN;
/// Sequence numbers remembered below the highest accepted, for packets that arrive reordered.
pub const WINDOW: u64 = 1024;

/// Whether a DCS's session uses replay protection (with authentication configured).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum ReplayMode {
    /// Neither sent nor checked: RFC 2334's authentication only.
    Off,
    /// Sent in every authenticated packet; checked from the first packet of the DCS that
    /// carries it (a DCS implementing only RFC 2334 never sends it and is accepted as before).
    #[default]
    On,
    /// Sent, and required in every packet from the DCS.
    Require,
}

/// The extension's fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReplayExt {
    /// The sender's cryptographic sequence number.
    pub seq: u64,
    /// The sender's nonce, for this incarnation.
    pub nonce: u64,
    /// The receiver's nonce as the sender last heard it; 0 before it has heard one.
    pub echo: u64,
}

impl ReplayExt {
    /// The Vendor-Private extension carrying these fields.
    pub fn to_extension(self) -> Extension {
        let mut data = Vec::with_capacity(DATA_LEN);
        data.extend_from_slice(&[VERSION, KIND, 0, 0]);
        data.extend_from_slice(&self.seq.to_be_bytes());
        data.extend_from_slice(&self.nonce.to_be_bytes());
        data.extend_from_slice(&self.echo.to_be_bytes());
        Extension::VendorPrivate {
            vendor_id: VENDOR_ID,
            data,
        }
    }

    /// The replay extension among `extensions`: `Ok(None)` when there is none, `Err` when one of
    /// our Vendor ID and kind does not parse.
    pub fn find(extensions: &[Extension]) -> Result<Option<ReplayExt>, &'static str> {
        for e in extensions {
            let Extension::VendorPrivate { vendor_id, data } = e else {
                continue;
            };
            if *vendor_id != VENDOR_ID || data.get(1) != Some(&KIND) {
                continue;
            }
            if data.len() != DATA_LEN {
                return Err("replay extension of the wrong length");
            }
            if data[0] != VERSION {
                return Err("replay extension of an unknown version");
            }
            let u = |i: usize| {
                let mut b = [0u8; 8];
                b.copy_from_slice(&data[i..i + 8]);
                u64::from_be_bytes(b)
            };
            return Ok(Some(ReplayExt {
                seq: u(4),
                nonce: u(12),
                echo: u(20),
            }));
        }
        Ok(None)
    }
}

/// Why a packet was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// It echoes a nonce that is not ours now: from before our start, or from a sender that has
    /// not heard us since.
    Stale,
    /// Its sequence number was accepted before, or is too old to tell.
    Replayed,
    /// No extension from a DCS that sent one before (or that must).
    Missing,
    /// The extension did not parse.
    Malformed(&'static str),
}

impl Refused {
    /// For logs and counters.
    pub fn text(self) -> &'static str {
        match self {
            Refused::Stale => {
                "stale nonce (from before a restart, or the DCS has not heard us yet)"
            }
            Refused::Replayed => "sequence number already accepted (replayed)",
            Refused::Missing => "no replay extension from a DCS that sends one",
            Refused::Malformed(m) => m,
        }
    }
}

/// What a receiver knows of one DCS's replay extension.
#[derive(Debug, Clone, Default)]
pub struct ReplayState {
    /// The DCS has sent the extension (in a packet that authenticated) since we started.
    pub seen: bool,
    /// The DCS's nonce, from its packet of highest sequence number seen: echoed to it.
    pub peer_nonce: u64,
    /// The highest sequence number seen in a packet that authenticated, accepted or not.
    pub max_seen: u64,
    /// The highest sequence number accepted.
    pub highest: u64,
    /// Bit i: `highest - i` was accepted (i < [`WINDOW`]).
    window: [u64; (WINDOW / 64) as usize],
}

impl ReplayState {
    /// Check an authenticated packet's extension, `ours` being our nonce: `Ok` accepts it (and
    /// records its number); the DCS's nonce is learned either way from the newest packet.
    pub fn check(
        &mut self,
        ext: Result<Option<ReplayExt>, &'static str>,
        ours: u64,
        mode: ReplayMode,
    ) -> Result<(), Refused> {
        let ext = match ext {
            Err(m) => return Err(Refused::Malformed(m)),
            Ok(None) if self.seen || mode == ReplayMode::Require => {
                return Err(Refused::Missing);
            }
            Ok(None) => return Ok(()),
            Ok(Some(e)) => e,
        };
        self.seen = true;
        if ext.seq > self.max_seen || self.max_seen == 0 {
            self.max_seen = self.max_seen.max(ext.seq);
            self.peer_nonce = ext.nonce;
        }
        if ext.echo != ours {
            return Err(Refused::Stale);
        }
        self.accept(ext.seq)
    }

    /// The sliding window of RFC 4303 3.4.3, [`WINDOW`] numbers wide.
    fn accept(&mut self, seq: u64) -> Result<(), Refused> {
        if seq > self.highest {
            let shift = seq - self.highest;
            self.shift(shift);
            self.highest = seq;
            self.set(0);
            return Ok(());
        }
        let back = self.highest - seq;
        if back >= WINDOW || self.get(back) {
            return Err(Refused::Replayed);
        }
        self.set(back);
        Ok(())
    }

    fn get(&self, i: u64) -> bool {
        self.window[(i / 64) as usize] & (1 << (i % 64)) != 0
    }

    fn set(&mut self, i: u64) {
        self.window[(i / 64) as usize] |= 1 << (i % 64);
    }

    /// Move the window up by `n`: bit i becomes bit i + n.
    fn shift(&mut self, n: u64) {
        if n >= WINDOW {
            self.window = Default::default();
            return;
        }
        let (words, bits) = ((n / 64) as usize, (n % 64) as u32);
        let len = self.window.len();
        for w in (0..len).rev() {
            let lo = w.checked_sub(words).map_or(0, |s| self.window[s]);
            let below = w.checked_sub(words + 1).map_or(0, |s| self.window[s]);
            self.window[w] = if bits == 0 {
                lo
            } else {
                (lo << bits) | (below >> (64 - bits))
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ext(seq: u64, echo: u64) -> Result<Option<ReplayExt>, &'static str> {
        Ok(Some(ReplayExt {
            seq,
            nonce: 77,
            echo,
        }))
    }

    #[test]
    fn the_extension_round_trips_and_has_its_documented_bytes() {
        let e = ReplayExt {
            seq: 0x0102_0304_0506_0708,
            nonce: 0x1112_1314_1516_1718,
            echo: 0x2122_2324_2526_2728,
        };
        let x = e.to_extension();
        let Extension::VendorPrivate { vendor_id, data } = &x else {
            panic!("{x:?}")
        };
        assert_eq!(*vendor_id, 0x5C5350);
        assert_eq!(
            hex(data),
            "01100000010203040506070811121314151617182122232425262728"
        );
        assert_eq!(ReplayExt::find(&[x]), Ok(Some(e)));
        assert_eq!(ReplayExt::find(&[]), Ok(None));
    }

    fn hex(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }

    #[test]
    fn a_replayed_or_too_old_number_is_refused_a_reordered_one_accepted() {
        let mut s = ReplayState::default();
        let m = ReplayMode::On;
        assert_eq!(s.check(ext(100, 9), 9, m), Ok(()));
        assert_eq!(s.check(ext(100, 9), 9, m), Err(Refused::Replayed));
        assert_eq!(s.check(ext(105, 9), 9, m), Ok(()));
        // 101..104 arrive late, once each.
        for n in 101..105 {
            assert_eq!(s.check(ext(n, 9), 9, m), Ok(()), "{n}");
            assert_eq!(s.check(ext(n, 9), 9, m), Err(Refused::Replayed), "{n}");
        }
        // Far ahead: the window moves; what fell out of it is refused.
        assert_eq!(s.check(ext(105 + WINDOW, 9), 9, m), Ok(()));
        assert_eq!(s.check(ext(105, 9), 9, m), Err(Refused::Replayed));
        assert_eq!(s.check(ext(106, 9), 9, m), Ok(()), "still in the window");
    }

    #[test]
    fn the_window_shifts_by_any_amount() {
        for step in [1u64, 3, 63, 64, 65, 127, 200, 1023] {
            let mut s = ReplayState::default();
            assert_eq!(s.accept(1000), Ok(()));
            assert_eq!(s.accept(1000 + step), Ok(()));
            assert_eq!(s.accept(1000), Err(Refused::Replayed), "step {step}");
            if step > 1 {
                assert_eq!(s.accept(1001), Ok(()), "step {step}");
            }
        }
    }

    #[test]
    fn a_stale_echo_is_refused_but_the_nonce_is_learned_from_the_newest() {
        let mut s = ReplayState::default();
        let m = ReplayMode::On;
        assert_eq!(s.check(ext(50, 0), 9, m), Err(Refused::Stale));
        assert_eq!(s.peer_nonce, 77);
        // An older packet with another nonce does not overwrite it.
        let old = Ok(Some(ReplayExt {
            seq: 10,
            nonce: 1,
            echo: 9,
        }));
        assert!(s.check(old, 9, m).is_ok(), "fresh echo, first number seen");
        assert_eq!(s.peer_nonce, 77);
    }

    #[test]
    fn stripping_is_refused_once_seen_and_rfc_only_peers_are_accepted() {
        let mut s = ReplayState::default();
        assert_eq!(s.check(Ok(None), 9, ReplayMode::On), Ok(()));
        assert_eq!(
            s.check(Ok(None), 9, ReplayMode::Require),
            Err(Refused::Missing)
        );
        assert_eq!(s.check(ext(1, 9), 9, ReplayMode::On), Ok(()));
        assert_eq!(s.check(Ok(None), 9, ReplayMode::On), Err(Refused::Missing));
    }
}
