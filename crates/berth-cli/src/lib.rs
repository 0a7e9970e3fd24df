//! The `berth` command's grammar, its Tab completion, and how it finds
//! sessions, as a library: the binary parses with it, and `berth-manual`
//! renders the man pages and the shells' completion scripts from the same
//! definitions.

pub mod cli;
pub mod complete;
pub mod examples;
pub mod layout;
pub mod locate;
pub mod mcp_tools;
pub mod watch_keys;
