//! berth configuration: the one place defaults live.
//!
//! This crate does no I/O beyond reading files and the environment. For now
//! it holds the value parsers (durations, sizes, terminal sizes), the
//! defaults, and path resolution; the TOML schema joins it with berthd.
#![deny(unsafe_code)]

pub mod accounts;
pub mod defaults;
pub mod paths;
pub mod values;
