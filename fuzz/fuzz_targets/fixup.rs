//! Shared by the targets: most inputs fail the Packet Size or checksum check, so each target also
//! tries the input with those two fields made right, to reach the mandatory part and extensions.

/// `data` with its Packet Size set to its length and its Checksum recomputed (unchanged when
/// shorter than the fixed part or longer than 65535 bytes).
pub fn fixed(data: &[u8]) -> Vec<u8> {
    let mut b = data.to_vec();
    if let (8.., Ok(len)) = (b.len(), u16::try_from(b.len())) {
        b[2..4].copy_from_slice(&len.to_be_bytes());
        b[4..6].copy_from_slice(&[0, 0]);
        let c = scsp_core::wire::checksum(&b);
        b[4..6].copy_from_slice(&c.to_be_bytes());
    }
    b
}
