//! API tokens of `tenure serve` (migration 3): a name, a role and the SHA-256 of the token's
//! text. The store never holds a token itself, so a copy of the database grants nothing.
//!
//! Invariants: names are unique; a revoked token stays listed (with `revoked_at`) and never
//! authenticates again; a role is one of [`Role::ALL`].

use crate::error::StoreError;
use crate::journal::{i, in_tx, other, t, Cell, Sql};

/// What a token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// Everything: read, write (plans, playbook runs, replays), import.
    Admin,
    /// Read only.
    Analyst,
    /// Only upload records (imports): for the systems that push data in.
    Ingest,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Admin, Role::Analyst, Role::Ingest];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Analyst => "analyst",
            Role::Ingest => "ingest",
        }
    }
}

impl std::str::FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Role, String> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| format!("`{s}` is not a role (admin, analyst, ingest)"))
    }
}

/// A token to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewToken {
    pub name: String,
    pub role: Role,
    /// Lower-case hex SHA-256 of the token's text.
    pub sha256: String,
}

/// A stored token (without its hash).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    pub name: String,
    pub role: Role,
    /// Unix seconds.
    pub created_at: i64,
    pub revoked_at: Option<i64>,
    pub last_used_at: Option<i64>,
}

const COLS: &str = "name, role, created_at, revoked_at, last_used_at";

fn token(row: &[Cell]) -> Result<Token, StoreError> {
    let role = row[1].text();
    Ok(Token {
        name: row[0].text(),
        role: role
            .parse()
            .map_err(|e: String| StoreError::Other(format!("tenure_tokens: {e}")))?,
        created_at: row[2].int(),
        revoked_at: row[3].opt_int(),
        last_used_at: row[4].opt_int(),
    })
}

pub(crate) fn add_token(db: &mut dyn Sql, n: &NewToken, now: i64) -> Result<(), StoreError> {
    let valid_name = !n.name.is_empty()
        && n.name.len() <= 64
        && n.name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.@".contains(c));
    if !valid_name {
        return Err(other(format!(
            "`{}` is not a token name: 1 to 64 of a-z, A-Z, 0-9, `-`, `_`, `.`, `@`",
            n.name
        )));
    }
    let hex = n.sha256.len() == 64 && n.sha256.chars().all(|c| matches!(c, '0'..='9' | 'a'..='f'));
    if !hex {
        return Err(other(
            "a token's SHA-256 is 64 lower-case hex digits".into(),
        ));
    }
    in_tx(db, |db| {
        if !db
            .rows("SELECT 1 FROM tenure_tokens WHERE name = $1", &[t(&n.name)])?
            .is_empty()
        {
            return Err(other(format!(
                "a token named `{}` exists (revoke it, or choose another name)",
                n.name
            )));
        }
        db.exec(
            "INSERT INTO tenure_tokens (name, role, sha256, created_at) VALUES ($1, $2, $3, $4)",
            &[t(&n.name), t(n.role.as_str()), t(&n.sha256), i(now)],
        )?;
        Ok(())
    })
}

pub(crate) fn tokens(db: &mut dyn Sql) -> Result<Vec<Token>, StoreError> {
    db.rows(
        &format!("SELECT {COLS} FROM tenure_tokens ORDER BY name"),
        &[],
    )?
    .iter()
    .map(|r| token(r))
    .collect()
}

pub(crate) fn revoke_token(db: &mut dyn Sql, name: &str, now: i64) -> Result<bool, StoreError> {
    Ok(db.exec(
        "UPDATE tenure_tokens SET revoked_at = $1 WHERE name = $2 AND revoked_at IS NULL",
        &[i(now), t(name)],
    )? == 1)
}

pub(crate) fn token_by_sha256(
    db: &mut dyn Sql,
    sha256: &str,
    now: i64,
) -> Result<Option<Token>, StoreError> {
    let rows = db.rows(
        &format!("SELECT {COLS} FROM tenure_tokens WHERE sha256 = $1 AND revoked_at IS NULL"),
        &[t(sha256)],
    )?;
    let Some(row) = rows.first() else {
        return Ok(None);
    };
    let mut tok = token(row)?;
    // Coarse (once a minute), so that reads do not write on every request.
    if tok.last_used_at.is_none_or(|u| now - u >= 60) {
        db.exec(
            "UPDATE tenure_tokens SET last_used_at = $1 WHERE name = $2",
            &[i(now), t(&tok.name)],
        )?;
        tok.last_used_at = Some(now);
    }
    Ok(Some(tok))
}
