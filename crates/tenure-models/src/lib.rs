//! The statistics of Tenure: customer-base models from the marketing-science literature.
//!
//! Invariants: pure functions over slices; no files, sockets, clocks or environment; times are
//! plain numbers in one unit chosen by the caller (the CLI keeps track of which); money enters
//! as `f64` only here, converted once by the caller.

pub mod bgbb;
pub mod bgnbd;
pub mod bootstrap;
pub mod bootstrap_covariates;
pub mod clv;
pub mod covariates;
pub mod data;
pub mod fit;
pub mod gammagamma;
pub mod ggomnbd;
pub mod group;
mod hyp2f1;
pub mod mbgnbd;
pub mod nextpurchase;
pub mod paretonbd;
pub mod paretonbd_cor;
pub mod paretonbd_dyncov;
pub mod rfm;
pub mod sbg;
pub mod simulate;
pub mod special;
pub mod validate;

pub use data::{DataError, Rfm, RfmRow};
pub use fit::{maximize, Estimate, Fit, FitError, FitOptions, Likelihood, Scale};
pub use nextpurchase::{NextPurchase, NextPurchaseWindow};
pub use rfm::RfmModel;

/// The number of threads the machine offers (`available_parallelism`, 1 if unknown), asked
/// once per process: the standard library reads the cgroup files on every call (tens of µs),
/// and the likelihoods would otherwise ask on every evaluation.
pub(crate) fn cores() -> usize {
    static CORES: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *CORES.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// Why a model could not be fitted: bad data or a failed optimisation.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ModelError {
    #[error(transparent)]
    Data(#[from] DataError),
    #[error(transparent)]
    Fit(#[from] FitError),
}
