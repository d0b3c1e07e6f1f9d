//! A one-request-per-connection HTTP/1.1 webhook receiver.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::{find_header, lock, Server};
use crate::WebhookSecret;

/// Largest request head or body the receiver reads.
const LIMIT: usize = 1 << 20;

/// A request as it arrived. Header names are lower-cased, in arrival order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        find_header(&self.headers, name)
    }

    /// The `webhook-id` header.
    pub fn id(&self) -> Option<&str> {
        self.header("webhook-id")
    }

    /// The `webhook-timestamp` header, if it is an integer.
    pub fn timestamp(&self) -> Option<i64> {
        self.header("webhook-timestamp")?.parse().ok()
    }

    /// The `webhook-signature` header.
    pub fn signature(&self) -> Option<&str> {
        self.header("webhook-signature")
    }

    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// A recorded request, what the verifier said of it and the status the receiver answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    pub request: Request,
    pub signature_ok: bool,
    pub status: u16,
}

type Verify = dyn Fn(&Request) -> bool + Send + Sync;

struct State {
    verify: Box<Verify>,
    received: Mutex<Vec<Received>>,
    forced_status: Mutex<Option<u16>>,
    retry_after: Mutex<Option<u64>>,
    delay: Mutex<Option<Duration>>,
}

/// A webhook receiver on `127.0.0.1`; see the [module docs](super).
pub struct HttpReceiver {
    state: Arc<State>,
    server: Server,
}

impl HttpReceiver {
    /// Starts a receiver that calls `verify` on every request and records its verdict.
    pub fn start(verify: impl Fn(&Request) -> bool + Send + Sync + 'static) -> HttpReceiver {
        let state = Arc::new(State {
            verify: Box::new(verify),
            received: Mutex::new(Vec::new()),
            forced_status: Mutex::new(None),
            retry_after: Mutex::new(None),
            delay: Mutex::new(None),
        });
        let serving = Arc::clone(&state);
        let server = Server::start("HTTP receiver", move |conn| serve(&serving, conn));
        HttpReceiver { state, server }
    }

    /// Starts a receiver that verifies with this crate's own [`WebhookSecret::verify`]. It
    /// checks the signature, not the timestamp's age.
    pub fn start_with_secret(secret: &WebhookSecret) -> HttpReceiver {
        let secret = secret.clone();
        HttpReceiver::start(move |r| match (r.id(), r.timestamp(), r.signature()) {
            (Some(id), Some(ts), Some(sig)) => secret.verify(id, ts, &r.body, sig),
            _ => false,
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.server.addr
    }

    /// `http://127.0.0.1:PORT/webhook` (any path is served).
    pub fn url(&self) -> String {
        format!("http://{}/webhook", self.server.addr)
    }

    /// While down, every request is answered 503 (and still recorded).
    pub fn set_down(&self, down: bool) {
        self.set_status(down.then_some(503));
    }

    /// Answers every request with `status` (`None`: back to 200 or 401 by the verifier).
    pub fn set_status(&self, status: Option<u16>) {
        *lock(&self.state.forced_status) = status;
    }

    /// Adds `Retry-After: SECS` to forced non-2xx answers.
    pub fn set_retry_after(&self, secs: Option<u64>) {
        *lock(&self.state.retry_after) = secs;
    }

    /// Waits this long after recording a request before answering it (a slow receiver: a
    /// sender can be stopped between sending and hearing the answer).
    pub fn set_delay(&self, delay: Option<Duration>) {
        *lock(&self.state.delay) = delay;
    }

    /// Every request so far, in arrival order.
    pub fn received(&self) -> Vec<Received> {
        lock(&self.state.received).clone()
    }
}

fn serve(state: &State, mut conn: TcpStream) {
    let Ok(reader) = conn.try_clone() else { return };
    let Some(request) = read_request(&mut BufReader::new(reader)) else {
        let _ = write_response(&mut conn, 400, None);
        return;
    };
    let signature_ok = (state.verify)(&request);
    let forced = *lock(&state.forced_status);
    let status = forced.unwrap_or(if signature_ok { 200 } else { 401 });
    let retry_after = forced
        .filter(|s| !(200..300).contains(s))
        .and(*lock(&state.retry_after));
    lock(&state.received).push(Received {
        request,
        signature_ok,
        status,
    });
    let delay = *lock(&state.delay);
    if let Some(d) = delay {
        std::thread::sleep(d);
    }
    let _ = write_response(&mut conn, status, retry_after);
}

fn read_request(reader: &mut impl BufRead) -> Option<Request> {
    let mut head = 0;
    let mut line = String::new();
    let mut next_line = |line: &mut String| -> Option<()> {
        line.clear();
        let n = reader.read_line(line).ok()?;
        head += n;
        (n > 0 && head <= LIMIT).then_some(())
    };
    next_line(&mut line)?;
    let mut parts = line.split_whitespace();
    let (method, path) = (parts.next()?.to_owned(), parts.next()?.to_owned());
    parts.next().filter(|v| v.starts_with("HTTP/1."))?;
    let mut headers = Vec::new();
    loop {
        next_line(&mut line)?;
        let l = line.trim_end_matches(['\r', '\n']);
        if l.is_empty() {
            break;
        }
        let (name, value) = l.split_once(':')?;
        headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
    }
    if find_header(&headers, "transfer-encoding").is_some() {
        return None; // Chunked bodies are not supported; ureq sends Content-Length.
    }
    let len: usize = match find_header(&headers, "content-length") {
        Some(v) => v.parse().ok()?,
        None => 0,
    };
    if len > LIMIT {
        return None;
    }
    let mut body = vec![0; len];
    reader.read_exact(&mut body).ok()?;
    Some(Request {
        method,
        path,
        headers,
        body,
    })
}

fn write_response(
    conn: &mut TcpStream,
    status: u16,
    retry_after: Option<u64>,
) -> std::io::Result<()> {
    let reason = match status {
        200 => "OK",
        401 => "Unauthorized",
        410 => "Gone",
        503 => "Service Unavailable",
        _ => "Status",
    };
    let mut response = format!("HTTP/1.1 {status} {reason}\r\nConnection: close\r\n");
    if let Some(secs) = retry_after {
        response.push_str(&format!("Retry-After: {secs}\r\n"));
    }
    let body = match status {
        200..=299 => "",
        401 => "signature invalid",
        _ => "status set by the testkit",
    };
    response.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
    conn.write_all(response.as_bytes())?;
    conn.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_request_with_body() {
        let raw = "POST /h HTTP/1.1\r\nHost: x\r\nWebhook-Id: m1\r\nContent-Length: 2\r\n\r\n{}";
        let r = read_request(&mut raw.as_bytes()).unwrap();
        assert_eq!((r.method.as_str(), r.path.as_str()), ("POST", "/h"));
        assert_eq!(r.id(), Some("m1"));
        assert_eq!(r.body, b"{}");
    }

    #[test]
    fn rejects_truncated_and_chunked_requests() {
        for raw in [
            "POST /h HTTP/1.1\r\nContent-Length: 5\r\n\r\n{}",
            "POST /h HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n",
            "POST /h\r\n\r\n",
            "",
        ] {
            assert!(read_request(&mut raw.as_bytes()).is_none(), "{raw:?}");
        }
    }
}
