//! The eleven kinds of records a company's systems give Tenure (`docs/schema.md`): customers,
//! invoice lines, subscriptions, costs, usage events, feedback, support cases, payment events,
//! interactions, campaigns and campaign touches, as plain validated values.
//!
//! Invariants: a value of a field type has passed that field's rule — a [`RecordId`] is 1–256
//! characters without control characters, [`MinorUnits`] are integer minor units of a known
//! ISO 4217 [`Currency`] (never a float, never rounded), a [`Timestamp`] is UTC in years
//! 0001–9999 with at most microsecond precision. Rules that span fields (a refund's sign, a
//! subscription ending after it starts, a customer not referring itself, a case closed exactly
//! when its status says so, a payment's amount where its kind needs one, no NUL in text) are
//! checked by each record's `validate`; the store writes no record that fails it.

use crate::Money;
use chrono::{DateTime, NaiveDate, NaiveDateTime, Timelike, Utc};
use rust_decimal::Decimal;
use std::fmt;
use std::str::FromStr;

/// Why a value or a record is not valid. The message is the reason shown to the user after
/// `FILE:LINE:COLUMN: field:`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    #[error("empty id")]
    EmptyId,
    #[error("id is {0} characters long; at most 256")]
    IdTooLong(usize),
    #[error("id `{0}` contains a control character")]
    IdControl(String),
    #[error(
        "`{0}` is not a date (YYYY-MM-DD) or timestamp (YYYY-MM-DDTHH:MM:SS[.ffffff][Z|±HH:MM])"
    )]
    BadTimestamp(String),
    #[error("`{0}` is more precise than a microsecond")]
    TooPrecise(String),
    #[error("`{0}` is outside the years 0001–9999")]
    YearOutOfRange(String),
    #[error(
        "`{0}` is not a decimal amount (write e.g. 1234.50: no exponent, no thousands separator)"
    )]
    BadAmount(String),
    #[error("`{amount}` has {found} decimal places; {currency} has {allowed} (amounts are never rounded)")]
    TooManyDecimals {
        amount: String,
        currency: String,
        found: usize,
        allowed: u32,
    },
    #[error("`{0}` is too large")]
    AmountTooLarge(String),
    #[error("`{0}` is not an ISO 4217 currency code (e.g. USD, EUR, JPY)")]
    BadCurrency(String),
    #[error("must not be negative, got `{0}`")]
    Negative(String),
    #[error("`{value}` is not one of {expected}")]
    NotOneOf { value: String, expected: String },
    #[error("`{0}` is not a whole number")]
    NotWhole(String),
    #[error("`{value}` is outside {range}")]
    OutOfRange { value: String, range: String },
    #[error("`{0}` is not a month (YYYY-MM)")]
    BadCohort(String),
    #[error("a negative amount (`{0}`) is only allowed for kind `refund`")]
    NegativeNotRefund(String),
    #[error("a refund is a negative amount; got `{0}` (write e.g. -12.50)")]
    PositiveRefund(String),
    #[error("cogs is in {cogs}, the amount in {amount}: one currency per line")]
    CogsCurrency { cogs: String, amount: String },
    #[error("ends at {end}, before it starts at {start}")]
    EndBeforeStart { start: String, end: String },
    #[error("a customer cannot refer itself")]
    SelfReferral,
    #[error("contains a NUL character")]
    Nul,
    #[error("`{0}` is not a JSON object")]
    NotJsonObject(String),
    #[error("`{0}` is not a boolean (true/false, 1/0, yes/no)")]
    NotBool(String),
    /// A conditional column left empty: "required when status is `solved`".
    #[error("required when {0}")]
    RequiredWhen(String),
    /// A conditional column given where it must be empty.
    #[error("must be empty when {when}; got `{value}`")]
    AbsentWhen { value: String, when: String },
}

/// A field of a record that failed `validate`, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {error}")]
pub struct InvalidRecord {
    /// The schema column the problem is reported at (`docs/schema.md` names).
    pub field: &'static str,
    pub error: RecordError,
}

fn invalid(field: &'static str, error: RecordError) -> InvalidRecord {
    InvalidRecord { field, error }
}

fn check_text(field: &'static str, s: Option<&str>) -> Result<(), InvalidRecord> {
    match s {
        Some(t) if t.contains('\0') => Err(invalid(field, RecordError::Nul)),
        _ => Ok(()),
    }
}

/// A stable external id from the company's own systems. Invariant: 1–256 characters, none of
/// them a control character.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RecordId(String);

impl RecordId {
    /// The longest id, in characters.
    pub const MAX_CHARS: usize = 256;

