#![doc = include_str!("../README.md")]
// Numerical code: `!(x > 0.0)` deliberately rejects NaN, and index loops mirror the
// reference implementations line by line.
#![allow(clippy::neg_cmp_op_on_partial_ord, clippy::needless_range_loop)]

pub mod classify;
pub mod error;
pub mod fusion;
mod linalg;
pub mod rules;
pub mod stats;
pub mod trend;

pub use error::{Error, Result};
