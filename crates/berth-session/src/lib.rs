//! `berth-session`: the per-session host.
//!
//! One process per session, running as the session's service account. It
//! owns the PTY and the program on it, the screen and history, the output
//! log and the session socket. Code map:
//!
//! - [`terminal`] (and its `capture`), [`history`]: what the screen shows and showed;
//! - [`policy`]: when to restart (pure);
//! - [`clients`]: attached clients, their bounded backlog and size policy;
//! - [`program`]: starting the program on the PTY with a clean environment;
//! - [`supervisor`]: the PTY pump and the program's lifecycle;
//! - [`output_log`]: every byte to disk, rotated, paused on write errors;
//! - [`listener`], [`server`], [`peer`]: the socket, connections, who connects;
//! - [`session`]: the state they share and the status it reports;
//! - [`account`]: becoming the service account before anything else.

pub mod args;
mod cleanup;
pub mod clients;
pub mod history;
pub mod host;
pub mod input;
pub mod journal_log;
pub mod listener;
pub mod log_reader;
pub mod log_writer;
/// This process's memory (shared with berthd).
pub use berth_log::memory;
pub mod output_log;
pub mod peer;
pub mod plain;
pub mod policy;
pub mod program;
pub mod recording;
pub mod server;
pub mod session;
pub mod shell;
pub mod shell_integration;
pub mod supervisor;
pub mod terminal;