    /// Validate an id as written (callers trim surrounding spaces if they want them gone).
    pub fn new(s: &str) -> Result<Self, RecordError> {
        let n = s.chars().count();
        if n == 0 {
            return Err(RecordError::EmptyId);
        }
        if n > Self::MAX_CHARS {
            return Err(RecordError::IdTooLong(n));
        }
        if s.chars().any(char::is_control) {
            return Err(RecordError::IdControl(s.escape_debug().to_string()));
        }
        Ok(RecordId(s.to_string()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RecordId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An instant, stored as UTC. Invariant: year 0001–9999, a whole number of microseconds, no
/// leap second — what both SQLite (as text) and PostgreSQL (`timestamptz`) hold exactly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Timestamp(DateTime<Utc>);

impl Timestamp {
    /// Parse `YYYY-MM-DD` (midnight UTC) or `YYYY-MM-DDTHH:MM:SS[.f…][Z|±HH:MM]` (a space may
    /// stand for the `T`; no offset means UTC).
    pub fn parse(s: &str) -> Result<Self, RecordError> {
        let t = s.trim();
        let bad = || RecordError::BadTimestamp(s.to_string());
        let b = t.as_bytes();
        let date_shape = b.len() >= 10
            && b[..10].iter().enumerate().all(|(i, c)| {
                if i == 4 || i == 7 {
                    *c == b'-'
                } else {
                    c.is_ascii_digit()
                }
            });
        if !date_shape {
            return Err(bad());
        }
        let utc = if b.len() == 10 {
            let d = NaiveDate::parse_from_str(t, "%Y-%m-%d").map_err(|_| bad())?;
            d.and_hms_opt(0, 0, 0).ok_or_else(bad)?.and_utc()
        } else {
            if !matches!(b[10], b'T' | b't' | b' ') {
                return Err(bad());
            }
            let has_offset = t.ends_with(['Z', 'z'])
                || (b.len() > 19 && b[19..].iter().any(|c| *c == b'+' || *c == b'-'));
            if has_offset {
                DateTime::parse_from_rfc3339(t)
                    .map_err(|_| bad())?
                    .with_timezone(&Utc)
            } else {
                let norm = format!("{}T{}", &t[..10], &t[11..]);
                NaiveDateTime::parse_from_str(&norm, "%Y-%m-%dT%H:%M:%S%.f")
                    .map_err(|_| bad())?
                    .and_utc()
            }
        };
        Self::from_utc(utc).map_err(|e| match e {
            RecordError::TooPrecise(_) => RecordError::TooPrecise(s.to_string()),
            RecordError::YearOutOfRange(_) => RecordError::YearOutOfRange(s.to_string()),
            _ => bad(),
        })
    }

    /// Check a UTC instant against the invariant.
    pub fn from_utc(t: DateTime<Utc>) -> Result<Self, RecordError> {
        use chrono::Datelike;
        let nanos = t.nanosecond();
        if nanos >= 1_000_000_000 {
            return Err(RecordError::BadTimestamp(t.to_rfc3339()));
        }
        if !nanos.is_multiple_of(1000) {
            return Err(RecordError::TooPrecise(t.to_rfc3339()));
        }
        if !(1..=9999).contains(&t.year()) {
            return Err(RecordError::YearOutOfRange(t.to_rfc3339()));
        }
        Ok(Timestamp(t))
    }
    pub fn as_utc(&self) -> DateTime<Utc> {
        self.0
    }
}

/// `YYYY-MM-DDTHH:MM:SS.ffffffZ`: fixed width, so text order is time order.
impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.format("%Y-%m-%dT%H:%M:%S%.6fZ"))
    }
}

/// Currencies whose minor unit is not the hundredth (ISO 4217 exponents).
const EXPONENT_0: &[&str] = &[
    "BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "UYI", "VND",
    "VUV", "XAF", "XOF", "XPF",
];
const EXPONENT_3: &[&str] = &["BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"];
const EXPONENT_4: &[&str] = &["CLF", "UYW"];
/// Every other ISO 4217 code with a minor unit (exponent 2), including a few withdrawn ones
/// that historical records still carry (HRK, SLL, ZWL, CUC, ANG). Precious metals and test
/// codes (XAU, XXX, …) have no minor unit and are not money here.
const EXPONENT_2: &[&str] = &[
    "AED", "AFN", "ALL", "AMD", "ANG", "AOA", "ARS", "AUD", "AWG", "AZN", "BAM", "BBD", "BDT",
    "BGN", "BMD", "BND", "BOB", "BOV", "BRL", "BSD", "BTN", "BWP", "BYN", "BZD", "CAD", "CDF",
    "CHE", "CHF", "CHW", "CNY", "COP", "COU", "CRC", "CUC", "CUP", "CVE", "CZK", "DKK", "DOP",
    "DZD", "EGP", "ERN", "ETB", "EUR", "FJD", "FKP", "GBP", "GEL", "GHS", "GIP", "GMD", "GTQ",
    "GYD", "HKD", "HNL", "HRK", "HTG", "HUF", "IDR", "ILS", "INR", "IRR", "JMD", "KES", "KGS",
    "KHR", "KPW", "KYD", "KZT", "LAK", "LBP", "LKR", "LRD", "LSL", "MAD", "MDL", "MGA", "MKD",
    "MMK", "MNT", "MOP", "MRU", "MUR", "MVR", "MWK", "MXN", "MXV", "MYR", "MZN", "NAD", "NGN",
    "NIO", "NOK", "NPR", "NZD", "PAB", "PEN", "PGK", "PHP", "PKR", "PLN", "QAR", "RON", "RSD",
    "RUB", "SAR", "SBD", "SCR", "SDG", "SEK", "SGD", "SHP", "SLE", "SLL", "SOS", "SRD", "SSP",
    "STN", "SVC", "SYP", "SZL", "THB", "TJS", "TMT", "TOP", "TRY", "TTD", "TWD", "TZS", "UAH",
    "USD", "USN", "UYU", "UZS", "VED", "VES", "WST", "XCD", "XCG", "YER", "ZAR", "ZMW", "ZWG",
    "ZWL",
];

/// An ISO 4217 currency with a minor unit. Invariant: one of the codes listed in this module,
/// stored upper-case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Currency([u8; 3]);

impl Currency {
    /// Parse a code, ignoring ASCII case and surrounding spaces (`usd` → `USD`).
    pub fn parse(s: &str) -> Result<Self, RecordError> {
        let c = s.trim().to_ascii_uppercase();
        let known = [EXPONENT_0, EXPONENT_2, EXPONENT_3, EXPONENT_4]
            .iter()
            .any(|l| l.contains(&c.as_str()));
        match c.as_bytes() {
            [a, b, d] if known => Ok(Currency([*a, *b, *d])),
            _ => Err(RecordError::BadCurrency(s.to_string())),
        }
    }
    pub fn code(&self) -> &str {
        std::str::from_utf8(&self.0).expect("currency codes are ASCII by construction")
    }
    /// Decimals of the minor unit: 2 for USD, 0 for JPY, 3 for KWD, 4 for CLF.
    pub fn exponent(&self) -> u32 {
        let c = self.code();
        if EXPONENT_0.contains(&c) {
            0
        } else if EXPONENT_3.contains(&c) {
            3
        } else if EXPONENT_4.contains(&c) {
            4
        } else {
            2
        }
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// Money as a whole number of the currency's minor units (cents for USD, yen for JPY).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MinorUnits {
    units: i64,
    currency: Currency,
}

impl MinorUnits {
    pub fn new(units: i64, currency: Currency) -> Self {
        MinorUnits { units, currency }
    }

