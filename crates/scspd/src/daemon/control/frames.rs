//! Frames on a client connection: reading them (with the deadline of a frame once begun, and
//! the bound on its length), parsing their JSON (off the runtime's thread when large), writing
//! the daemon's.

use super::*;

pub(super) async fn write_msg(wr: &mut OwnedWriteHalf, msg: &DaemonMsg) -> std::io::Result<()> {
    wr.write_all(&encode(msg)).await
}

pub(super) fn bad_frame(message: impl Into<String>) -> ProtoError {
    ProtoError {
        code: ErrorCode::BadFrame,
        message: message.into(),
    }
}

/// Read frames until the connection ends or a frame is bad. A clean end (between frames) ends
/// the channel; anything else sends one error.
pub(super) async fn read_frames<R: AsyncRead + Unpin>(
    mut rd: R,
    tx: mpsc::Sender<Result<ClientMsg, ProtoError>>,
) {
    loop {
        let mut header = [0u8; 4];
        // Between frames a client may wait as long as it likes (the connection's idle timeout
        // bounds that); once a frame has begun, the rest has FRAME_TIMEOUT to arrive.
        let got = match rd.read(&mut header).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        let rest = tokio::time::timeout(FRAME_TIMEOUT, read_rest(&mut rd, header, got)).await;
        let body = match rest {
            Err(_) => {
                let _ = tx
                    .send(Err(bad_frame(format!(
                        "frame not completed within {} s of its first byte",
                        FRAME_TIMEOUT.as_secs()
                    ))))
                    .await;
                return;
            }
            Ok(Err(None)) => return,
            Ok(Err(Some(e))) => {
                let _ = tx.send(Err(e)).await;
                return;
            }
            Ok(Ok(body)) => body,
        };
        let msg = parse(body).await;
        let stop = msg.is_err();
        if tx.send(msg).await.is_err() || stop {
            return;
        }
    }
}

/// A frame's message; a large one (a `load`) is parsed off the runtime's thread, so that no
/// server task waits for it.
async fn parse(body: Vec<u8>) -> Result<ClientMsg, ProtoError> {
    let small = body_is_small(&body);
    let parse = move || {
        serde_json::from_slice::<ClientMsg>(&body)
            .map_err(|e| bad_frame(format!("not a client message: {e}")))
    };
    if small {
        return parse();
    }
    tokio::task::spawn_blocking(parse)
        .await
        .unwrap_or_else(|e| Err(bad_frame(format!("the frame could not be parsed: {e}"))))
}

/// Frames up to this size are parsed in place (a few milliseconds at most; a `load` of a
/// thousand entries, about 130 KB, then costs no hop to another thread and back).
const PARSE_IN_PLACE: usize = 1 << 20;

fn body_is_small(body: &[u8]) -> bool {
    body.len() <= PARSE_IN_PLACE
}

/// Read the rest of a frame whose first `got` header bytes are in `header`: its body, or the
/// error to send (`None`: the connection failed, nothing to say).
async fn read_rest<R: AsyncRead + Unpin>(
    rd: &mut R,
    mut header: [u8; 4],
    mut got: usize,
) -> Result<Vec<u8>, Option<ProtoError>> {
    {
        while got < 4 {
            match rd.read(&mut header[got..]).await {
                Ok(0) => return Err(Some(bad_frame("connection closed inside a frame"))),
                Ok(n) => got += n,
                Err(_) => return Err(None),
            }
        }
        let len = match frame_len(header) {
            Ok(len) => len,
            Err(e) => return Err(Some(bad_frame(e.to_string()))),
        };
        // Grows as bytes arrive: an announced length allocates nothing by itself.
        let mut body = Vec::new();
        match rd.take(len as u64).read_to_end(&mut body).await {
            Ok(n) if n == len => Ok(body),
            Ok(_) => Err(Some(bad_frame("connection closed inside a frame"))),
            Err(_) => Err(None),
        }
    }
}
