//! Campaigns: hold-out groups and their evaluation (specification §9).
//!
//! [`stats`] holds the statistics an evaluation reports per group: conversion rates, the
//! uplift of treatment over control with a Newcombe (hybrid Wilson score) interval, and a
//! two-proportion z-test. They are pure functions of counts.

pub mod stats;

pub use stats::{
    newcombe_difference, normal_cdf, normal_quantile, two_proportion_z_test, wilson, Interval,
    Proportion, StatsError, Uplift, ZTest, MIN_GROUP,
};
