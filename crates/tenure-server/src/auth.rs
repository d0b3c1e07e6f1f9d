//! Tokens and roles. A token is `tnr_` + 43 characters (32 random bytes, base64url); the
//! store keeps only its SHA-256. Each handler takes one of the extractors below, which answer
//! 401 for a missing, unknown or revoked token and 403 for a role that may not.

use crate::{ApiError, AppState};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use base64::Engine as _;
use rand::RngExt;
use sha2::{Digest, Sha256};
use tenure_store::tokens::Role;

/// A new random token: `(text to show once, its SHA-256 to store)`.
pub fn new_token() -> (String, String) {
    let bytes: [u8; 32] = rand::rng().random();
    let text = format!(
        "tnr_{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    );
    let h = hash_token(&text);
    (text, h)
}

/// Lower-case hex SHA-256 of a token's text.
pub fn hash_token(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Who is calling.
#[derive(Debug, Clone)]
pub struct Caller {
    pub name: String,
    pub role: Role,
}

async fn caller(parts: &Parts, state: &AppState) -> Result<Caller, ApiError> {
    let header = parts
        .headers
        .get(axum::http::header::AUTHORIZATION)
        .ok_or_else(|| {
            ApiError::unauthorized(
                "no token: send `Authorization: Bearer tnr_…` (`tenure token create` makes one)",
            )
        })?;
    let text = header
        .to_str()
        .ok()
        .and_then(|h| h.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| ApiError::unauthorized("the Authorization header is not `Bearer TOKEN`"))?;
    let h = hash_token(text);
    let tok = state
        .with_auth_store(move |store| {
            store
                .token_by_sha256(&h, crate::now_secs())
                .map_err(|e| ApiError::internal(e.to_string()))
        })
        .await?
        .ok_or_else(|| ApiError::unauthorized("unknown or revoked token"))?;
    Ok(Caller {
        name: tok.name,
        role: tok.role,
    })
}

macro_rules! access {
    ($(#[$doc:meta])* $name:ident, $what:literal, [$($role:ident),+]) => {
        $(#[$doc])*
        #[allow(dead_code)]
        pub struct $name(pub Caller);

        impl FromRequestParts<AppState> for $name {
            type Rejection = ApiError;
            async fn from_request_parts(
                parts: &mut Parts,
                state: &AppState,
            ) -> Result<Self, ApiError> {
                let c = caller(parts, state).await?;
                if matches!(c.role, $(Role::$role)|+) {
                    Ok($name(c))
                } else {
                    Err(ApiError::forbidden(format!(
                        "token `{}` has role {}; {} needs {}",
                        c.name,
                        c.role.as_str(),
                        $what,
                        [$(Role::$role.as_str()),+].join(" or ")
                    )))
                }
            }
        }
    };
}

access!(
    /// Reads: admin or analyst.
    Read, "reading", [Admin, Analyst]
);
access!(
    /// Changes (plans, replays, playbook runs, snapshot refresh): admin.
    Write, "a change", [Admin]
);
access!(
    /// Imports: admin or ingest.
    Ingest, "an import", [Admin, Ingest]
);
access!(
    /// Any valid token.
    Any, "this", [Admin, Analyst, Ingest]
);