    /// Parse a decimal string (`1234.50`, `-3`, `.5`) exactly. More decimals than the currency
    /// allows is an error even when they are zeros (`10.00` JPY): nothing is ever rounded.
    pub fn parse(amount: &str, currency: Currency) -> Result<Self, RecordError> {
        let bad = || RecordError::BadAmount(amount.to_string());
        let t = amount.trim();
        let (negative, digits) = match t.as_bytes().first() {
            Some(b'-') => (true, &t[1..]),
            Some(b'+') => (false, &t[1..]),
            _ => (false, t),
        };
        let (whole, frac) = digits.split_once('.').unwrap_or((digits, ""));
        let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if (whole.is_empty() && frac.is_empty()) || !all_digits(whole) || !all_digits(frac) {
            return Err(bad());
        }
        let exp = currency.exponent();
        if frac.len() > exp as usize {
            return Err(RecordError::TooManyDecimals {
                amount: amount.trim().to_string(),
                currency: currency.code().to_string(),
                found: frac.len(),
                allowed: exp,
            });
        }
        let too_large = || RecordError::AmountTooLarge(amount.trim().to_string());
        let mut units: i64 = 0;
        let padded = frac
            .bytes()
            .chain(std::iter::repeat(b'0'))
            .take(exp as usize);
        for b in whole.bytes().chain(padded) {
            units = units
                .checked_mul(10)
                .and_then(|u| u.checked_add(i64::from(b - b'0')))
                .ok_or_else(too_large)?;
        }
        Ok(MinorUnits {
            units: if negative { -units } else { units },
            currency,
        })
    }
    /// The amount in minor units.
    pub fn units(&self) -> i64 {
        self.units
    }
    pub fn currency(&self) -> Currency {
        self.currency
    }
    /// The exact decimal amount in major units (`1250` cents → `12.50`).
    pub fn to_decimal(&self) -> Decimal {
        Decimal::new(self.units, self.currency.exponent())
    }
}

impl From<MinorUnits> for Money {
    fn from(m: MinorUnits) -> Money {
        Money::new(m.to_decimal(), m.currency.code()).expect("a Currency is a valid ISO code")
    }
}

impl fmt::Display for MinorUnits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.to_decimal(), self.currency)
    }
}

