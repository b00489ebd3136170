#![doc = include_str!("../README.md")]

pub mod config;
pub mod error;
pub mod ingest;
pub mod lake;
pub mod normalize;
pub mod privacy;
pub mod record;
pub mod registry;
pub mod simulate;

pub use error::{Error, Result};
