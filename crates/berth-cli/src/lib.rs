//! The `berth` command's grammar and its Tab completion, as a library: the
//! binary parses with it, and `berth-manual` renders the man pages and the
//! shells' completion scripts from the same definitions.

pub mod cli;
pub mod complete;