macro_rules! named_enum {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $v:ident = $s:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name { $($(#[$vm])* $v),+ }

        impl $name {
            /// Every value, in the schema's order.
            pub const ALL: &'static [$name] = &[$($name::$v),+];
            /// The name used in files and in the store.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$v => $s),+ }
            }
        }

        /// Parses the schema's names, ignoring ASCII case and surrounding spaces.
        impl FromStr for $name {
            type Err = RecordError;
            fn from_str(s: &str) -> Result<Self, RecordError> {
                let t = s.trim();
                $(if t.eq_ignore_ascii_case($s) { return Ok($name::$v); })+
                Err(RecordError::NotOneOf {
                    value: s.to_string(),
                    expected: [$($s),+].join(", "),
                })
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

named_enum! {
    /// What a file holds: the argument of `tenure import <kind>`.
    RecordKind {
        Customers = "customers",
        Transactions = "transactions",
        Subscriptions = "subscriptions",
        Costs = "costs",
        Usage = "usage",
        Feedback = "feedback",
        Cases = "cases",
        Payments = "payments",
        Interactions = "interactions",
        Campaigns = "campaigns",
        Touches = "touches",
    }
}

named_enum! {
    /// The revenue conduit of an invoice line.
    TransactionKind {
        New = "new",
        Upsell = "upsell",
        Expansion = "expansion",
        Renewal = "renewal",
        ChangeOrder = "change_order",
        OneOff = "one_off",
        Refund = "refund",
    }
}

named_enum! {
    /// How often a subscription bills its recurring amount.
    BillingInterval { Month = "month", Quarter = "quarter", Year = "year" }
}

named_enum! {
    SubscriptionStatus {
        Active = "active",
        Trialing = "trialing",
        PastDue = "past_due",
        Paused = "paused",
        Canceled = "canceled",
    }
}

named_enum! {
    /// What a cost was spent on.
    CostCategory { Acquisition = "acquisition", Retention = "retention", Service = "service" }
}

named_enum! {
    FeedbackKind { Nps = "nps", Csat = "csat" }
}

named_enum! {
    /// Where a support case is. `solved` and `closed` cases have a `closed_at`; `open` and
    /// `pending` ones do not.
    CaseStatus { Open = "open", Pending = "pending", Solved = "solved", Closed = "closed" }
}

impl CaseStatus {
    /// Whether a case with this status has been closed (and so has a `closed_at`).
    pub fn is_closed(self) -> bool {
        matches!(self, CaseStatus::Solved | CaseStatus::Closed)
    }
}

named_enum! {
    /// What happened to a payment.
    PaymentKind {
        Succeeded = "succeeded",
        Failed = "failed",
        Retried = "retried",
        Refunded = "refunded",
        Chargeback = "chargeback",
        DunningStarted = "dunning_started",
        DunningResolved = "dunning_resolved",
    }
}

impl PaymentKind {
    /// Whether an event of this kind moves (or tried to move) money, so needs an amount.
    pub fn needs_amount(self) -> bool {
        matches!(
            self,
            PaymentKind::Succeeded
                | PaymentKind::Failed
                | PaymentKind::Refunded
                | PaymentKind::Chargeback
        )
    }
}

named_enum! {
    /// A CRM activity.
    InteractionKind { Call = "call", Email = "email", Meeting = "meeting", Note = "note" }
}

/// An acquisition cohort: a calendar month. Invariant: year 0001–9999, month 1–12.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Cohort {
    year: u16,
    month: u8,
}

impl Cohort {
    /// Parse `YYYY-MM`.
    pub fn parse(s: &str) -> Result<Self, RecordError> {
        let t = s.trim();
        let bad = || RecordError::BadCohort(s.to_string());
        let b = t.as_bytes();
        if b.len() != 7
            || b[4] != b'-'
            || !t[..4]
                .bytes()
                .chain(t[5..].bytes())
                .all(|c| c.is_ascii_digit())
        {
            return Err(bad());
        }
        let year: u16 = t[..4].parse().map_err(|_| bad())?;
        let month: u8 = t[5..].parse().map_err(|_| bad())?;
        if year == 0 || !(1..=12).contains(&month) {
            return Err(bad());
        }
        Ok(Cohort { year, month })
    }
    pub fn year(&self) -> u16 {
        self.year
    }
    pub fn month(&self) -> u8 {
        self.month
    }
}

impl fmt::Display for Cohort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

/// A free-form JSON object as canonical text (keys sorted, no insignificant whitespace).
/// tenure-core has no JSON parser: the importer parses and canonicalises, and this type only
/// checks the text is brace-delimited and NUL-free.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct JsonObject(String);

impl JsonObject {
    pub fn from_canonical(text: String) -> Result<Self, RecordError> {
        if !(text.starts_with('{') && text.ends_with('}')) {
            return Err(RecordError::NotJsonObject(text));
        }
        if text.contains('\0') {
            return Err(RecordError::Nul);
        }
        Ok(JsonObject(text))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A customer. `validate`: no self-referral, no NUL in text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Customer {
    pub id: RecordId,
    pub name: Option<String>,
    /// First purchase or contract start.
    pub acquired_at: Timestamp,
    /// Acquisition channel (`paid_search`, `partner`, `referral`, …).
    pub channel: Option<String>,
    pub plan: Option<String>,
    pub region: Option<String>,
    /// Another customer's id; the store checks it exists.
    pub referred_by: Option<RecordId>,
    pub attributes: Option<JsonObject>,
}

impl Customer {
    pub fn validate(&self) -> Result<(), InvalidRecord> {
        check_text("name", self.name.as_deref())?;
        check_text("channel", self.channel.as_deref())?;
        check_text("plan", self.plan.as_deref())?;
        check_text("region", self.region.as_deref())?;
        if self.referred_by.as_ref() == Some(&self.id) {
            return Err(invalid("referred_by", RecordError::SelfReferral));
        }
        Ok(())
    }
}

/// An invoice line. `validate`: the amount is negative only for a refund, and a refund is
/// never positive; `cogs` is in the amount's currency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transaction {
    pub id: RecordId,
    pub customer_id: RecordId,
    pub date: Timestamp,
    pub amount: MinorUnits,
    pub kind: TransactionKind,
    /// Cost of goods sold.
    pub cogs: Option<MinorUnits>,
    pub product: Option<String>,
}

impl Transaction {
    pub fn validate(&self) -> Result<(), InvalidRecord> {
        let amount = self.amount.to_decimal().to_string();
        match (self.kind, self.amount.units()) {
            (TransactionKind::Refund, u) if u > 0 => {
                return Err(invalid("amount", RecordError::PositiveRefund(amount)))
            }
            (k, u) if u < 0 && k != TransactionKind::Refund => {
                return Err(invalid("amount", RecordError::NegativeNotRefund(amount)))
            }
            _ => {}
        }
        if let Some(c) = self.cogs {
            if c.currency() != self.amount.currency() {
                return Err(invalid(
                    "cogs",
                    RecordError::CogsCurrency {
                        cogs: c.currency().to_string(),
                        amount: self.amount.currency().to_string(),
                    },
                ));
            }
        }
        check_text("product", self.product.as_deref())
    }
}

/// A subscription. `validate`: `ended_at` ≥ `started_at`, amount ≥ 0, plan without NUL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscription {
    pub id: RecordId,
    pub customer_id: RecordId,
    pub plan: String,
    pub started_at: Timestamp,
    /// `None` while active.
    pub ended_at: Option<Timestamp>,
    pub seats: u32,
    /// Recurring amount per billing interval.
    pub amount: MinorUnits,
    pub interval: BillingInterval,
    pub status: SubscriptionStatus,
}

impl Subscription {
    pub fn validate(&self) -> Result<(), InvalidRecord> {
        check_text("plan", Some(&self.plan))?;
        if let Some(end) = self.ended_at {
            if end < self.started_at {
                return Err(invalid(
                    "ended_at",
                    RecordError::EndBeforeStart {
                        start: self.started_at.to_string(),
                        end: end.to_string(),
                    },
                ));
            }
        }
        if self.amount.units() < 0 {
            let a = self.amount.to_decimal().to_string();
            return Err(invalid("amount", RecordError::Negative(a)));
        }
        Ok(())
    }
}

/// What a cost is attached to: exactly one of a customer, an acquisition channel or an
/// acquisition cohort (for allocation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CostTarget {
    Customer(RecordId),
    Channel(String),
    Cohort(Cohort),
}

/// A cost. `validate`: amount ≥ 0, channel without NUL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cost {
    pub id: RecordId,
    pub date: Timestamp,
    pub amount: MinorUnits,
    pub category: CostCategory,
    pub target: CostTarget,
}

impl Cost {
    pub fn validate(&self) -> Result<(), InvalidRecord> {
        if self.amount.units() < 0 {
            let a = self.amount.to_decimal().to_string();
            return Err(invalid("amount", RecordError::Negative(a)));
        }
        match &self.target {
            CostTarget::Channel(c) => check_text("channel", Some(c)),
            _ => Ok(()),
        }
    }
}

/// 128-bit FNV-1a over length-prefixed parts: a stable, dependency-free digest for derived
/// ids. Not cryptographic; ids collide with probability ~n²/2¹²⁹.
fn fnv1a_128(parts: &[&str]) -> u128 {
    const OFFSET: u128 = 0x6c62272e07bb014262b821756295c58d;
    const PRIME: u128 = 0x0000000001000000000000000000013b;
    let mut h = OFFSET;
    for p in parts {
        let len = (p.len() as u64).to_le_bytes();
        for b in len.iter().chain(p.as_bytes()) {
            h ^= u128::from(*b);
            h = h.wrapping_mul(PRIME);
        }
    }
    h
}

fn derived_id(prefix: &str, parts: &[&str]) -> RecordId {
    RecordId(format!("{prefix}:{:032x}", fnv1a_128(parts)))
}

/// A product-usage event. `validate`: quantity ≥ 0, text without NUL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageEvent {
    pub id: RecordId,
    pub customer_id: RecordId,
    pub user: Option<String>,
    pub feature: String,
    pub occurred_at: Timestamp,
    /// Default 1.
    pub quantity: Decimal,
}

impl UsageEvent {
    /// The id of an event given without one: `usage:` and 32 hex digits of a 128-bit FNV-1a
    /// digest of (customer_id, user, feature, occurred_at). Stable across versions; two events
    /// equal in all four get the same id.
    pub fn derived_id(
        customer_id: &RecordId,
        user: Option<&str>,
        feature: &str,
        occurred_at: Timestamp,
    ) -> RecordId {
        let t = occurred_at.to_string();
        let user = user.map(|u| format!("+{u}")).unwrap_or_default();
        derived_id("usage", &[customer_id.as_str(), &user, feature, &t])
    }
    pub fn validate(&self) -> Result<(), InvalidRecord> {
        if self.quantity.is_sign_negative() && !self.quantity.is_zero() {
            return Err(invalid(
                "quantity",
                RecordError::Negative(self.quantity.to_string()),
            ));
        }
        check_text("user", self.user.as_deref())?;
        check_text("feature", Some(&self.feature))
    }
}

/// A survey score: NPS 0–10 or CSAT 1–5. Invariant: in its kind's range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FeedbackScore {
    kind: FeedbackKind,
    value: u8,
}

