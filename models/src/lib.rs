#![doc = include_str!("../README.md")]

pub mod error;
mod linalg;
pub mod stats;
pub mod trend;

pub use error::{Error, Result};
