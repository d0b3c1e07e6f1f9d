//! Standard Webhooks v1 signatures: HMAC-SHA256 over `"{id}.{timestamp}.{payload}"`.

use std::fmt;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

const PREFIX: &str = "whsec_";
/// The specification's bounds on a symmetric key: 24 to 64 bytes (192 to 512 bits).
const MIN_KEY: usize = 24;
const MAX_KEY: usize = 64;

/// A symmetric webhook signing key, parsed from `whsec_` + base64 of its bytes.
/// `Debug` does not show the key.
#[derive(Clone)]
pub struct WebhookSecret {
    key: Vec<u8>,
}

impl WebhookSecret {
    /// Accepts `whsec_` followed by standard padded base64 of 24 to 64 bytes.
    pub fn parse(secret: &str) -> Result<Self, String> {
        let Some(encoded) = secret.strip_prefix(PREFIX) else {
            return Err(format!("webhook secret must start with `{PREFIX}`"));
        };
        let key = STANDARD
            .decode(encoded)
            .map_err(|e| format!("webhook secret after `{PREFIX}` is not base64: {e}"))?;
        if !(MIN_KEY..=MAX_KEY).contains(&key.len()) {
            return Err(format!(
                "webhook secret must hold {MIN_KEY} to {MAX_KEY} bytes, it holds {}",
                key.len()
            ));
        }
        Ok(WebhookSecret { key })
    }

    /// The `webhook-signature` header value: `v1,` + base64 of the HMAC.
    pub fn sign(&self, id: &str, timestamp: i64, payload: &[u8]) -> String {
        let tag = self.mac(id, timestamp, payload).finalize().into_bytes();
        format!("v1,{}", STANDARD.encode(tag))
    }

    /// True when one of the space-separated `v1,` entries of a `webhook-signature` header is
    /// this key's signature (constant-time comparison). Tenure sends webhooks; this is here
    /// for receivers in tests (the `testkit` feature) and for tools.
    pub fn verify(&self, id: &str, timestamp: i64, payload: &[u8], header: &str) -> bool {
        header
            .split(' ')
            .filter_map(|entry| entry.strip_prefix("v1,"))
            .filter_map(|b64| STANDARD.decode(b64).ok())
            .any(|tag| self.mac(id, timestamp, payload).verify_slice(&tag).is_ok())
    }

    fn mac(&self, id: &str, timestamp: i64, payload: &[u8]) -> Hmac<Sha256> {
        // HMAC takes keys of any length; the constructor's bounds are the spec's, not HMAC's.
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.key)
            .unwrap_or_else(|_| unreachable!("HMAC accepts keys of every length"));
        mac.update(id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(payload);
        mac
    }
}

impl fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "WebhookSecret(<{} bytes>)", self.key.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `test_sign_function` of the specification's Python library
    /// (standard-webhooks/standard-webhooks, libraries/python/tests/test_webhooks.py).
    #[test]
    fn spec_python_library_vector() {
        let s = WebhookSecret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let sig = s.sign(
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265330,
            br#"{"test": 2432232314}"#,
        );
        assert_eq!(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    /// `test_sign` of the specification's Rust library (libraries/rust/src/lib.rs).
    #[test]
    fn spec_rust_library_vector() {
        let s = WebhookSecret::parse("whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD").unwrap();
        let sig = s.sign(
            "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk",
            1649367553,
            br#"{"email":"test@example.com","username":"test_user"}"#,
        );
        assert_eq!(sig, "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw=");
    }

    #[test]
    fn verify_accepts_own_signature_among_others_and_rejects_changes() {
        let s = WebhookSecret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let sig = s.sign("m1", 10, b"{}");
        let header = format!("v1a,xyz v1,AAAA {sig}");
        assert!(s.verify("m1", 10, b"{}", &header));
        assert!(!s.verify("m1", 11, b"{}", &header));
        assert!(!s.verify("m2", 10, b"{}", &header));
        assert!(!s.verify("m1", 10, b"{ }", &header));
        assert!(!s.verify("m1", 10, b"{}", "v1,"));
        assert!(!s.verify("m1", 10, b"{}", &sig[..sig.len() - 4]));
    }

    #[test]
    fn bad_secrets_are_explained() {
        let err = |s: &str| WebhookSecret::parse(s).unwrap_err();
        assert!(err("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").contains("whsec_"));
        assert!(err("whsec_not base64!").contains("base64"));
        assert!(err("whsec_c2hvcnQ=").contains("it holds 5"));
        assert!(err(&format!("whsec_{}", STANDARD.encode([0u8; 65]))).contains("65"));
        assert!(WebhookSecret::parse(&format!("whsec_{}", STANDARD.encode([7u8; 64]))).is_ok());
    }

    #[test]
    fn debug_hides_the_key() {
        let s = WebhookSecret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        assert_eq!(format!("{s:?}"), "WebhookSecret(<24 bytes>)");
    }
}