impl FeedbackScore {
    pub fn new(kind: FeedbackKind, value: i64) -> Result<Self, RecordError> {
        let (lo, hi) = match kind {
            FeedbackKind::Nps => (0, 10),
            FeedbackKind::Csat => (1, 5),
        };
        if !(lo..=hi).contains(&value) {
            return Err(RecordError::OutOfRange {
                value: value.to_string(),
                range: format!("{lo}–{hi} for {kind}"),
            });
        }
        Ok(FeedbackScore {
            kind,
            value: value as u8,
        })
    }
    pub fn kind(&self) -> FeedbackKind {
        self.kind
    }
    pub fn value(&self) -> u8 {
        self.value
    }
}

/// A survey answer. `validate`: comment without NUL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Feedback {
    pub id: RecordId,
    pub customer_id: RecordId,
    pub occurred_at: Timestamp,
    pub score: FeedbackScore,
    pub comment: Option<String>,
}

impl Feedback {
    /// The id of an answer given without one: `feedback:` and 32 hex digits of a 128-bit
    /// FNV-1a digest of (customer_id, kind, occurred_at).
    pub fn derived_id(
        customer_id: &RecordId,
        kind: FeedbackKind,
        occurred_at: Timestamp,
    ) -> RecordId {
        let t = occurred_at.to_string();
        derived_id("feedback", &[customer_id.as_str(), kind.as_str(), &t])
    }
    pub fn validate(&self) -> Result<(), InvalidRecord> {
        check_text("comment", self.comment.as_deref())
    }
}

/// A whole number in `lo..=hi` (a case's severity 1–4 or satisfaction 1–5).
fn check_range(field: &'static str, value: u8, lo: u8, hi: u8) -> Result<(), InvalidRecord> {
    if (lo..=hi).contains(&value) {
        Ok(())
    } else {
        Err(invalid(
            field,
            RecordError::OutOfRange {
                value: value.to_string(),
                range: format!("{lo}–{hi}"),
            },
        ))
    }
}

/// A support case. `validate`: severity 1–4 and satisfaction 1–5; `closed_at` ≥ `opened_at`,
/// given exactly when the status is `solved` or `closed`; `escalated_to` only when
/// `escalated`; text without NUL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SupportCase {
    pub id: RecordId,
    pub customer_id: RecordId,
    pub opened_at: Timestamp,
    pub closed_at: Option<Timestamp>,
    /// 1 = most severe (an outage) … 4 = a question.
    pub severity: u8,
    pub category: Option<String>,
    pub product: Option<String>,
    pub status: CaseStatus,
    /// The support rep.
    pub owner: Option<String>,
    pub escalated: bool,
    pub escalated_to: Option<String>,
    /// The customer's rating of the case, 1–5.
    pub satisfaction: Option<u8>,
}

