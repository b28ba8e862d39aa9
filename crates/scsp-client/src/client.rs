//! A small blocking client for scspd's local socket (the protocol of [`crate::proto`]).
//!
//! ```no_run
//! use scsp_client::client::Client;
//! use scsp_client::proto::{Request, Response};
//!
//! let mut c = Client::connect("/run/scspd.sock")?;
//! if let Response::Servers { servers } = c.request(Request::ShowServers)? {
//!     for s in servers {
//!         println!("{} {} entries", s.name, s.entries);
//!     }
//! }
//! # Ok::<(), scsp_client::client::ClientError>(())
//! ```
//!
//! The frame functions [`write_frame`] and [`read_frame`] work on any [`Write`] / [`Read`] and
//! enforce [`MAX_FRAME`] both ways; [`frame_len`] and [`encode_frame`] are the pieces an async
//! implementation needs.

use std::collections::{BTreeMap, VecDeque};
use std::io::{self, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::proto::{
    ClientMsg, DaemonMsg, EntryView, MAX_FRAME, Notify, ProtoError, ReplyResult, Request, Response,
    VERSION,
};

/// Why a frame could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    /// The peer closed the connection cleanly, between frames.
    #[error("connection closed")]
    Closed,
    /// Reading or writing failed, or the connection ended inside a frame.
    #[error("{0}")]
    Io(#[from] io::Error),
    /// A frame announced or encoded a length above [`MAX_FRAME`].
    #[error("frame too large: {len} bytes (at most {max})", max = MAX_FRAME)]
    TooLarge {
        /// Its length.
        len: usize,
    },
    /// A frame announced a length of 0.
    #[error("empty frame")]
    Empty,
    /// The frame is not JSON, or not the message expected.
    #[error("bad JSON in frame: {0}")]
    BadJson(#[from] serde_json::Error),
}

/// Checks a frame's 4-byte big-endian length prefix: the length of the body that follows.
pub fn frame_len(header: [u8; 4]) -> Result<usize, FrameError> {
    let len = u32::from_be_bytes(header) as usize;
    match len {
        0 => Err(FrameError::Empty),
        len if len > MAX_FRAME => Err(FrameError::TooLarge { len }),
        len => Ok(len),
    }
}

/// Encodes `msg` as one complete frame: length prefix then JSON.
pub fn encode_frame<T: Serialize + ?Sized>(msg: &T) -> Result<Vec<u8>, FrameError> {
    let mut buf = vec![0u8; 4];
    serde_json::to_writer(&mut buf, msg)?;
    let len = buf.len() - 4;
    if len > MAX_FRAME {
        return Err(FrameError::TooLarge { len });
    }
    // `len <= MAX_FRAME < 2^32`.
    buf[..4].copy_from_slice(&(len as u32).to_be_bytes());
    Ok(buf)
}

/// Writes `msg` as one frame (with a single `write_all`) and flushes.
pub fn write_frame<W: Write + ?Sized, T: Serialize + ?Sized>(
    w: &mut W,
    msg: &T,
) -> Result<(), FrameError> {
    let buf = encode_frame(msg)?;
    w.write_all(&buf)?;
    w.flush()?;
    Ok(())
}

/// Reads one frame and decodes its JSON as a `T`.
///
/// A connection closed before the first byte of the frame is [`FrameError::Closed`]; closed
/// inside it, [`FrameError::Io`] (`UnexpectedEof`). The length is checked before the body is
/// read, so an oversized frame never allocates.
pub fn read_frame<R: Read + ?Sized, T: DeserializeOwned>(r: &mut R) -> Result<T, FrameError> {
    let mut header = [0u8; 4];
    let mut got = 0;
    while got < header.len() {
        match r.read(&mut header[got..]) {
            Ok(0) if got == 0 => return Err(FrameError::Closed),
            Ok(0) => return Err(io::Error::from(io::ErrorKind::UnexpectedEof).into()),
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e.into()),
        }
    }
    let len = frame_len(header)?;
    let mut body = vec![0u8; len];
    r.read_exact(&mut body)?;
    Ok(serde_json::from_slice(&body)?)
}

/// What can go wrong talking to scspd.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The socket could not be connected to.
    #[error("{}", connect_message(path, source))]
    Connect {
        /// The socket.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// Reading or decoding a frame failed (includes a frame too large, bad JSON, and the
    /// connection closing).
    #[error("{0}")]
    Frame(#[from] FrameError),
    /// scspd speaks another protocol version.
    #[error("protocol version mismatch: this client speaks {ours}, {daemon} speaks {theirs}")]
    Version {
        /// [`VERSION`].
        ours: u32,
        /// The daemon's.
        theirs: u32,
        /// The daemon's self-description from its Welcome.
        daemon: String,
    },
    /// scspd refused a request.
    #[error("{}: {}", code_name(.0), .0.message)]
    Daemon(ProtoError),
    /// scspd ended the session with an error.
    #[error("{}: {} (session ended by scspd)", code_name(.0), .0.message)]
    Fatal(ProtoError),
    /// scspd sent something that makes no sense at that point.
    #[error("protocol error: {0}")]
    Unexpected(String),
}

impl ClientError {
    /// Whether the error is scspd's answer ([`ClientError::Daemon`] or [`ClientError::Fatal`])
    /// rather than a failure to reach or understand it.
    pub fn is_daemon_refusal(&self) -> bool {
        matches!(self, ClientError::Daemon(_) | ClientError::Fatal(_))
    }
}

fn connect_message(path: &Path, e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::NotFound | io::ErrorKind::ConnectionRefused => format!(
            "cannot connect to scspd: {e}; is scspd running? (socket {})",
            path.display()
        ),
        _ => format!("cannot connect to {}: {e}", path.display()),
    }
}

/// The `snake_case` name of an error code, as it appears on the wire.
pub fn code_name(e: &ProtoError) -> String {
    match serde_json::to_value(e.code) {
        Ok(serde_json::Value::String(s)) => s,
        _ => format!("{:?}", e.code),
    }
}

/// A session with scspd.
#[derive(Debug)]
pub struct Client {
    stream: BufReader<UnixStream>,
    next_id: u64,
    pending: VecDeque<Notify>,
    daemon: String,
}

impl Client {
    /// Connects to the socket at `path` and opens the session as client "scspd-client".
    pub fn connect(path: impl AsRef<Path>) -> Result<Client, ClientError> {
        Self::connect_as(path, "scspd-client")
    }

    /// Connects to the socket at `path` and opens the session; `client` names this program in
    /// scspd's logs.
    pub fn connect_as(path: impl AsRef<Path>, client: &str) -> Result<Client, ClientError> {
        let path = path.as_ref();
        let stream = UnixStream::connect(path).map_err(|source| ClientError::Connect {
            path: path.to_owned(),
            source,
        })?;
        Self::handshake(stream, client)
    }

    /// Opens the session on an already connected stream.
    pub fn handshake(stream: UnixStream, client: &str) -> Result<Client, ClientError> {
        let mut c = Client {
            stream: BufReader::new(stream),
            next_id: 1,
            pending: VecDeque::new(),
            daemon: String::new(),
        };
        c.send(&ClientMsg::Hello {
            version: VERSION,
            client: client.to_owned(),
        })?;
        match c.recv()? {
            DaemonMsg::Welcome { version, daemon } if version == VERSION => {
                c.daemon = daemon;
                Ok(c)
            }
            DaemonMsg::Welcome { version, daemon } => Err(ClientError::Version {
                ours: VERSION,
                theirs: version,
                daemon,
            }),
            DaemonMsg::Fatal { error } => Err(ClientError::Fatal(error)),
            other => Err(unexpected("a welcome", &other)),
        }
    }

    /// The daemon's self-description from its Welcome ("scspd 0.1.0").
    pub fn daemon(&self) -> &str {
        &self.daemon
    }

    /// Sends `req` and waits for its reply. Notifications that arrive meanwhile are kept for
    /// [`Client::next_notify`]. A refusal is [`ClientError::Daemon`].
    /// A streamed reply (`show_cache`, `dump`) comes back whole: its parts joined. The reply to
    /// `attach` or `watch` is the cache as its snapshot ended: the changes notified while it
    /// streamed are applied to it (and not kept, except `confirm`), so that the notifications
    /// that follow are exactly the changes after it (docs/client-protocol.md, "The snapshot").
    pub fn request(&mut self, req: Request) -> Result<Response, ClientError> {
        if matches!(req, Request::Attach { .. } | Request::Watch { .. }) {
            return self.snapshot(req);
        }
        let mut whole: Option<Response> = None;
        self.request_each(req, |part| {
            match (&mut whole, part) {
                (
                    Some(Response::Cache {
                        entries,
                        next,
                        count,
                        ..
                    }),
                    Response::Cache {
                        entries: more,
                        next: n,
                        count: c,
                        ..
                    },
                ) => {
                    entries.extend(more);
                    *next = n;
                    *count = c.or(*count);
                }
                (Some(Response::Dump { text, .. }), Response::Dump { text: more, .. }) => {
                    text.push_str(&more);
                }
                (w, part) => *w = Some(part),
            }
            Ok(())
        })?;
        Ok(match whole {
            Some(Response::Cache {
                entries,
                next,
                count,
                ..
            }) => Response::Cache {
                entries,
                more: false,
                next,
                count,
            },
            Some(Response::Dump { text, .. }) => Response::Dump { text, more: false },
            Some(r) => r,
            None => Response::Done,
        })
    }

    /// `attach` or `watch`: the snapshot's frames and the notifications between them applied in
    /// the order they came (an entry sent stores or replaces what is held under its key and
    /// originator; `removed` drops it if held).
    fn snapshot(&mut self, req: Request) -> Result<Response, ClientError> {
        let held = std::cell::RefCell::new(BTreeMap::<(String, String), EntryView>::new());
        let store = |e: EntryView| {
            held.borrow_mut()
                .insert((e.key.clone(), e.originator.clone()), e);
        };
        self.exchange(
            req,
            |part| {
                if let Response::Attached { entries, .. } = part {
                    entries.into_iter().for_each(store);
                }
                Ok(())
            },
            |n| match n {
                Notify::Learned { entry, .. } | Notify::Replaced { entry, .. } => {
                    store(entry);
                    None
                }
                Notify::Removed { entry, .. } => {
                    held.borrow_mut().remove(&(entry.key, entry.originator));
                    None
                }
                other => Some(other),
            },
        )?;
        Ok(Response::Attached {
            entries: held.into_inner().into_values().collect(),
            more: false,
        })
    }

    /// Sends `req` and hands each part of its reply to `part` as it arrives: a streamed reply
    /// (`show_cache`, `dump` in protocol version 2; `attach` and `watch` in version 3) in
    /// several parts, any other in one. Notifications that arrive meanwhile are kept for
    /// [`Client::next_notify`], in order. `part` returning an error stops (the rest of the
    /// reply is then not read: close the session).
    pub fn request_each(
        &mut self,
        req: Request,
        part: impl FnMut(Response) -> Result<(), ClientError>,
    ) -> Result<(), ClientError> {
        self.exchange(req, part, Some)
    }

    /// [`Client::request_each`], with each notification that arrives meanwhile given to
    /// `note` first: what it returns is kept for [`Client::next_notify`].
    fn exchange(
        &mut self,
        req: Request,
        mut part: impl FnMut(Response) -> Result<(), ClientError>,
        mut note: impl FnMut(Notify) -> Option<Notify>,
    ) -> Result<(), ClientError> {
        let id = self.next_id;
        self.next_id += 1;
        self.send(&ClientMsg::Request { id, req })?;
        loop {
            match self.recv()? {
                DaemonMsg::Reply { id: got, result } if got == id => match result {
                    ReplyResult::Ok(r) => {
                        let more = matches!(
                            r,
                            Response::Cache { more: true, .. }
                                | Response::Dump { more: true, .. }
                                | Response::Attached { more: true, .. }
                        );
                        part(r)?;
                        if !more {
                            return Ok(());
                        }
                    }
                    ReplyResult::Error(e) => return Err(ClientError::Daemon(e)),
                },
                DaemonMsg::Notify(n) => {
                    if let Some(n) = note(n) {
                        self.pending.push_back(n);
                    }
                }
                DaemonMsg::Fatal { error } => return Err(ClientError::Fatal(error)),
                DaemonMsg::Reply { id: got, .. } => {
                    return Err(ClientError::Unexpected(format!(
                        "reply to request {got} while waiting for {id}"
                    )));
                }
                other => return Err(unexpected("a reply", &other)),
            }
        }
    }

    /// The next notification: one kept while waiting for a reply, or the next to arrive
    /// (blocking). The connection closing is [`FrameError::Closed`].
    pub fn next_notify(&mut self) -> Result<Notify, ClientError> {
        if let Some(n) = self.pending.pop_front() {
            return Ok(n);
        }
        match self.recv()? {
            DaemonMsg::Notify(n) => Ok(n),
            DaemonMsg::Fatal { error } => Err(ClientError::Fatal(error)),
            other => Err(unexpected("a notification", &other)),
        }
    }

    /// The underlying stream (for timeouts or shutdown).
    pub fn stream(&self) -> &UnixStream {
        self.stream.get_ref()
    }

    fn send(&mut self, msg: &ClientMsg) -> Result<(), ClientError> {
        write_frame(self.stream.get_mut(), msg)?;
        Ok(())
    }

    fn recv(&mut self) -> Result<DaemonMsg, ClientError> {
        Ok(read_frame(&mut self.stream)?)
    }
}

fn unexpected(wanted: &str, got: &DaemonMsg) -> ClientError {
    let what = match got {
        DaemonMsg::Welcome { .. } => "a welcome",
        DaemonMsg::Reply { .. } => "a reply",
        DaemonMsg::Notify(_) => "a notification",
        DaemonMsg::Fatal { .. } => "a fatal error",
    };
    ClientError::Unexpected(format!("expected {wanted}, got {what}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::{EntryView, ErrorCode, KeyData};

    fn entry() -> EntryView {
        EntryView {
            key: "0a000001".into(),
            originator: "10.0.0.2".into(),
            seq: 0x8000_0001,
            data: "beef".into(),
            local: false,
            age_s: 3,
            record: None,
            columns: None,
        }
    }

    #[test]
    fn frames_round_trip_and_have_the_documented_shape() {
        let msgs = vec![
            ClientMsg::Hello {
                version: 1,
                client: "t".into(),
            },
            ClientMsg::Request {
                id: 7,
                req: Request::ShowServers,
            },
            ClientMsg::Request {
                id: 8,
                req: Request::ShowDcs { server: None },
            },
            ClientMsg::Request {
                id: 9,
                req: Request::Load {
                    server: "s".into(),
                    entries: vec![KeyData {
                        key: "01".into(),
                        data: "".into(),
                        seq: None,
                    }],
                },
            },
        ];
        let mut buf = Vec::new();
        for m in &msgs {
            write_frame(&mut buf, m).unwrap();
        }
        let mut r = &buf[..];
        for m in &msgs {
            assert_eq!(&read_frame::<_, ClientMsg>(&mut r).unwrap(), m);
        }
        assert!(matches!(
            read_frame::<_, ClientMsg>(&mut r),
            Err(FrameError::Closed)
        ));

        let f = encode_frame(&msgs[1]).unwrap();
        assert_eq!(&f[..4], &(f.len() as u32 - 4).to_be_bytes());
        assert_eq!(&f[4..], br#"{"type":"request","id":7,"op":"show_servers"}"#);
        // `server` may be omitted for show_dcs.
        let v: ClientMsg =
            serde_json::from_str(r#"{"type":"request","id":1,"op":"show_dcs"}"#).unwrap();
        assert_eq!(
            v,
            ClientMsg::Request {
                id: 1,
                req: Request::ShowDcs { server: None }
            }
        );
    }

    #[test]
    fn daemon_messages_round_trip() {
        let msgs = vec![
            DaemonMsg::Welcome {
                version: 1,
                daemon: "scspd 0.1.0".into(),
            },
            DaemonMsg::Reply {
                id: 1,
                result: ReplyResult::Ok(Response::Added { seq: 0x8000_0001 }),
            },
            DaemonMsg::Reply {
                id: 2,
                result: ReplyResult::Error(ProtoError {
                    code: ErrorCode::NoSuchServer,
                    message: "no server x".into(),
                }),
            },
            DaemonMsg::Notify(Notify::Removed {
                server: "s".into(),
                entry: entry(),
                reason: "purged".into(),
            }),
        ];
        for m in msgs {
            let f = encode_frame(&m).unwrap();
            assert_eq!(read_frame::<_, DaemonMsg>(&mut &f[..]).unwrap(), m);
        }
        let json = serde_json::to_string(&DaemonMsg::Reply {
            id: 2,
            result: ReplyResult::Ok(Response::Done),
        })
        .unwrap();
        assert_eq!(json, r#"{"type":"reply","id":2,"ok":{"kind":"done"}}"#);
    }

    #[test]
    fn bad_frames_are_typed_errors() {
        let big = ((MAX_FRAME + 1) as u32).to_be_bytes();
        assert!(matches!(
            read_frame::<_, DaemonMsg>(&mut &big[..]),
            Err(FrameError::TooLarge { len }) if len == MAX_FRAME + 1
        ));
        assert!(matches!(
            read_frame::<_, DaemonMsg>(&mut &[0u8, 0, 0, 0][..]),
            Err(FrameError::Empty)
        ));
        let truncated = [0u8, 0, 0, 9, b'{'];
        assert!(matches!(
            read_frame::<_, DaemonMsg>(&mut &truncated[..]),
            Err(FrameError::Io(e)) if e.kind() == io::ErrorKind::UnexpectedEof
        ));
        assert!(matches!(
            read_frame::<_, DaemonMsg>(&mut &[0u8, 0][..]),
            Err(FrameError::Io(e)) if e.kind() == io::ErrorKind::UnexpectedEof
        ));
        let mut notjson = vec![0u8, 0, 0, 3];
        notjson.extend_from_slice(b"{x}");
        assert!(matches!(
            read_frame::<_, DaemonMsg>(&mut &notjson[..]),
            Err(FrameError::BadJson(_))
        ));
        let huge = "x".repeat(MAX_FRAME);
        assert!(matches!(
            encode_frame(&huge),
            Err(FrameError::TooLarge { .. })
        ));
    }

    #[test]
    fn connect_error_names_the_socket_and_hints() {
        let e = Client::connect("/nonexistent/scspd.sock").unwrap_err();
        let msg = e.to_string();
        assert!(msg.starts_with("cannot connect to scspd: "), "{msg}");
        assert!(
            msg.ends_with("; is scspd running? (socket /nonexistent/scspd.sock)"),
            "{msg}"
        );
        // ENOTDIR: no hint.
        let e = Client::connect("/dev/null/scspd.sock").unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.starts_with("cannot connect to /dev/null/scspd.sock: "),
            "{msg}"
        );
        assert!(!msg.contains("is scspd running"), "{msg}");
    }

    #[test]
    fn client_buffers_notifications_and_matches_ids() {
        let (a, b) = UnixStream::pair().unwrap();
        let daemon = std::thread::spawn(move || {
            let mut b = BufReader::new(b);
            let hello: ClientMsg = read_frame(&mut b).unwrap();
            assert!(matches!(
                hello,
                ClientMsg::Hello {
                    version: VERSION,
                    ..
                }
            ));
            let w = b.get_mut();
            write_frame(
                w,
                &DaemonMsg::Welcome {
                    version: VERSION,
                    daemon: "mock".into(),
                },
            )
            .unwrap();
            let ClientMsg::Request { id, req } = read_frame(&mut b).unwrap() else {
                panic!()
            };
            assert_eq!(
                req,
                Request::Attach {
                    server: "s".into(),
                    confirm: false
                }
            );
            let w = b.get_mut();
            let n = DaemonMsg::Notify(Notify::Learned {
                server: "s".into(),
                entry: entry(),
            });
            // The snapshot in two frames, with changes between them: applied to it.
            write_frame(w, &n).unwrap();
            let part = |entries, more| DaemonMsg::Reply {
                id,
                result: ReplyResult::Ok(Response::Attached { entries, more }),
            };
            write_frame(w, &part(vec![], true)).unwrap();
            let removed = DaemonMsg::Notify(Notify::Removed {
                server: "s".into(),
                entry: entry(),
                reason: "deleted".into(),
            });
            write_frame(w, &removed).unwrap();
            write_frame(w, &part(vec![entry()], false)).unwrap();
            // After it: kept.
            write_frame(w, &n).unwrap();
            write_frame(
                w,
                &DaemonMsg::Fatal {
                    error: ProtoError {
                        code: ErrorCode::BadFrame,
                        message: "bye".into(),
                    },
                },
            )
            .unwrap();
        });
        let mut c = Client::handshake(a, "test").unwrap();
        assert_eq!(c.daemon(), "mock");
        let r = c
            .request(Request::Attach {
                server: "s".into(),
                confirm: false,
            })
            .unwrap();
        assert_eq!(
            r,
            Response::Attached {
                entries: vec![entry()],
                more: false
            }
        );
        assert!(matches!(c.next_notify().unwrap(), Notify::Learned { .. }));
        let e = c.next_notify().unwrap_err();
        assert!(matches!(e, ClientError::Fatal(_)));
        assert_eq!(e.to_string(), "bad_frame: bye (session ended by scspd)");
        daemon.join().unwrap();
    }

    #[test]
    fn version_mismatch_is_reported() {
        let (a, b) = UnixStream::pair().unwrap();
        let daemon = std::thread::spawn(move || {
            let mut b = BufReader::new(b);
            let _: ClientMsg = read_frame(&mut b).unwrap();
            write_frame(
                b.get_mut(),
                &DaemonMsg::Welcome {
                    version: VERSION + 1,
                    daemon: "scspd 9".into(),
                },
            )
            .unwrap();
        });
        let e = Client::handshake(a, "test").unwrap_err();
        assert_eq!(
            e.to_string(),
            format!(
                "protocol version mismatch: this client speaks {VERSION}, scspd 9 speaks {}",
                VERSION + 1
            )
        );
        daemon.join().unwrap();
    }
}
