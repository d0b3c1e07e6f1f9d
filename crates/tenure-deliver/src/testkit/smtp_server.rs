//! A minimal ESMTP server that records the messages it accepts.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::{Arc, Mutex};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;

use super::{find_header, lock, Server};

/// Where [`SmtpServer::set_failing`] makes the server answer with an error code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpStage {
    /// The reply to `MAIL FROM`.
    Mail,
    /// The reply to `RCPT TO`.
    Rcpt,
    /// The reply to the `DATA` command (instead of 354).
    Data,
    /// The reply after the message's final `.` (instead of 250).
    EndOfData,
}

/// A message the server accepted with 250 after DATA.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mail {
    /// The envelope: `MAIL FROM` and every `RCPT TO` address, without angle brackets.
    pub from: String,
    pub to: Vec<String>,
    /// The user name of a successful `AUTH PLAIN` (any password is accepted).
    pub auth_user: Option<String>,
    /// The message's headers, unfolded, names as sent, in order.
    pub headers: Vec<(String, String)>,
    /// The body after the blank line, dot-unstuffed, lines joined by CRLF; not MIME-decoded.
    pub body: String,
}

impl Mail {
    /// A header's value by case-insensitive name (RFC 2047 words are not decoded).
    pub fn header(&self, name: &str) -> Option<&str> {
        find_header(&self.headers, name)
    }

    pub fn subject(&self) -> Option<&str> {
        self.header("subject")
    }
}

#[derive(Default)]
struct State {
    messages: Mutex<Vec<Mail>>,
    failing: Mutex<Option<(SmtpStage, u16)>>,
}

/// An SMTP server on `127.0.0.1`; see the [module docs](super).
pub struct SmtpServer {
    state: Arc<State>,
    server: Server,
}

impl SmtpServer {
    pub fn start() -> SmtpServer {
        let state = Arc::new(State::default());
        let serving = Arc::clone(&state);
        let server = Server::start("SMTP server", move |conn| {
            let _ = serve(&serving, conn);
        });
        SmtpServer { state, server }
    }

    pub fn addr(&self) -> SocketAddr {
        self.server.addr
    }

    pub fn port(&self) -> u16 {
        self.server.addr.port()
    }

    /// From now on answer `code` at `stage` (`None`: accept everything again).
    pub fn set_failing(&self, failing: Option<(SmtpStage, u16)>) {
        *lock(&self.state.failing) = failing;
    }

    /// Every accepted message so far, in order.
    pub fn messages(&self) -> Vec<Mail> {
        lock(&self.state.messages).clone()
    }
}

/// The envelope and login of one SMTP session.
#[derive(Default)]
struct Session {
    auth_user: Option<String>,
    from: Option<String>,
    to: Vec<String>,
}

fn serve(state: &State, conn: TcpStream) -> std::io::Result<()> {
    let mut reader = BufReader::new(conn.try_clone()?);
    let mut out = conn;
    let mut reply = |text: &str| -> std::io::Result<()> {
        out.write_all(format!("{text}\r\n").as_bytes())?;
        out.flush()
    };
    let failing_at = |stage: SmtpStage| match *lock(&state.failing) {
        Some((s, code)) if s == stage => Some(code),
        _ => None,
    };
    reply("220 tenure-testkit ESMTP")?;
    let mut s = Session::default();
    let mut line = String::new();
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let cmd = line.trim_end_matches(['\r', '\n']);
        let verb = cmd
            .split_whitespace()
            .next()
            .unwrap_or("")
            .to_ascii_uppercase();
        match verb.as_str() {
            "EHLO" => reply("250-tenure-testkit\r\n250-8BITMIME\r\n250 AUTH PLAIN")?,
            "HELO" => reply("250 tenure-testkit")?,
            "AUTH" => {
                let mut words = cmd.split_whitespace().skip(1);
                if !words
                    .next()
                    .is_some_and(|m| m.eq_ignore_ascii_case("PLAIN"))
                {
                    reply("504 only AUTH PLAIN")?;
                    continue;
                }
                let initial = match words.next() {
                    Some(w) => w.to_owned(),
                    None => {
                        reply("334 ")?;
                        line.clear();
                        reader.read_line(&mut line)?;
                        line.trim().to_owned()
                    }
                };
                match plain_user(&initial) {
                    Some(user) => {
                        s.auth_user = Some(user);
                        reply("235 2.7.0 authenticated")?;
                    }
                    None => reply("501 malformed AUTH PLAIN")?,
                }
            }
            "MAIL" => match (failing_at(SmtpStage::Mail), angle_addr(cmd)) {
                (Some(code), _) => reply(&format!("{code} testkit fails MAIL"))?,
                (None, Some(from)) => {
                    s.from = Some(from);
                    s.to.clear();
                    reply("250 2.1.0 ok")?;
                }
                (None, None) => reply("501 MAIL FROM:<address>")?,
            },
            "RCPT" => match (failing_at(SmtpStage::Rcpt), angle_addr(cmd)) {
                (Some(code), _) => reply(&format!("{code} testkit fails RCPT"))?,
                (None, Some(to)) if s.from.is_some() => {
                    s.to.push(to);
                    reply("250 2.1.5 ok")?;
                }
                (None, _) => reply("503 RCPT TO:<address> after MAIL")?,
            },
            "DATA" => {
                if let Some(code) = failing_at(SmtpStage::Data) {
                    reply(&format!("{code} testkit fails DATA"))?;
                    continue;
                }
                let Some(from) = s.from.take().filter(|_| !s.to.is_empty()) else {
                    reply("503 DATA needs MAIL and RCPT")?;
                    continue;
                };
                reply("354 end with <CRLF>.<CRLF>")?;
                let lines = read_data(&mut reader)?;
                let to = std::mem::take(&mut s.to);
                if let Some(code) = failing_at(SmtpStage::EndOfData) {
                    reply(&format!("{code} testkit fails end of DATA"))?;
                    continue;
                }
                let (headers, body) = split_message(&lines);
                lock(&state.messages).push(Mail {
                    from,
                    to,
                    auth_user: s.auth_user.clone(),
                    headers,
                    body,
                });
                reply("250 2.0.0 accepted")?;
            }
            "RSET" => {
                s.from = None;
                s.to.clear();
                reply("250 2.0.0 ok")?;
            }
            "NOOP" => reply("250 2.0.0 ok")?,
            "QUIT" => return reply("221 2.0.0 bye"),
            "STARTTLS" => reply("454 4.7.0 TLS not available")?,
            _ => reply("502 5.5.2 command not implemented")?,
        }
    }
}

