//! Campaigns: hold-out groups and their evaluation (specification §9).
//!
//! A [`CampaignSpec`] names a channel, a hold-out share, a salt, what counts as a conversion
//! and within how long. A customer's [`Group`] is drawn from the [`bucket`] of the smallest
//! `(source name, external id)` among its records — a choice no ingestion order can change —
//! and fixed at its first assignment: every record it then holds carries the assignment, so a
//! later merge of records assigned to different groups is seen, counted as contaminated and
//! left out of the [`Evaluation`], never moved. Intention to treat: a treatment customer whose
//! contact was capped or refused stays in treatment.
//!
//! [`stats`] holds the statistics an evaluation reports per group: conversion rates, the
//! uplift of treatment over control with a Newcombe (hybrid Wilson score) interval, and a
//! two-proportion z-test. They are pure functions of counts.

pub(crate) mod evaluate;
pub(crate) mod spec;
pub mod stats;

pub use evaluate::{Assigned, Comparison, Evaluation, GroupFigures, CONFIDENCE, NOT_CONTACTED};
pub use spec::{
    bucket, Assignment, CampaignSpec, Conversions, Group, BUCKETS, MAX_CONVERSION_DAYS,
};

pub use stats::{
    newcombe_difference, normal_cdf, normal_quantile, two_proportion_z_test, wilson, Interval,
    Proportion, StatsError, Uplift, ZTest, MIN_GROUP,
};
