//! Reading a configuration or key file with a size limit: only a regular file is read, and one
//! larger than [`MAX_FILE_LEN`] is refused, so that `-f /dev/zero`, a FIFO or a huge file can
//! neither hang a reload nor exhaust memory.

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

/// The largest configuration or key file read: 4 MiB.
pub const MAX_FILE_LEN: u64 = 4 << 20;

/// Read `path` whole if it is a regular file of at most `limit` bytes. Anything else (a device,
/// a FIFO, a directory, a socket, a longer file) is an error of kind `InvalidInput` that says
/// why. The type is checked before the file is opened (opening a FIFO would wait for a writer)
/// and again on the open file; the read stops after `limit` + 1 bytes whatever the file does.
pub fn read_bounded(path: &Path, limit: u64) -> io::Result<Vec<u8>> {
    check(&std::fs::metadata(path)?, limit)?;
    let file = File::open(path)?;
    let meta = file.metadata()?;
    check(&meta, limit)?;
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.take(limit + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(too_long(limit));
    }
    Ok(bytes)
}

fn check(meta: &std::fs::Metadata, limit: u64) -> io::Result<()> {
    if !meta.is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "not a regular file",
        ));
    }
    if meta.len() > limit {
        return Err(too_long(limit));
    }
    Ok(())
}

fn too_long(limit: u64) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("larger than {limit} bytes"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_device_is_refused_without_reading() {
        let e = read_bounded(Path::new("/dev/zero"), MAX_FILE_LEN).unwrap_err();
        assert_eq!(e.to_string(), "not a regular file");
    }

    #[test]
    fn a_long_file_is_refused_and_a_short_one_read() {
        let dir = std::env::temp_dir().join(format!("scspd-bounded-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("f");
        std::fs::write(&f, vec![b'x'; 11]).unwrap();
        assert_eq!(read_bounded(&f, 11).unwrap().len(), 11);
        let e = read_bounded(&f, 10).unwrap_err();
        assert_eq!(e.to_string(), "larger than 10 bytes");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
