//! Touchpoints (specification §9): consent per channel, contacts, and dosing.
//!
//! Consent statements and contacts name their record by `(source, external id)` like events,
//! and follow it the same way: held with the record (or pending until it arrives), carried
//! through merges and splits by the partition with nothing copied, removed with it, and erased
//! with the person. Everything here is a pure function of what a customer's records hold:
//!
//! - [`customer_consent`]: per record the latest statement on a channel, then the most
//!   restrictive across records (any denied → denied; else any granted → granted; else
//!   unknown), so a merge never turns a "no" into a "yes".
//! - [`decide`]: consent first, then the cap rules of [`TouchpointRules`] over rolling,
//!   half-open windows (`now − D days < at ≤ now`), transactional contacts exempt; a refusal
//!   names the record that denied, or the rule that caps and the instant it frees.
//! - [`PressureReport`]: per channel and journey stage, the customers, their counted contacts
//!   in a window and how many received 0, 1, 2–3 or ≥ 4, how many consent allows, how many a
//!   cap holds back, and how many valuable ones the channel left alone for 30 days.

pub(crate) mod consent;
pub(crate) mod contact;
pub(crate) mod dosing;
pub(crate) mod pressure;

pub use consent::{
    customer_consent, Consent, ConsentInput, ConsentState, ConsentStatus, Statement,
};
pub use contact::{Contact, ContactInput};
pub use dosing::{decide, CapRule, CapScope, ContactDecision, ContactRefusal, TouchpointRules};
pub use pressure::{
    PressureReport, PressureRow, BUILT_IN_CHANNELS, RECEIVED_BUCKETS, UNDER_REACHED_STAGES,
    UNDER_REACHED_WINDOW,
};
