//! berthd's command line (`args`), shared with the manual; the daemon
//! itself is the binary (main.rs).

pub mod args;
