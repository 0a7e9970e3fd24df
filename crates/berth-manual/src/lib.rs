//! berth's manual, generated: the man pages and the shells' completion
//! scripts, rendered from the clap definitions the binaries parse with and
//! from the config reference (config/README.md).
//!
//! The output is committed under `packaging/` (so `cargo deb` packages
//! plain files and a reader can review them); `cargo run -p berth-manual`
//! rewrites it, and `tests/current.rs` fails while it is stale, the way
//! rust-analyzer keeps its generated code true.

mod completions;
mod markdown;
mod pages;

/// One generated file: its path under the repository's root, and its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Generated {
    pub path: String,
    pub contents: String,
}

/// The repository's root (this crate sits in crates/berth-manual).
pub fn repo_root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Every generated file, in a stable order. `config_reference` is the text
/// of config/README.md.
pub fn generate(config_reference: &str) -> Vec<Generated> {
    let mut out = pages::command_pages();
    out.push(Generated {
        path: format!("{}/berth.toml.5", pages::MAN_DIR),
        contents: markdown::config_page(config_reference, pages::SOURCE),
    });
    out.extend(completions::scripts());
    out
}
