//! Tenure's shared vocabulary: time units and durations that always carry their unit,
//! rates stated per period, and money in exact decimal amounts.
//!
//! Invariants: nothing here touches files, sockets, clocks or the environment; every
//! time quantity carries a [`TimeUnit`]; money is never a binary float.
//!
//! ```
//! use tenure_core::{Duration, TimeUnit, Rate};
//! let h: Duration = "52w".parse().unwrap();
//! assert_eq!(h.in_unit(TimeUnit::Weeks), 52.0);
//! let d: Rate = "1%/mo".parse().unwrap();
//! assert_eq!(d.value(), 0.01);
//! assert_eq!(d.per().unit(), TimeUnit::Months);
//! ```

mod money;
mod records;
mod units;

pub use money::{parse_amount, Money, MoneyError};
pub use records::{
    parse_bool, parse_count, parse_in_range, parse_whole, BillingInterval, Campaign, CaseStatus,
    Cohort, Cost, CostCategory, CostTarget, Currency, Customer, Feedback, FeedbackKind,
    FeedbackScore, Interaction, InteractionKind, InvalidRecord, JsonObject, MinorUnits,
    PaymentEvent, PaymentKind, RecordError, RecordId, RecordKind, Subscription, SubscriptionStatus,
    SupportCase, Timestamp, Touch, Transaction, TransactionKind, UsageEvent,
};
pub use rust_decimal::Decimal;
pub use units::{Duration, Rate, TimeUnit, UnitError, DAYS_PER_MONTH, DAYS_PER_YEAR};
