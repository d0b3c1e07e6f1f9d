//! The email: one text/plain message per connection to the configured relay.

use std::time::{Duration, UNIX_EPOCH};

use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{SmtpTransport, Transport};

use crate::{Failure, SmtpConfig, SmtpTls};

/// The header that carries [`crate::Message::id`] besides `Message-ID`.
pub(crate) const IDEMPOTENCY_HEADER: &str = "X-Tenure-Idempotency-Key";

#[derive(Clone)]
pub(crate) struct Mailer {
    transport: SmtpTransport,
    from: Mailbox,
}

impl Mailer {
    pub(crate) fn new(cfg: &SmtpConfig, timeout: Duration) -> Result<Self, String> {
        let from: Mailbox = cfg
            .from
            .parse()
            .map_err(|e| format!("SMTP from address {:?}: {e}", cfg.from))?;
        let tls = match cfg.tls {
            SmtpTls::None => Tls::None,
            SmtpTls::StartTls => Tls::Required(tls_parameters(&cfg.host)?),
            SmtpTls::Implicit => Tls::Wrapper(tls_parameters(&cfg.host)?),
        };
        let mut builder = SmtpTransport::builder_dangerous(cfg.host.as_str())
            .port(cfg.port)
            .timeout(Some(timeout))
            .tls(tls);
        if let Some(auth) = &cfg.auth {
            builder = builder.credentials(Credentials::new(
                auth.username.clone(),
                auth.password.clone(),
            ));
        }
        Ok(Mailer {
            transport: builder.build(),
            from,
        })
    }

    pub(crate) fn send(
        &self,
        id: &str,
        to: &str,
        subject: &str,
        body: &str,
        now: i64,
    ) -> Result<(), Failure> {
        let to: Mailbox = to
            .parse()
            .map_err(|e| Failure::permanent(format!("email recipient {to:?}: {e}")))?;
        let date = UNIX_EPOCH + Duration::from_secs(u64::try_from(now).unwrap_or(0));
        let email = lettre::Message::builder()
            .from(self.from.clone())
            .to(to.clone())
            .subject(subject)
            .date(date)
            .message_id(Some(format!("<{id}@tenure>")))
            .raw_header(HeaderValue::new(
                HeaderName::new_from_ascii_str(IDEMPOTENCY_HEADER),
                id.to_owned(),
            ))
            .header(ContentType::TEXT_PLAIN)
            .body(body.to_owned())
            .map_err(|e| Failure::permanent(format!("email to {to}: {e}")))?;
        match self.transport.send(&email) {
            Ok(_) => Ok(()),
            Err(e) => Err(smtp_failure(&to, &e)),
        }
    }
}

fn tls_parameters(host: &str) -> Result<TlsParameters, String> {
    TlsParameters::new(host.to_owned()).map_err(|e| format!("SMTP TLS for {host:?}: {e}"))
}

/// 5xx replies are permanent; 4xx, connection, network, TLS and timeout errors are retryable;
/// an error lettre raises itself (no AUTH mechanism in common, an address it cannot send to)
/// will not change on retry and is permanent.
fn smtp_failure(to: &Mailbox, e: &lettre::transport::smtp::Error) -> Failure {
    let reason = format!("email to {to}: {e}");
    if e.is_permanent() || e.is_client() {
        Failure::permanent(reason)
    } else {
        Failure::retryable(reason)
    }
}
