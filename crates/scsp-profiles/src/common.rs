//! What the profiles share: the core's check of a record by its decoder, the State octet of a
//! fixed layout, and addresses carried in JSON as their text.

use std::fmt::Display;

use scsp_core::profile::InvalidRecord;

/// A decoder's verdict as the core's: `Ok` if the record decoded, its error otherwise, named
/// `what` ("NHRP record").
pub(crate) fn validated<T, E: Display>(
    decoded: Result<T, E>,
    what: &str,
) -> Result<(), InvalidRecord> {
    decoded
        .map(|_| ())
        .map_err(|e| InvalidRecord(format!("{what}: {e}")))
}

/// The octet at `offset` of a record of at least `fixed_len` octets (its fixed part).
pub(crate) fn octet_of_fixed(data: &[u8], fixed_len: usize, offset: usize) -> Option<u8> {
    (data.len() >= fixed_len).then(|| data[offset])
}

/// JSON (serde) of a type as its text: written with `Display`, read with `$parse`, a function
/// of `&str` giving `Result<$t, E>` with `E: Display`.
macro_rules! serde_as_text {
    ($t:ty, $parse:expr) => {
        impl serde::Serialize for $t {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }
        impl<'de> serde::Deserialize<'de> for $t {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <String as serde::Deserialize>::deserialize(d)?;
                $parse(&s).map_err(serde::de::Error::custom)
            }
        }
    };
}
pub(crate) use serde_as_text;