/// The user of an `AUTH PLAIN` initial response: base64 of `authzid NUL user NUL password`.
fn plain_user(b64: &str) -> Option<String> {
    let raw = STANDARD.decode(b64).ok()?;
    let mut parts = raw.split(|&b| b == 0);
    let (_authzid, user, _password) = (parts.next()?, parts.next()?, parts.next()?);
    String::from_utf8(user.to_vec()).ok()
}

/// The address between the first `<` and the next `>`.
fn angle_addr(cmd: &str) -> Option<String> {
    let start = cmd.find('<')? + 1;
    let len = cmd[start..].find('>')?;
    Some(cmd[start..start + len].to_owned())
}

/// The message lines up to the terminating `.`, dot-unstuffed, without line ends.
fn read_data(reader: &mut impl BufRead) -> std::io::Result<Vec<String>> {
    let mut lines = Vec::new();
    let mut line = String::new();
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        let l = line.trim_end_matches(['\r', '\n']);
        if l == "." {
            return Ok(lines);
        }
        lines.push(l.strip_prefix('.').unwrap_or(l).to_owned());
    }
}

/// Headers (continuation lines unfolded) and the body after the first empty line.
fn split_message(lines: &[String]) -> (Vec<(String, String)>, String) {
    let blank = lines
        .iter()
        .position(String::is_empty)
        .unwrap_or(lines.len());
    let mut headers: Vec<(String, String)> = Vec::new();
    for l in &lines[..blank] {
        if l.starts_with([' ', '\t']) {
            if let Some((_, value)) = headers.last_mut() {
                value.push(' ');
                value.push_str(l.trim());
            }
        } else if let Some((name, value)) = l.split_once(':') {
            headers.push((name.to_owned(), value.trim().to_owned()));
        }
    }
    let body = lines.get(blank + 1..).unwrap_or(&[]).join("\r\n");
    (headers, body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_parts() {
        let lines: Vec<String> = ["Subject: a", "  b", "X-K: 1", "", "hello", "", ".x"]
            .map(String::from)
            .to_vec();
        let (headers, body) = split_message(&lines);
        assert_eq!(
            headers,
            [("Subject".into(), "a b".into()), ("X-K".into(), "1".into())]
        );
        assert_eq!(body, "hello\r\n\r\n.x");
    }

    #[test]
    fn data_is_dot_unstuffed_and_ends_at_the_dot() {
        let mut raw = "a\r\n..b\r\n.\r\nQUIT\r\n".as_bytes();
        assert_eq!(read_data(&mut raw).unwrap(), ["a", ".b"]);
    }

    #[test]
    fn envelope_and_auth() {
        assert_eq!(
            angle_addr("MAIL FROM:<a@b.c> BODY=8BITMIME").as_deref(),
            Some("a@b.c")
        );
        assert_eq!(angle_addr("MAIL FROM:a@b.c"), None);
        let b64 = STANDARD.encode(b"\0tenure\0secret");
        assert_eq!(plain_user(&b64).as_deref(), Some("tenure"));
        assert_eq!(plain_user("!!"), None);
    }
}