impl SupportCase {
    pub fn validate(&self) -> Result<(), InvalidRecord> {
        check_range("severity", self.severity, 1, 4)?;
        if let Some(s) = self.satisfaction {
            check_range("satisfaction", s, 1, 5)?;
        }
        let when = || format!("status is `{}`", self.status);
        match (self.status.is_closed(), self.closed_at) {
            (true, None) => return Err(invalid("closed_at", RecordError::RequiredWhen(when()))),
            (false, Some(c)) => {
                let e = RecordError::AbsentWhen {
                    value: c.to_string(),
                    when: when(),
                };
                return Err(invalid("closed_at", e));
            }
            (true, Some(c)) if c < self.opened_at => {
                let e = RecordError::EndBeforeStart {
                    start: self.opened_at.to_string(),
                    end: c.to_string(),
                };
                return Err(invalid("closed_at", e));
            }
            _ => {}
        }
        if let (false, Some(to)) = (self.escalated, &self.escalated_to) {
            let e = RecordError::AbsentWhen {
                value: to.clone(),
                when: "escalated is false".into(),
            };
            return Err(invalid("escalated_to", e));
        }
        check_text("category", self.category.as_deref())?;
        check_text("product", self.product.as_deref())?;
        check_text("owner", self.owner.as_deref())?;
        check_text("escalated_to", self.escalated_to.as_deref())
    }
}

/// A payment event. `validate`: an amount (≥ 0) where the kind moves money (`succeeded`,
/// `failed`, `refunded`, `chargeback`); the currency is the amount's, so it is present exactly
/// when the amount is; invoice without NUL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentEvent {
    pub id: RecordId,
    pub customer_id: RecordId,
    pub occurred_at: Timestamp,
    pub kind: PaymentKind,
    pub amount: Option<MinorUnits>,
    /// The invoice reference.
    pub invoice: Option<String>,
}

impl PaymentEvent {
    pub fn validate(&self) -> Result<(), InvalidRecord> {
        match self.amount {
            None if self.kind.needs_amount() => {
                let when = format!("kind is `{}`", self.kind);
                return Err(invalid("amount", RecordError::RequiredWhen(when)));
            }
            Some(a) if a.units() < 0 => {
                let a = a.to_decimal().to_string();
                return Err(invalid("amount", RecordError::Negative(a)));
            }
            _ => {}
        }
        check_text("invoice", self.invoice.as_deref())
    }
}

/// A CRM activity (call, email, meeting, note). `validate`: text without NUL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interaction {
    pub id: RecordId,
    pub customer_id: RecordId,
    pub occurred_at: Timestamp,
    pub kind: InteractionKind,
    pub owner: Option<String>,
    /// Kept as written (not trimmed), like feedback's comment.
    pub summary: Option<String>,
}

impl Interaction {
    pub fn validate(&self) -> Result<(), InvalidRecord> {
        check_text("owner", self.owner.as_deref())?;
        check_text("summary", self.summary.as_deref())
    }
}

/// A marketing campaign. `validate`: cost ≥ 0, text without NUL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Campaign {
    pub id: RecordId,
    pub name: String,
    /// `email`, `webinar`, `event`, `in_app`, …
    pub channel: Option<String>,
    pub started_at: Option<Timestamp>,
    /// The campaign's total cost.
    pub cost: MinorUnits,
}

impl Campaign {
    pub fn validate(&self) -> Result<(), InvalidRecord> {
        if self.cost.units() < 0 {
            let c = self.cost.to_decimal().to_string();
            return Err(invalid("cost", RecordError::Negative(c)));
        }
        check_text("name", Some(&self.name))?;
        check_text("channel", self.channel.as_deref())
    }
}

/// One campaign reaching one customer. The store checks that the campaign and the customer
/// exist; every combination of the flags is valid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Touch {
    pub id: RecordId,
    pub campaign_id: RecordId,
    pub customer_id: RecordId,
    pub sent_at: Timestamp,
    pub opened: bool,
    pub clicked: bool,
    pub replied: bool,
}

impl Touch {
    /// The id of a touch given without one: `touch:` and 32 hex digits of a 128-bit FNV-1a
    /// digest of (campaign_id, customer_id, sent_at).
    pub fn derived_id(
        campaign_id: &RecordId,
        customer_id: &RecordId,
        sent_at: Timestamp,
    ) -> RecordId {
        let t = sent_at.to_string();
        derived_id("touch", &[campaign_id.as_str(), customer_id.as_str(), &t])
    }
    pub fn validate(&self) -> Result<(), InvalidRecord> {
        Ok(())
    }
}

/// Parse a boolean: `true`/`false`, `1`/`0`, `yes`/`no`, ignoring ASCII case and surrounding
/// spaces. (An absent value is false; that is the caller's default.)
pub fn parse_bool(s: &str) -> Result<bool, RecordError> {
    let t = s.trim();
    let is = |a: &str| t.eq_ignore_ascii_case(a);
    if is("true") || is("1") || is("yes") {
        Ok(true)
    } else if is("false") || is("0") || is("no") {
        Ok(false)
    } else {
        Err(RecordError::NotBool(s.to_string()))
    }
}

/// Parse a whole number in `lo..=hi` (`severity` 1–4, `satisfaction` 1–5).
pub fn parse_in_range(s: &str, lo: u8, hi: u8) -> Result<u8, RecordError> {
    let v = parse_whole(s)?;
    u8::try_from(v)
        .ok()
        .filter(|v| (lo..=hi).contains(v))
        .ok_or_else(|| RecordError::OutOfRange {
            value: s.trim().to_string(),
            range: format!("{lo}–{hi}"),
        })
}

/// Parse a whole number ≥ 0 (`seats`), with a clear message for negatives.
pub fn parse_count(s: &str) -> Result<u32, RecordError> {
    let t = s.trim();
    let (negative, digits) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(RecordError::NotWhole(s.to_string()));
    }
    if negative && digits.bytes().any(|b| b != b'0') {
        return Err(RecordError::Negative(t.to_string()));
    }
    digits.parse().map_err(|_| RecordError::OutOfRange {
        value: t.to_string(),
        range: format!("0–{}", u32::MAX),
    })
}

