//! berth configuration: the one place defaults live.
//!
//! This crate does no I/O beyond reading files and the environment: the
//! TOML schema ([`load`]), the value parsers (durations, sizes, terminal
//! sizes), the defaults, and path resolution.

pub mod access;
pub mod accounts;
pub mod dashboard;
pub mod defaults;
mod error;
mod load;
pub mod logins;
pub mod model;
pub mod paths;
pub mod program_check;
pub mod spec;
pub mod trust;
pub mod values;
pub mod web;

pub use error::{check_and_print, errors_summary, valid_summary, ConfigError};
pub use load::{adhoc_session, load, Checks};
