//! A tiny scripted scspd: a UNIX socket speaking the client protocol with the real frame
//! functions and message types, answering each request as the test's handler says.
#![allow(dead_code)]

use std::io::BufReader;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use scspd::client::{read_frame, write_frame};
use scspd::proto::{
    ClientMsg, DaemonMsg, ErrorCode, MIN_VERSION, Notify, ProtoError, ReplyResult, Request,
    Response, VERSION,
};

/// What the mock does in answer to a request, in order.
#[derive(Debug, Clone)]
pub enum Act {
    /// Reply to the request.
    Reply(ReplyResult),
    /// Send a notification.
    Notify(Notify),
    /// Close the connection.
    Close,
}

/// A successful reply.
pub fn ok(r: Response) -> Act {
    Act::Reply(ReplyResult::Ok(r))
}

/// A refusal.
pub fn err(code: ErrorCode, message: &str) -> Act {
    Act::Reply(ReplyResult::Error(ProtoError {
        code,
        message: message.into(),
    }))
}

type Handler = dyn Fn(&Request) -> Vec<Act> + Send + Sync;

/// A running mock daemon; the socket is removed on drop.
pub struct Mock {
    /// Its socket.
    pub path: PathBuf,
    /// Every request received, in order.
    pub log: Arc<Mutex<Vec<Request>>>,
}

impl Mock {
    /// Listens on a fresh socket and serves every connection with `handler`.
    pub fn start(handler: impl Fn(&Request) -> Vec<Act> + Send + Sync + 'static) -> Mock {
        static N: AtomicUsize = AtomicUsize::new(0);
        let path = std::env::temp_dir().join(format!(
            "scspd-mock-{}-{}.sock",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_file(&path);
        let listener = UnixListener::bind(&path).expect("bind mock socket");
        let log = Arc::new(Mutex::new(Vec::new()));
        let handler: Arc<Handler> = Arc::new(handler);
        let log2 = log.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { return };
                let (handler, log) = (handler.clone(), log2.clone());
                std::thread::spawn(move || serve(conn, &*handler, &log));
            }
        });
        Mock { path, log }
    }

    /// The requests received so far.
    pub fn requests(&self) -> Vec<Request> {
        self.log.lock().unwrap().clone()
    }
}

impl Drop for Mock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

fn serve(conn: UnixStream, handler: &Handler, log: &Mutex<Vec<Request>>) {
    let mut r = BufReader::new(conn);
    // As scspd: the version the client speaks, if it is one scspd speaks.
    let version = match read_frame::<_, ClientMsg>(&mut r) {
        Ok(ClientMsg::Hello { version, .. }) => version.clamp(MIN_VERSION, VERSION),
        _ => return,
    };
    let welcome = DaemonMsg::Welcome {
        version,
        daemon: "scspd mock".into(),
    };
    if write_frame(r.get_mut(), &welcome).is_err() {
        return;
    }
    while let Ok(ClientMsg::Request { id, req }) = read_frame::<_, ClientMsg>(&mut r) {
        log.lock().unwrap().push(req.clone());
        for act in handler(&req) {
            let msg = match act {
                Act::Reply(result) => DaemonMsg::Reply { id, result },
                Act::Notify(n) => DaemonMsg::Notify(n),
                Act::Close => return,
            };
            if write_frame(r.get_mut(), &msg).is_err() {
                return;
            }
        }
    }
}
