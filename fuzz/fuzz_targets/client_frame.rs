//! The client protocol's framing, as scspd reads a client's stream (and a client scspd's): frames
//! are read one after another from the input until one fails; none panics, none allocates more
//! than its announced length (checked against `MAX_FRAME` before the body is read).
#![no_main]

use std::io::Cursor;

use libfuzzer_sys::fuzz_target;
use scspd::client::{FrameError, frame_len, read_frame};
use scspd::proto::{ClientMsg, DaemonMsg};

fuzz_target!(|data: &[u8]| {
    if let Some(h) = data.first_chunk::<4>() {
        let _ = frame_len(*h);
    }
    let mut r = Cursor::new(data);
    while let Ok(_) | Err(FrameError::BadJson(_)) = read_frame::<_, ClientMsg>(&mut r) {}
    let mut r = Cursor::new(data);
    while let Ok(_) | Err(FrameError::BadJson(_)) = read_frame::<_, DaemonMsg>(&mut r) {}
});
