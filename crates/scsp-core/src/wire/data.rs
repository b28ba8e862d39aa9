//! [`Data`]: the client/server protocol specific part of a CSA record, held inline when small.

use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

/// Defines a `#[repr(u8)]` enum of lengths `0..=N` (one variant per value, named in order) and
/// the table from a length to its variant. Its other 256 − N − 1 byte values are free, so an
/// enum whose inline variant holds one gives the other variants their tag for nothing.
macro_rules! lengths {
    ($(#[$m:meta])* $name:ident, $table:ident, $max:expr, [$($v:ident),* $(,)?]) => {
        $(#[$m])*
        #[derive(Clone, Copy, PartialEq, Eq, Debug)]
        #[repr(u8)]
        pub(crate) enum $name {
            $($v),*
        }

        /// Every length, by value.
        pub(crate) const $table: [$name; $max + 1] = [$($name::$v),*];
    };
}
pub(crate) use lengths;

/// Longest protocol-specific part held inline: five words, so that moving one is two 16-byte
/// moves and an 8-byte one that never overlap (see [`super::Id`] on why that matters), and an
/// entry's [`Data`] is 48 bytes. An ATMARP record between an IPv4 address and a 20-byte ATM
/// address fits, as does any value of up to 40 bytes; longer ones are shared.
pub const DATA_INLINE: usize = 40;

lengths!(
    /// The length of an inline [`Data`].
    DataLen,
    DATA_LENS,
    DATA_INLINE,
    [
        D0, D1, D2, D3, D4, D5, D6, D7, D8, D9, D10, D11, D12, D13, D14, D15, D16, D17, D18, D19,
        D20, D21, D22, D23, D24, D25, D26, D27, D28, D29, D30, D31, D32, D33, D34, D35, D36, D37,
        D38, D39, D40,
    ]
);

#[derive(Clone, Copy)]
#[repr(C, align(8))]
struct Inline {
    b: [u8; DATA_INLINE],
    l: DataLen,
}

#[derive(Clone)]
enum Repr {
    Inline(Inline),
    Heap(Arc<[u8]>),
}

/// The client/server protocol specific part of a CSA record (B.2.2.1): opaque to SCSP itself.
///
/// Up to [`DATA_INLINE`] bytes are held inline and copied on clone: a record decoded from a
/// packet allocates nothing, and one that sits in the cache and on several retransmit queues at
/// once costs a copy of 48 bytes each time, not an atomic count (a full fence on x86) taken and
/// given back. Longer ones are shared behind a reference count.
#[derive(Clone)]
pub struct Data(Repr);

impl Data {
    /// The bytes.
    pub fn as_slice(&self) -> &[u8] {
        match &self.0 {
            Repr::Inline(i) => i.b.get(..i.l as usize).unwrap_or_default(),
            Repr::Heap(b) => b,
        }
    }
}

impl Deref for Data {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        self.as_slice()
    }
}

impl AsRef<[u8]> for Data {
    fn as_ref(&self) -> &[u8] {
        self.as_slice()
    }
}

impl std::borrow::Borrow<[u8]> for Data {
    fn borrow(&self) -> &[u8] {
        self.as_slice()
    }
}

impl Default for Data {
    fn default() -> Self {
        Data::from(&[][..])
    }
}

impl From<&[u8]> for Data {
    #[inline]
    fn from(bytes: &[u8]) -> Self {
        match DATA_LENS.get(bytes.len()) {
            Some(&l) => {
                let mut b = [0u8; DATA_INLINE];
                if let Some(dst) = b.get_mut(..bytes.len()) {
                    dst.copy_from_slice(bytes);
                }
                Data(Repr::Inline(Inline { b, l }))
            }
            None => Data(Repr::Heap(Arc::from(bytes))),
        }
    }
}

impl<const N: usize> From<&[u8; N]> for Data {
    fn from(bytes: &[u8; N]) -> Self {
        Data::from(&bytes[..])
    }
}

impl From<Vec<u8>> for Data {
    fn from(bytes: Vec<u8>) -> Self {
        if bytes.len() <= DATA_INLINE {
            Data::from(&bytes[..])
        } else {
            Data(Repr::Heap(Arc::from(bytes)))
        }
    }
}

impl From<Box<[u8]>> for Data {
    fn from(bytes: Box<[u8]>) -> Self {
        Data::from(Vec::from(bytes))
    }
}

impl From<Arc<[u8]>> for Data {
    fn from(bytes: Arc<[u8]>) -> Self {
        if bytes.len() <= DATA_INLINE {
            Data::from(&bytes[..])
        } else {
            Data(Repr::Heap(bytes))
        }
    }
}

impl PartialEq for Data {
    fn eq(&self, other: &Self) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl Eq for Data {}

impl PartialOrd for Data {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Data {
    /// Byte-wise lexicographic.
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.as_slice().cmp(other.as_slice())
    }
}

impl std::hash::Hash for Data {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.as_slice().hash(state);
    }
}

impl fmt::Debug for Data {
    /// As the byte slice.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.as_slice().fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_is_48_bytes_and_holds_any_length() {
        assert_eq!(std::mem::size_of::<Data>(), 48);
        for n in [0, 1, 7, 8, 39, 40, 41, 64, 1000, 65535] {
            let v: Vec<u8> = (0..n).map(|i| (i * 13 + n) as u8).collect();
            let forms = [
                Data::from(&v[..]),
                Data::from(v.clone()),
                Data::from(v.clone().into_boxed_slice()),
                Data::from(Arc::<[u8]>::from(&v[..])),
            ];
            for d in &forms {
                assert_eq!(&d[..], &v[..]);
                assert_eq!(d.len(), n);
                assert_eq!(d.clone(), forms[0]);
                assert_eq!(matches!(d.0, Repr::Inline(_)), n <= DATA_INLINE);
                assert_eq!(format!("{d:?}"), format!("{v:?}"));
            }
        }
        assert!(Data::from(&[1, 2][..]) < Data::from(&[1, 2, 0][..]));
        assert!(Data::from(&[2][..]) > Data::from(&[1; 50][..]));
        assert_ne!(Data::from(&[0; 3][..]), Data::from(&[0; 4][..]));
        assert_eq!(Data::default().len(), 0);
    }
}
