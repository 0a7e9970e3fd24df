//! `berth mcp`: the Model Context Protocol over stdio, for agents (Claude
//! Code, Cursor, Codex, any MCP client). It is a client of the session
//! and control sockets like every other verb, as the user who started it;
//! stdout carries only JSON-RPC, and anything else goes to stderr.

mod calls;
mod shapes;
mod tools;

use anyhow::Context;
use rmcp::ServiceExt;

/// Tool calls that may wait at once (each on a thread of its own).
const CONCURRENT_CALLS: usize = 32;

pub struct Options {
    pub read_only: bool,
    /// Names or globs; empty: every session the caller may read.
    pub sessions: Vec<String>,
    pub runtime: Option<std::path::PathBuf>,
}

pub fn serve(opts: Options) -> anyhow::Result<u8> {
    let only = opts
        .sessions
        .iter()
        .map(|g| glob::Pattern::new(g).map_err(|e| anyhow::anyhow!("bad session glob {g:?}: {e}")))
        .collect::<anyhow::Result<Vec<_>>>()?;
    // A planted runtime directory is refused before serving anything
    // (with -H the far host's own berth checks its own).
    if crate::remote::host().is_none() {
        berth_cli::locate::runtime_dirs(opts.runtime.as_deref())?;
    }
    let scope = calls::Scope {
        runtime: opts.runtime,
        only,
        remote: None,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .max_blocking_threads(CONCURRENT_CALLS)
        .enable_all()
        .build()
        .context("cannot start berth mcp's runtime")?;
    runtime.block_on(async move {
        let server = tools::Berth::new(scope, opts.read_only)
            .serve(rmcp::transport::stdio())
            .await
            .context("the MCP client did not complete the handshake")?;
        server
            .waiting()
            .await
            .context("the MCP connection failed")?;
        anyhow::Ok(())
    })?;
    Ok(0)
}
