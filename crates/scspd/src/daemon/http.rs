//! The metrics endpoint (`Metrics <address>:<port>;`): a minimal HTTP/1.1 server on the
//! daemon's runtime that answers `GET /metrics` (and `HEAD`) with the text of
//! [`super::metrics::encode`], one request per connection (`Connection: close`).
//!
//! The request is parsed by httparse; what is written back is a status line, three headers and
//! the body. A full HTTP stack (hyper with hyper-util, http, http-body and their dependencies)
//! would serve this one read-only path no better. Bounds: [`MAX_CONNS`] connections at once
//! (more are closed at once), requests of at most [`MAX_REQUEST`] bytes, [`IO_TIMEOUT`] for the
//! request to arrive and for the answer to be taken. Gathering the figures never makes a server
//! task wait (see `metrics.rs`).

use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tracing::warn;

use super::ratelimit::{RateLimits, suppressed_note};

use super::control::Ctx;

/// Connections served at once.
pub const MAX_CONNS: usize = 8;
/// Largest request (line and headers).
pub const MAX_REQUEST: usize = 8192;
/// Time for the request to arrive, and for the answer to be written.
pub const IO_TIMEOUT: Duration = Duration::from_secs(5);

/// The OpenMetrics text format's content type.
const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";
/// The Prometheus text format's.
const PROMETHEUS: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Bind the endpoint's listener.
pub async fn bind(addr: std::net::SocketAddr) -> Result<TcpListener, String> {
    TcpListener::bind(addr)
        .await
        .map_err(|e| format!("metrics: can't listen on {addr}: {e}"))
}

/// Serve scrapes until the task is aborted (which ends every connection too). Refusals and
/// requests not served are logged at WARN naming the peer, at most 10 lines a minute per reason
/// (`daemon/ratelimit.rs`).
pub async fn serve(listener: TcpListener, ctx: Arc<Ctx>) {
    let permits = Arc::new(Semaphore::new(MAX_CONNS));
    let mut conns = JoinSet::new();
    let mut limit = RateLimits::default();
    let mut log = |reason: &'static str, text: String| {
        if let Some(n) = limit.allow(std::time::Instant::now(), reason, None) {
            warn!("metrics: {text}{}", suppressed_note(n));
        }
    };
    loop {
        tokio::select! {
            r = listener.accept() => match r {
                Ok((stream, peer)) => match permits.clone().try_acquire_owned() {
                    Ok(permit) => {
                        let ctx = ctx.clone();
                        conns.spawn(async move {
                            let _permit = permit;
                            (peer, connection(stream, &ctx).await)
                        });
                    }
                    Err(_) => {
                        ctx.status.http(false);
                        log("refused", format!("{peer}: connection refused, {MAX_CONNS} are open"));
                    }
                },
                Err(e) => {
                    log("accept", format!("accept failed: {e}"));
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
            Some(r) = conns.join_next() => match r {
                Ok((peer, Ok(Some(status)))) => log("bad request", format!("{peer}: answered {status}")),
                Ok((peer, Err(e))) => log("connection", format!("{peer}: {e}")),
                _ => {}
            },
        }
    }
}

/// What a request asks.
#[derive(Debug, PartialEq, Eq)]
enum Ask {
    /// The metrics; OpenMetrics if the client accepts it; no body for HEAD.
    Metrics { openmetrics: bool, head: bool },
    /// An error status and its text.
    Error(&'static str),
}

/// Read one request: `Ok(None)` when the connection closed before a whole one came.
async fn read_request(stream: &mut TcpStream) -> std::io::Result<Option<Ask>> {
    let mut buf = vec![0u8; MAX_REQUEST];
    let mut len = 0;
    loop {
        let n = stream.read(&mut buf[len..]).await?;
        if n == 0 {
            return Ok(None);
        }
        len += n;
        let mut headers = [httparse::EMPTY_HEADER; 32];
        let mut req = httparse::Request::new(&mut headers);
        match req.parse(&buf[..len]) {
            Ok(httparse::Status::Complete(_)) => return Ok(Some(ask(&req))),
            Ok(httparse::Status::Partial) if len < MAX_REQUEST => continue,
            Ok(httparse::Status::Partial) => {
                return Ok(Some(Ask::Error("431 Request Header Fields Too Large")));
            }
            Err(httparse::Error::TooManyHeaders) => {
                return Ok(Some(Ask::Error("431 Request Header Fields Too Large")));
            }
            Err(_) => return Ok(Some(Ask::Error("400 Bad Request"))),
        }
    }
}

fn ask(req: &httparse::Request) -> Ask {
    let head = match req.method {
        Some("GET") => false,
        Some("HEAD") => true,
        _ => return Ask::Error("405 Method Not Allowed"),
    };
    let path = req.path.unwrap_or("");
    let path = path.split('?').next().unwrap_or("");
    if path != "/metrics" {
        return Ask::Error("404 Not Found");
    }
    let openmetrics = req.headers.iter().any(|h| {
        h.name.eq_ignore_ascii_case("accept")
            && String::from_utf8_lossy(h.value).contains("application/openmetrics-text")
    });
    Ask::Metrics { openmetrics, head }
}

/// Serve one connection: `Some(status)` when the request was not served (an error status).
async fn connection(mut stream: TcpStream, ctx: &Ctx) -> std::io::Result<Option<&'static str>> {
    let timed_out = || std::io::Error::new(std::io::ErrorKind::TimedOut, "timed out");
    let Some(ask) = tokio::time::timeout(IO_TIMEOUT, read_request(&mut stream))
        .await
        .map_err(|_| timed_out())??
    else {
        return Ok(None);
    };
    let (status, ctype, body, head) = match ask {
        Ask::Metrics { openmetrics, head } => {
            let g = super::metrics::gather(ctx).await;
            let ctype = if openmetrics { OPENMETRICS } else { PROMETHEUS };
            (
                "200 OK",
                ctype,
                super::metrics::encode(g, openmetrics),
                head,
            )
        }
        Ask::Error(status) => (
            status,
            "text/plain; charset=utf-8",
            format!("{status}: this endpoint serves GET /metrics\n"),
            false,
        ),
    };
    let served = status.starts_with("200");
    ctx.status.http(served);
    let mut out = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    if !head {
        out.extend_from_slice(body.as_bytes());
    }
    tokio::time::timeout(IO_TIMEOUT, async {
        stream.write_all(&out).await?;
        stream.shutdown().await
    })
    .await
    .map_err(|_| timed_out())??;
    Ok((!served).then_some(status))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Ask {
        let mut headers = [httparse::EMPTY_HEADER; 32];
        let mut req = httparse::Request::new(&mut headers);
        assert!(req.parse(text.as_bytes()).unwrap().is_complete());
        ask(&req)
    }

    #[test]
    fn requests_are_routed() {
        assert_eq!(
            parse("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"),
            Ask::Metrics {
                openmetrics: false,
                head: false
            }
        );
        assert_eq!(
            parse(
                "HEAD /metrics?x=1 HTTP/1.1\r\nAccept: application/openmetrics-text;version=1.0.0\r\n\r\n"
            ),
            Ask::Metrics {
                openmetrics: true,
                head: true
            }
        );
        assert_eq!(parse("GET / HTTP/1.1\r\n\r\n"), Ask::Error("404 Not Found"));
        assert_eq!(
            parse("POST /metrics HTTP/1.1\r\n\r\n"),
            Ask::Error("405 Method Not Allowed")
        );
    }
}
