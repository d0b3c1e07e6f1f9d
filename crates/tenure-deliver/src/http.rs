//! The webhook POST and the mapping of its outcome to `Ok` or a [`Failure`].

use std::io::Read;
use std::time::Duration;

use crate::{Failure, Message, WebhookSecret};

/// How much of an error response's body goes into [`Failure::reason`].
const BODY_EXCERPT: u64 = 200;

pub(crate) fn agent(timeout: Duration) -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_global(Some(timeout))
        // Status codes are ours to classify, redirects are failures (Standard Webhooks: the
        // URL should be updated instead), and nothing in the environment reroutes requests.
        .http_status_as_error(false)
        .max_redirects(0)
        .proxy(None)
        .user_agent(concat!("tenure-deliver/", env!("CARGO_PKG_VERSION")))
        .build()
        .new_agent()
}

pub(crate) fn post(
    agent: &ureq::Agent,
    url: &str,
    secret: &WebhookSecret,
    msg: &Message,
    now: i64,
) -> Result<(), Failure> {
    let scheme = url.split_once("://").map(|(s, _)| s.to_ascii_lowercase());
    if !matches!(scheme.as_deref(), Some("http" | "https")) {
        return Err(Failure::permanent(format!(
            "webhook URL {url:?} is not an http:// or https:// URL"
        )));
    }
    let body = msg.payload.as_bytes();
    let sent = agent
        .post(url)
        .header("content-type", "application/json")
        .header("webhook-id", &msg.id)
        .header("webhook-timestamp", now.to_string())
        .header("webhook-signature", secret.sign(&msg.id, now, body))
        .send(body);
    let mut response = sent.map_err(|e| transport_failure(url, e))?;
    let status = response.status().as_u16();
    if (200..300).contains(&status) {
        return Ok(());
    }
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let retry_after_secs = header("retry-after").and_then(|v| v.trim().parse().ok());
    let location = header("location");
    let mut excerpt = Vec::new();
    // Best effort: the reason is complete without the body.
    let _ = response
        .body_mut()
        .as_reader()
        .take(BODY_EXCERPT)
        .read_to_end(&mut excerpt);
    let mut reason = format!("POST {url}: HTTP {status}");
    if let Some(to) = location.filter(|_| (300..400).contains(&status)) {
        reason.push_str(&format!(
            " redirect to {to} (not followed: update the webhook URL)"
        ));
    }
    let excerpt = String::from_utf8_lossy(&excerpt);
    if !excerpt.trim().is_empty() {
        reason.push_str(&format!(": {}", excerpt.trim()));
    }
    Err(Failure {
        permanent: status_is_permanent(status),
        reason,
        retry_after_secs,
    })
}

/// For a non-2xx status: can no later attempt of the same request succeed?
fn status_is_permanent(status: u16) -> bool {
    match status {
        // Moved for good: the configured URL must change.
        301 | 308 => true,
        // Timeout, conflict, too early, rate-limited: explicitly "try later".
        408 | 409 | 425 | 429 => false,
        // 410 Gone (the receiver wants no more) and every other "your request is wrong".
        400..=499 => true,
        // 5xx, other 3xx, 1xx surprises.
        _ => false,
    }
}

fn transport_failure(url: &str, e: ureq::Error) -> Failure {
    let permanent = matches!(e, ureq::Error::BadUri(_) | ureq::Error::Http(_));
    let reason = format!("POST {url}: {e}");
    if permanent {
        Failure::permanent(reason)
    } else {
        Failure::retryable(reason)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_classes() {
        for s in [400, 401, 403, 404, 405, 410, 413, 415, 422, 451, 301, 308] {
            assert!(status_is_permanent(s), "{s}");
        }
        for s in [
            408, 409, 425, 429, 500, 502, 503, 504, 300, 302, 303, 307, 100,
        ] {
            assert!(!status_is_permanent(s), "{s}");
        }
    }
}
