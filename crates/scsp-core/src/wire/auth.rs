//! The SCSP Authentication Extension (B.3.1): HMAC computation and verification.
//!
//! Order of operations (rfc2334-readings.md #1): the sender builds the packet with the Checksum
//! field and the Authentication Data both zero, computes the MAC over the whole packet, inserts
//! it, then computes the checksum. The receiver checks the checksum on the bytes as received
//! ([`super::decode`] does), then recomputes the MAC with the Checksum field and the
//! Authentication Data taken as zero.

use hmac::{Hmac, KeyInit, Mac};
use md5::Md5;
use sha2::Sha256;

use super::decode::{EXT_AUTH, EXT_END, EXT_HEADER_LEN};
use super::error::AuthError;
use super::types::*;

/// Longest MAC of any supported algorithm.
pub(crate) const MAX_MAC_LEN: usize = 32;

/// Zeroes standing for the Authentication Data while the MAC is computed.
const ZEROES: [u8; MAX_MAC_LEN] = [0; MAX_MAC_LEN];

/// A running HMAC of one of the supported algorithms.
pub(crate) enum AnyMac {
    Md5(Hmac<Md5>),
    Sha256(Hmac<Sha256>),
}

impl AnyMac {
    /// `None` only if the HMAC implementation refuses the key, which HMAC never does.
    pub(crate) fn new(algorithm: AuthAlgorithm, key: &[u8]) -> Option<Self> {
        Some(match algorithm {
            AuthAlgorithm::HmacMd5 => AnyMac::Md5(Hmac::new_from_slice(key).ok()?),
            AuthAlgorithm::HmacSha256 => AnyMac::Sha256(Hmac::new_from_slice(key).ok()?),
        })
    }

    pub(crate) fn update(&mut self, data: &[u8]) {
        match self {
            AnyMac::Md5(m) => m.update(data),
            AnyMac::Sha256(m) => m.update(data),
        }
    }

    /// Write the MAC into `out`, which has the algorithm's MAC length (extra bytes are left
    /// alone; a shorter `out` gets a truncated MAC).
    pub(crate) fn finalize_into(self, out: &mut [u8]) {
        let copy = |mac: &[u8], out: &mut [u8]| {
            for (o, m) in out.iter_mut().zip(mac) {
                *o = *m;
            }
        };
        match self {
            AnyMac::Md5(m) => copy(&m.finalize().into_bytes(), out),
            AnyMac::Sha256(m) => copy(&m.finalize().into_bytes(), out),
        }
    }

    /// Constant-time comparison with `tag`.
    pub(crate) fn verify(self, tag: &[u8]) -> bool {
        match self {
            AnyMac::Md5(m) => m.verify_slice(tag).is_ok(),
            AnyMac::Sha256(m) => m.verify_slice(tag).is_ok(),
        }
    }
}

/// Offset of the SPI of the Authentication extension in `bytes`, found by walking the extensions
/// from the Start Of Extensions. `None` when the bytes hold no well-formed one.
fn find_auth(bytes: &[u8]) -> Option<usize> {
    let soe = usize::from(u16::from_be_bytes(*bytes.get(6..8)?.first_chunk::<2>()?));
    if soe == 0 {
        return None;
    }
    let mut pos = soe;
    loop {
        let header = bytes.get(pos..pos.checked_add(EXT_HEADER_LEN)?)?;
        let [t0, t1, l0, l1] = *header.first_chunk::<4>()?;
        let kind = u16::from_be_bytes([t0, t1]);
        let value_len = usize::from(u16::from_be_bytes([l0, l1]));
        match kind {
            EXT_END => return None,
            EXT_AUTH => return Some(pos + EXT_HEADER_LEN),
            _ => pos = pos.checked_add(EXT_HEADER_LEN + value_len)?,
        }
    }
}

/// See [`super::verify_auth`].
pub(crate) fn verify_auth(
    bytes: &[u8],
    packet: &Packet,
    lookup: impl Fn(u32) -> Option<AuthKey>,
) -> Result<(), AuthError> {
    let (spi, mac) = packet
        .extensions
        .iter()
        .find_map(|e| match e {
            Extension::Authentication { spi, mac } => Some((*spi, mac.as_slice())),
            _ => None,
        })
        .ok_or(AuthError::Missing)?;
    let key = lookup(spi).ok_or(AuthError::UnknownSpi(spi))?;
    let expected = key.algorithm.mac_len();
    if mac.len() != expected {
        return Err(AuthError::MacLength {
            spi,
            expected,
            found: mac.len(),
        });
    }
    // Locate the same extension in the bytes and check they are what was decoded.
    let spi_off = find_auth(bytes).ok_or(AuthError::Inconsistent)?;
    let mac_off = spi_off + 4;
    let mac_end = mac_off + expected;
    let (Some(head), Some(wire_spi), Some(wire_mac), Some(tail)) = (
        bytes.get(6..mac_off),
        bytes.get(spi_off..mac_off),
        bytes.get(mac_off..mac_end),
        bytes.get(mac_end..),
    ) else {
        return Err(AuthError::Inconsistent);
    };
    if wire_spi != spi.to_be_bytes() || wire_mac != mac {
        return Err(AuthError::Inconsistent);
    }
    let mut h = AnyMac::new(key.algorithm, &key.key).ok_or(AuthError::InvalidKey(spi))?;
    // The packet with the Checksum field (bytes 4..6) and the Authentication Data zero, fed in
    // pieces so that nothing is copied.
    h.update(bytes.get(..4).unwrap_or_default());
    h.update(&[0, 0]);
    h.update(head);
    h.update(ZEROES.get(..expected).unwrap_or_default());
    h.update(tail);
    if h.verify(wire_mac) {
        Ok(())
    } else {
        Err(AuthError::BadMac { spi })
    }
}
