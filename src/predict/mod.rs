//! Predicting behaviour (specification §10): customer-base analysis on purchase events with
//! the BG/NBD model of Fader, Hardie & Lee (2005), "Counting your customers the easy way".
//!
//! - [`PurchaseHistory`] reads a customer's purchase-class events as of `now` at the
//!   resolution of UTC days: x (purchase days after the first), t_x (first to last) and T
//!   (first to `now`). A customer without purchases has no history, not a zero one.
//! - [`BgNbd::fit`] fits (r, α, a, b) by maximum likelihood, in days or weeks
//!   ([`TimeUnit`]), and reports the log-likelihood and how the fit converged ([`Fit`]).
//! - [`BgNbd::p_alive`] and [`BgNbd::expected_purchases`] are the closed forms per customer;
//!   [`BgNbd::predict`] gives both as a [`Prediction`].
//!
//! Everything here is a pure function of the histories: the fitted model is a plain value
//! the host keeps (four numbers and a unit) and passes to
//! [`Resolver::predictions`](crate::Resolver::predictions), to the journeys
//! ([`Journeys::with_model`](crate::Journeys::with_model) adds each customer's prediction to
//! its summary and stage) or to its own
//! [`StageClassifier`](crate::behaviour::StageClassifier). The parameters are aggregates over
//! all customers: erasing a person leaves them as they are until the host fits again.
//!
//! # Example: fit, then ask about one customer
//!
//! ```
//! use idstitch::predict::{BgNbd, PurchaseHistory, TimeUnit};
//!
//! // (x, t_x, T) in days for a handful of customers.
//! let histories: Vec<PurchaseHistory> = [
//!     (0, 0, 90), (0, 0, 80), (1, 30, 90), (3, 70, 85), (2, 10, 88), (6, 80, 82), (0, 0, 60),
//! ]
//! .iter()
//! .map(|&(x, t_x, t)| PurchaseHistory::new(x, t_x, t).unwrap())
//! .collect();
//! let fit = BgNbd::fit(&histories, TimeUnit::Days)?;
//! println!("{fit}");
//! let regular = fit.model.predict(&histories[5], 30.0)?;
//! let gone_quiet = fit.model.predict(&histories[4], 30.0)?;
//! assert!(regular.p_alive > gone_quiet.p_alive);
//! assert!(regular.expected_purchases > gone_quiet.expected_purchases);
//! # Ok::<(), idstitch::predict::PredictError>(())
//! ```

mod bgnbd;
mod fit;
mod hyp2f1;
mod inputs;

pub use bgnbd::{BgNbd, Prediction};
pub use fit::Fit;
pub use inputs::{PurchaseHistory, TimeUnit, UnknownTimeUnit};

/// Why a model could not be fitted or a prediction made.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum PredictError {
    /// [`BgNbd::fit`] was given no histories (no customer has a purchase as of `now`).
    #[error("no customer has a purchase: nothing to fit")]
    NoCustomers,
    /// [`BgNbd::fit`] was given histories none of which has a repeat purchase: the
    /// likelihood grows without bound as the drop-out probability goes to 1, so there is no
    /// maximum.
    #[error(
        "none of the {customers} customers bought on a second day: the model cannot be fitted"
    )]
    NoRepeatPurchases {
        /// The customers fitted.
        customers: u64,
    },
    /// The likelihood is not finite at the fit's start (histories of extreme ages).
    #[error("the likelihood is not finite at the start of the fit")]
    NotFinite,
    /// [`BgNbd::new`] was given a parameter that is not finite and positive.
    #[error("BG/NBD parameters must be finite and positive (r = {r}, alpha = {alpha}, a = {a}, b = {b})")]
    InvalidModel {
        /// r as given.
        r: f64,
        /// α as given.
        alpha: f64,
        /// a as given.
        a: f64,
        /// b as given.
        b: f64,
    },
    /// [`Resolver::prediction`](crate::Resolver::prediction) was asked about a customer id
    /// no customer has.
    #[error("no customer {0}")]
    UnknownCustomer(crate::ids::CustomerId),
    /// A prediction's horizon is negative or not finite.
    #[error("the horizon {0} is not a finite, non-negative time")]
    InvalidHorizon(f64),
    /// The expected purchases are not finite by the series nor by the quadrature (parameters
    /// far outside anything a fit gives).
    #[error("the expected purchases over {horizon} units are not finite under this model")]
    NotComputable {
        /// The horizon, in the model's unit.
        horizon: f64,
    },
}

#[cfg(test)]
mod tests {
    /// Hosts share models and predictions between threads.
    #[test]
    fn public_types_are_send_and_sync() {
        fn check<T: Send + Sync + 'static>() {}
        check::<super::BgNbd>();
        check::<super::Fit>();
        check::<super::Prediction>();
        check::<super::PurchaseHistory>();
        check::<super::PredictError>();
    }
}
