//! Loopback receivers for integration tests — this crate's and other crates' (enable the
//! `testkit` feature in a dev-dependency). Both listen on `127.0.0.1:0`, serve each connection
//! on its own thread, record what they accept for the test to inspect, and stop when dropped.
//! They are test doubles: small, strict enough to catch protocol mistakes, not hardened.
//!
//! - [`HttpReceiver`]: a Standard Webhooks receiver. Each request is checked by a verification
//!   closure the test supplies, so a test can verify with an *independent* implementation (this
//!   crate's own tests use the spec authors' `standardwebhooks` crate) without the testkit
//!   depending on it; [`HttpReceiver::start_with_secret`] verifies with this crate's signer,
//!   which is enough for tests of the outbox around it. It answers 200 when the signature
//!   verifies and 401 when not, unless the test forces a status ([`HttpReceiver::set_down`],
//!   [`HttpReceiver::set_status`]).
//! - [`SmtpServer`]: an ESMTP server (EHLO, AUTH PLAIN, MAIL, RCPT, DATA, RSET, NOOP, QUIT; no
//!   STARTTLS, so use [`crate::SmtpTls::None`]) that records every message it accepts and can
//!   be told to fail one stage with a reply code ([`SmtpServer::set_failing`]).
//!
//! ```
//! use tenure_deliver::{testkit::HttpReceiver, WebhookSecret};
//! let secret = WebhookSecret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
//! let receiver = HttpReceiver::start_with_secret(&secret);
//! assert!(receiver.url().starts_with("http://127.0.0.1:"));
//! assert!(receiver.received().is_empty());
//! ```

mod http_receiver;
mod smtp_server;

pub use http_receiver::{HttpReceiver, Received, Request};
pub use smtp_server::{Mail, SmtpServer, SmtpStage};

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

/// How long a connection may sit idle before the server gives up on it: a safety net that
/// keeps a stuck client from leaking threads, never a pass/fail criterion.
const IDLE: Duration = Duration::from_secs(30);

/// The accept loop both servers share: one thread per connection until dropped.
struct Server {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Server {
    fn start(what: &str, serve: impl Fn(TcpStream) + Send + Sync + 'static) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0")
            .unwrap_or_else(|e| panic!("testkit {what}: bind 127.0.0.1:0: {e}"));
        let addr = listener
            .local_addr()
            .unwrap_or_else(|e| panic!("testkit {what}: local_addr: {e}"));
        let stop = Arc::new(AtomicBool::new(false));
        let serve = Arc::new(serve);
        let stopping = Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            for conn in listener.incoming() {
                if stopping.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                let _ = conn.set_read_timeout(Some(IDLE));
                let _ = conn.set_write_timeout(Some(IDLE));
                let _ = conn.set_nodelay(true);
                let serve = Arc::clone(&serve);
                std::thread::spawn(move || serve(conn));
            }
        });
        Server {
            addr,
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so that it sees the flag.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// A lock that survives a panicking test thread.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Case-insensitive look-up in a list of (name, value) headers.
fn find_header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}
