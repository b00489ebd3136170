#![doc = include_str!("../README.md")]
// Numerical code: `!(x > 0.0)` deliberately rejects NaN, and index loops mirror the
// reference implementations line by line.
#![allow(clippy::neg_cmp_op_on_partial_ord, clippy::needless_range_loop)]

pub mod backtest;
pub mod classify;
pub mod config;
pub mod error;
pub mod feature_cache;
pub mod features;
pub mod ingest;
pub mod lake;
pub mod names;
pub mod nightly;
pub mod normalize;
pub mod privacy;
pub mod record;
pub mod registry;
pub mod report;
pub mod score;
pub mod simulate;

pub use error::{Error, Result};
