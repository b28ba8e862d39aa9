//! ATM addresses, as the original's `ATMaddr` statement takes them.

use std::fmt;

use serde::Serialize;

/// Length of an NSAP-format (ATM End System) address.
pub const NSAP_LEN: usize = 20;
/// Longest E.164 address.
pub const E164_MAX_LEN: usize = 15;

/// The format of an ATM address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum AtmAddressKind {
    /// A 20-byte NSAP-format ATM End System Address.
    Nsap,
    /// An E.164 address of 1 to 15 bytes (always with an NSAP subaddress).
    E164,
}

/// A DCS's ATM address: a 20-byte NSAP address alone, or an E.164 address with a 20-byte NSAP
/// subaddress. Kept for compatibility: the daemon runs over UDP/IP and does not use it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct AtmAddress {
    /// The format of `bytes`.
    pub kind: AtmAddressKind,
    /// The address.
    pub bytes: Vec<u8>,
    /// The NSAP subaddress (present exactly when `kind` is [`AtmAddressKind::E164`]).
    pub subaddress: Option<Vec<u8>>,
}

/// Why an `ATMaddr` statement is wrong. The first words of each message are the original's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AtmAddressError {
    /// The address is not hex digits, or has a length that is neither NSAP nor E.164.
    #[error("invalid ATM address \"{text}\": {reason}")]
    Address {
        /// The address as written.
        text: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The subaddress is not hex digits, or has a length that is neither NSAP nor E.164.
    #[error("invalid ATM subaddress \"{text}\": {reason}")]
    Subaddress {
        /// The subaddress as written.
        text: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Both parse but do not go together.
    #[error("invalid address/subaddress combination: {reason}")]
    Combination {
        /// What is wrong.
        reason: String,
    },
}

/// Decode hex digits with an optional leading `0x` and `.` separators anywhere (ignored).
pub fn parse_hex(text: &str) -> Result<Vec<u8>, String> {
    let digits = text
        .strip_prefix("0x")
        .or_else(|| text.strip_prefix("0X"))
        .unwrap_or(text);
    let mut out = Vec::with_capacity(digits.len() / 2);
    let mut high: Option<u8> = None;
    let mut count = 0usize;
    for c in digits.chars() {
        if c == '.' {
            continue;
        }
        let Some(v) = c.to_digit(16) else {
            return Err(format!("'{c}' is not a hex digit"));
        };
        let v = v as u8;
        count += 1;
        match high.take() {
            None => high = Some(v << 4),
            Some(h) => out.push(h | v),
        }
    }
    if count == 0 {
        return Err("no hex digits".to_owned());
    }
    if high.is_some() {
        return Err(format!("odd number of hex digits ({count})"));
    }
    Ok(out)
}

/// The format a length stands for, as the original decided it.
fn kind_of(len: usize) -> Option<AtmAddressKind> {
    if len == NSAP_LEN {
        Some(AtmAddressKind::Nsap)
    } else if len <= E164_MAX_LEN {
        Some(AtmAddressKind::E164)
    } else {
        None
    }
}

fn length_reason(len: usize) -> String {
    format!(
        "{len} bytes is neither a {NSAP_LEN}-byte NSAP address nor an E.164 address of at most \
         {E164_MAX_LEN} bytes"
    )
}

impl AtmAddress {
    /// Parse an address and an optional subaddress as written in `ATMaddr`.
    pub fn parse(address: &str, subaddress: Option<&str>) -> Result<AtmAddress, AtmAddressError> {
        let addr_err = |reason: String| AtmAddressError::Address {
            text: address.to_owned(),
            reason,
        };
        let bytes = parse_hex(address).map_err(addr_err)?;
        let kind = kind_of(bytes.len()).ok_or_else(|| addr_err(length_reason(bytes.len())))?;
        let sub = match subaddress {
            None => None,
            Some(text) => {
                let sub_err = |reason: String| AtmAddressError::Subaddress {
                    text: text.to_owned(),
                    reason,
                };
                let sub = parse_hex(text).map_err(sub_err)?;
                let sub_kind =
                    kind_of(sub.len()).ok_or_else(|| sub_err(length_reason(sub.len())))?;
                Some((sub, sub_kind))
            }
        };
        match (kind, sub) {
            (AtmAddressKind::Nsap, None) => Ok(AtmAddress {
                kind,
                bytes,
                subaddress: None,
            }),
            (AtmAddressKind::E164, Some((sub, AtmAddressKind::Nsap))) => Ok(AtmAddress {
                kind,
                bytes,
                subaddress: Some(sub),
            }),
            (AtmAddressKind::Nsap, Some(_)) => Err(AtmAddressError::Combination {
                reason: "an NSAP address takes no subaddress".to_owned(),
            }),
            (AtmAddressKind::E164, None) => Err(AtmAddressError::Combination {
                reason: format!(
                    "a {}-byte address is E.164 and needs a {NSAP_LEN}-byte NSAP subaddress",
                    bytes.len()
                ),
            }),
            (AtmAddressKind::E164, Some((sub, _))) => Err(AtmAddressError::Combination {
                reason: format!(
                    "the subaddress of an E.164 address must be a {NSAP_LEN}-byte NSAP address, \
                     not {} bytes",
                    sub.len()
                ),
            }),
        }
    }
}

fn write_hex(f: &mut fmt::Formatter<'_>, bytes: &[u8]) -> fmt::Result {
    f.write_str("0x")?;
    for b in bytes {
        write!(f, "{b:02x}")?;
    }
    Ok(())
}

/// Written as `ATMaddr` takes it: `0x…` hex, then ` 0x…` for the subaddress.
impl fmt::Display for AtmAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_hex(f, &self.bytes)?;
        if let Some(sub) = &self.subaddress {
            f.write_str(" ")?;
            write_hex(f, sub)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MANUAL: &str = "0x47.0005.80.ffdc00.0000.0002.0001.002048061de7.00";

    #[test]
    fn manual_example() {
        let a = AtmAddress::parse(MANUAL, None).unwrap();
        assert_eq!(a.kind, AtmAddressKind::Nsap);
        assert_eq!(a.bytes.len(), 20);
        assert_eq!(&a.bytes[..3], &[0x47, 0x00, 0x05]);
        assert_eq!(a.to_string(), "0x47000580ffdc00000000020001002048061de700");
        assert_eq!(AtmAddress::parse(&a.to_string(), None).unwrap(), a);
    }

    #[test]
    fn hex_forms() {
        assert_eq!(parse_hex("0x0a.0B"), Ok(vec![0x0a, 0x0b]));
        assert_eq!(parse_hex("0A0b"), Ok(vec![0x0a, 0x0b]));
        assert_eq!(parse_hex("0X.1.2"), Ok(vec![0x12]));
        assert!(parse_hex("0x").is_err());
        assert!(parse_hex("0x123").is_err());
        assert!(parse_hex("0xg0").is_err());
    }

    #[test]
    fn e164_with_subaddress() {
        let a = AtmAddress::parse("0x0123456789", Some(MANUAL)).unwrap();
        assert_eq!(a.kind, AtmAddressKind::E164);
        assert_eq!(a.subaddress.as_ref().map(Vec::len), Some(20));
    }

    #[test]
    fn errors() {
        let e = AtmAddress::parse("0x12345", None).unwrap_err();
        assert!(e.to_string().starts_with("invalid ATM address \"0x12345\""));
        let e = AtmAddress::parse(&"11".repeat(16), None).unwrap_err();
        assert!(e.to_string().contains("16 bytes is neither"), "{e}");
        let e = AtmAddress::parse("0x0123", Some("0xzz")).unwrap_err();
        assert!(e.to_string().starts_with("invalid ATM subaddress"));
        let e = AtmAddress::parse("0x0123", None).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("invalid address/subaddress combination")
        );
        let e = AtmAddress::parse(MANUAL, Some(MANUAL)).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("invalid address/subaddress combination")
        );
        let e = AtmAddress::parse("0x01", Some("0x02")).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("invalid address/subaddress combination")
        );
    }
}
