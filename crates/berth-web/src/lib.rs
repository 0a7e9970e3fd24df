//! berth-web's command line (args.rs), shared with berth-manual. The
//! server itself is the binary (main.rs and its modules).

pub mod args;