/// Parse a whole number that may be negative (`score`, range-checked by its user).
pub fn parse_whole(s: &str) -> Result<i64, RecordError> {
    let t = s.trim();
    let digits = t.strip_prefix(['-', '+']).unwrap_or(t);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(RecordError::NotWhole(s.to_string()));
    }
    t.parse().map_err(|_| RecordError::OutOfRange {
        value: t.to_string(),
        range: "a 64-bit integer".into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usd() -> Currency {
        Currency::parse("usd").unwrap()
    }

    #[test]
    fn ids_are_checked() {
        assert_eq!(RecordId::new("c-1").unwrap().as_str(), "c-1");
        assert_eq!(RecordId::new(""), Err(RecordError::EmptyId));
        assert_eq!(
            RecordId::new(&"x".repeat(257)),
            Err(RecordError::IdTooLong(257))
        );
        assert!(RecordId::new(&"é".repeat(256)).is_ok());
        assert!(matches!(
            RecordId::new("a\tb"),
            Err(RecordError::IdControl(_))
        ));
    }

    #[test]
    fn money_is_exact_minor_units() {
        assert_eq!(MinorUnits::parse("1234.50", usd()).unwrap().units(), 123450);
        assert_eq!(MinorUnits::parse("-0.5", usd()).unwrap().units(), -50);
        assert_eq!(MinorUnits::parse(".5", usd()).unwrap().units(), 50);
        assert_eq!(MinorUnits::parse("7", usd()).unwrap().units(), 700);
        let jpy = Currency::parse("JPY").unwrap();
        assert_eq!(MinorUnits::parse("1500", jpy).unwrap().units(), 1500);
        let kwd = Currency::parse("KWD").unwrap();
        assert_eq!(MinorUnits::parse("1.234", kwd).unwrap().units(), 1234);
        assert_eq!(
            MinorUnits::parse("12.345", usd()).unwrap_err().to_string(),
            "`12.345` has 3 decimal places; USD has 2 (amounts are never rounded)"
        );
        assert!(matches!(
            MinorUnits::parse("10.0", jpy),
            Err(RecordError::TooManyDecimals {
                found: 1,
                allowed: 0,
                ..
            })
        ));
        for bad in [
            "", ".", "-", "1e3", "1,000.00", "NaN", "1.2.3", "12a", "--1", " - 1",
        ] {
            assert!(
                matches!(
                    MinorUnits::parse(bad, usd()),
                    Err(RecordError::BadAmount(_))
                ),
                "{bad:?}"
            );
        }
        assert!(matches!(
            MinorUnits::parse("92233720368547758.08", usd()),
            Err(RecordError::AmountTooLarge(_))
        ));
        let m = MinorUnits::parse("92233720368547758.07", usd()).unwrap();
        assert_eq!(m.units(), i64::MAX);
        assert_eq!(
            Money::from(MinorUnits::parse("12.50", usd()).unwrap()).to_string(),
            "12.50 USD"
        );
    }

    #[test]
    fn currencies_have_their_iso_exponent() {
        assert_eq!(usd().code(), "USD");
        assert_eq!(usd().exponent(), 2);
        assert_eq!(Currency::parse("JPY").unwrap().exponent(), 0);
        assert_eq!(Currency::parse("BHD").unwrap().exponent(), 3);
        assert_eq!(Currency::parse("CLF").unwrap().exponent(), 4);
        for bad in ["US", "USDX", "XAU", "ABC", "", "12$"] {
            assert!(Currency::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn timestamps_parse_to_utc_microseconds() {
        let t = |s: &str| Timestamp::parse(s).map(|t| t.to_string());
        assert_eq!(t("2024-02-29").unwrap(), "2024-02-29T00:00:00.000000Z");
        assert_eq!(
            t("2024-02-29T23:30:00+02:00").unwrap(),
            "2024-02-29T21:30:00.000000Z"
        );
        assert_eq!(
            t("2024-01-01 10:00:00.25").unwrap(),
            "2024-01-01T10:00:00.250000Z"
        );
        assert_eq!(
            t("2024-01-01T10:00:00.123456Z").unwrap(),
            "2024-01-01T10:00:00.123456Z"
        );
        assert_eq!(
            t("2024-01-01T10:00:00.123456000Z").unwrap(),
            "2024-01-01T10:00:00.123456Z"
        );
        assert!(matches!(
            t("2024-01-01T10:00:00.1234567Z"),
            Err(RecordError::TooPrecise(_))
        ));
        for bad in [
            "2023-02-29",
            "2024-13-01",
            "01/02/2024",
            "20240101",
            "2024-1-1",
            "2024-01-01T25:00:00",
            "2024-01-01Tx",
            "yesterday",
            "2024-01-01T10:00:00+25:00",
        ] {
            assert!(matches!(t(bad), Err(RecordError::BadTimestamp(_))), "{bad}");
        }
        assert!(Timestamp::parse("2024-01-01T23:59:60Z").is_err());
        assert!(matches!(
            t("0000-01-01"),
            Err(RecordError::YearOutOfRange(_)) | Err(RecordError::BadTimestamp(_))
        ));
    }

    #[test]
    fn enums_cohorts_and_counts() {
        assert_eq!(
            "Change_Order".parse::<TransactionKind>().unwrap(),
            TransactionKind::ChangeOrder
        );
        assert_eq!(
            "gift".parse::<TransactionKind>().unwrap_err().to_string(),
            "`gift` is not one of new, upsell, expansion, renewal, change_order, one_off, refund"
        );
        assert_eq!(Cohort::parse("2024-03").unwrap().to_string(), "2024-03");
        assert!(Cohort::parse("2024-13").is_err());
        assert!(Cohort::parse("2024-3").is_err());
        assert_eq!(parse_count("12").unwrap(), 12);
        assert_eq!(
            parse_count("-3").unwrap_err().to_string(),
            "must not be negative, got `-3`"
        );
        assert_eq!(
            parse_count("2.5").unwrap_err().to_string(),
            "`2.5` is not a whole number"
        );
        assert_eq!(parse_count("-0").unwrap(), 0);
        assert!(FeedbackScore::new(FeedbackKind::Nps, 0).is_ok());
        assert_eq!(
            FeedbackScore::new(FeedbackKind::Csat, 0)
                .unwrap_err()
                .to_string(),
            "`0` is outside 1–5 for csat"
        );
    }

    #[test]
    fn records_check_cross_field_rules() {
        let id = RecordId::new("t1").unwrap();
        let c = RecordId::new("c1").unwrap();
        let date = Timestamp::parse("2024-01-01").unwrap();
        let mut t = Transaction {
            id,
            customer_id: c.clone(),
            date,
            amount: MinorUnits::parse("-5", usd()).unwrap(),
            kind: TransactionKind::New,
            cogs: None,
            product: None,
        };
        assert_eq!(t.validate().unwrap_err().field, "amount");
        t.kind = TransactionKind::Refund;
        assert!(t.validate().is_ok());
        t.amount = MinorUnits::parse("5", usd()).unwrap();
        assert!(matches!(
            t.validate().unwrap_err().error,
            RecordError::PositiveRefund(_)
        ));
        let cust = Customer {
            id: c.clone(),
            name: Some("a\0b".into()),
            acquired_at: date,
            channel: None,
            plan: None,
            region: None,
            referred_by: Some(c.clone()),
            attributes: None,
        };
        assert_eq!(
            cust.validate().unwrap_err().to_string(),
            "name: contains a NUL character"
        );
        let s = Subscription {
            id: RecordId::new("s1").unwrap(),
            customer_id: c.clone(),
            plan: "pro".into(),
            started_at: Timestamp::parse("2024-02-01").unwrap(),
            ended_at: Some(date),
            seats: 1,
            amount: MinorUnits::parse("10", usd()).unwrap(),
            interval: BillingInterval::Month,
            status: SubscriptionStatus::Canceled,
        };
        assert_eq!(s.validate().unwrap_err().field, "ended_at");
    }

    #[test]
    fn derived_ids_are_stable() {
        let c = RecordId::new("c1").unwrap();
        let at = Timestamp::parse("2024-01-01T10:00:00Z").unwrap();
        let a = UsageEvent::derived_id(&c, None, "export", at);
        let b = UsageEvent::derived_id(&c, Some(""), "export", at);
        assert_ne!(a, b, "absent and empty user differ");
        assert!(a.as_str().starts_with("usage:") && a.as_str().len() == 38);
        assert_eq!(a, UsageEvent::derived_id(&c, None, "export", at));
        // Length prefixes keep ("ab","c") and ("a","bc") apart.
        assert_ne!(fnv1a_128(&["ab", "c"]), fnv1a_128(&["a", "bc"]));
        // FNV-1a 128 of the empty input is the offset basis.
        assert_eq!(fnv1a_128(&[]), 0x6c62272e07bb014262b821756295c58d);
        let f = Feedback::derived_id(&c, FeedbackKind::Nps, at);
        assert!(f.as_str().starts_with("feedback:"));
    }

    #[test]
    fn new_kinds_check_their_conditional_rules() {
        let c = RecordId::new("c1").unwrap();
        let at = |s: &str| Timestamp::parse(s).unwrap();
        let mut case = SupportCase {
            id: RecordId::new("k1").unwrap(),
            customer_id: c.clone(),
            opened_at: at("2024-03-02"),
            closed_at: None,
            severity: 2,
            category: None,
            product: None,
            status: CaseStatus::Solved,
            owner: None,
            escalated: false,
            escalated_to: None,
            satisfaction: Some(5),
        };
        assert_eq!(
            case.validate().unwrap_err().to_string(),
            "closed_at: required when status is `solved`"
        );
        case.closed_at = Some(at("2024-03-01"));
        assert!(matches!(
            case.validate().unwrap_err(),
            InvalidRecord {
                field: "closed_at",
                error: RecordError::EndBeforeStart { .. }
            }
        ));
        case.status = CaseStatus::Open;
        assert_eq!(
            case.validate().unwrap_err().to_string(),
            "closed_at: must be empty when status is `open`; got `2024-03-01T00:00:00.000000Z`"
        );
        case.closed_at = None;
        assert!(case.validate().is_ok());
        case.escalated_to = Some("tier2".into());
        assert_eq!(case.validate().unwrap_err().field, "escalated_to");
        case.escalated = true;
        assert!(case.validate().is_ok());
        case.severity = 5;
        assert_eq!(case.validate().unwrap_err().field, "severity");

        let mut p = PaymentEvent {
            id: RecordId::new("p1").unwrap(),
            customer_id: c.clone(),
            occurred_at: at("2024-03-01"),
            kind: PaymentKind::Chargeback,
            amount: None,
            invoice: None,
        };
        assert_eq!(
            p.validate().unwrap_err().to_string(),
            "amount: required when kind is `chargeback`"
        );
        p.kind = PaymentKind::DunningStarted;
        assert!(p.validate().is_ok());
        p.amount = Some(MinorUnits::parse("-1", usd()).unwrap());
        assert_eq!(p.validate().unwrap_err().field, "amount");

        assert!(parse_bool(" YES ").unwrap());
        assert!(!parse_bool("0").unwrap());
        assert_eq!(
            parse_bool("maybe").unwrap_err().to_string(),
            "`maybe` is not a boolean (true/false, 1/0, yes/no)"
        );
        assert_eq!(parse_in_range("4", 1, 4).unwrap(), 4);
        assert_eq!(
            parse_in_range("300", 1, 4).unwrap_err().to_string(),
            "`300` is outside 1–4"
        );
        let k = RecordId::new("camp").unwrap();
        let t = Touch::derived_id(&k, &c, at("2024-03-01"));
        assert!(t.as_str().starts_with("touch:") && t.as_str().len() == 38);
        assert_ne!(t, Touch::derived_id(&c, &k, at("2024-03-01")));
    }
}
