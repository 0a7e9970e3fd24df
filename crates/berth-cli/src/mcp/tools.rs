//! The tools `berth mcp` serves, named as agents know them from tmux MCP
//! servers. Each checks its arguments, runs its call (calls.rs) on a
//! blocking thread, and answers structured content with an output schema;
//! a refusal is a tool error carrying the CLI's one-line message. Long
//! waits send progress notifications when the client asked for them, and
//! end when the client cancels.

use std::sync::Arc;
use std::time::{Duration, Instant};

use berth_proto::keys::Typing;
use berth_proto::scripting::{Interrupted, WaitRequest};
use berth_proto::Status;
use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{ProgressNotificationParam, ServerCapabilities, ServerConfig};
use rmcp::service::RequestContext;
use rmcp::{tool, tool_handler, tool_router, Json, RoleServer, ServerHandler};

use super::calls::{self, Scope};
use super::shapes::*;
use crate::scripting::CaptureView;

/// How often a long wait tells a client that asked for progress.
const PROGRESS_EVERY: Duration = Duration::from_secs(5);

/// A tool's answer: structured content, or a refusal's one line. (Tools
/// spell it out: the macro derives the output schema from the written type.)
type Answer<T> = Result<Json<T>, String>;

#[derive(Clone)]
pub struct Berth {
    tool_router: ToolRouter<Self>,
    scope: Arc<Scope>,
}

impl Berth {
    pub fn new(scope: Scope, read_only: bool) -> Self {
        let mut tool_router = Self::tool_router();
        if read_only {
            // All `--read-only` serves: the tools that change nothing.
            for (name, reads, _) in berth_cli::mcp_tools::TOOLS {
                if !reads {
                    tool_router.remove_route(name);
                }
            }
        }
        Self {
            tool_router,
            scope: Arc::new(scope),
        }
    }

    /// Runs `call` on a blocking thread with this server's scope; while it
    /// waits (at most `wait`, which progress counts against), a client
    /// that sent a progress token hears how long it has waited, and a
    /// client that cancels gets its answer at once.
    async fn call<T: Send + 'static>(
        &self,
        ctx: &RequestContext<RoleServer>,
        host: Option<String>,
        what: String,
        wait: Option<Duration>,
        call: impl FnOnce(&Scope) -> anyhow::Result<T> + Send + 'static,
    ) -> Answer<T> {
        let scope = self.scope.on(host.as_deref())?;
        self.call_in(ctx, scope, what, wait, call).await
    }

    /// [`Berth::call`] in `scope` (every host's, for `list_sessions`).
    async fn call_in<T: Send + 'static>(
        &self,
        ctx: &RequestContext<RoleServer>,
        scope: Scope,
        what: String,
        wait: Option<Duration>,
        call: impl FnOnce(&Scope) -> anyhow::Result<T> + Send + 'static,
    ) -> Answer<T> {
        let work = tokio::task::spawn_blocking(move || call(&scope));
        tokio::pin!(work);
        let token = wait.and(ctx.meta.get_progress_token());
        let started = Instant::now();
        let mut tick =
            tokio::time::interval_at(tokio::time::Instant::now() + PROGRESS_EVERY, PROGRESS_EVERY);
        loop {
            tokio::select! {
                done = &mut work => {
                    return match done {
                        Ok(Ok(value)) => Ok(Json(value)),
                        Ok(Err(e)) => Err(format!("{e:#}")),
                        Err(e) => Err(format!("the call failed: {e}")),
                    };
                }
                _ = ctx.ct.cancelled() => {
                    return Err("cancelled by the client (a command it started goes on; command_result collects it)".into());
                }
                _ = tick.tick(), if token.is_some() => {
                    let waited = started.elapsed().as_secs_f64();
                    let mut note = ProgressNotificationParam::new(token.clone().expect("ticking only with one"), waited.floor())
                        .with_message(format!("{what}: {}s", waited as u64));
                    if let Some(total) = wait {
                        note = note.with_total(total.as_secs_f64().ceil());
                    }
                    let _ = ctx.peer.notify_progress(note).await;
                }
            }
        }
    }
}

#[tool_router]
impl Berth {
    /// The sessions you may read, with their state, program's pid, user,
    /// restarts, clients and foreground command.
    #[tool(annotations(read_only_hint = true, open_world_hint = false))]
    async fn list_sessions(
        &self,
        _: Parameters<Nothing>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Sessions>, String> {
        let every_host = Scope::clone(&self.scope);
        self.call_in(&ctx, every_host, String::new(), None, |s| s.list())
            .await
    }

    /// A session's status: state, pid, command, restarts, last exit,
    /// clients, size, foreground process, and what its shell's marks say
    /// (at the prompt, the running command, the last status).
    #[tool(annotations(read_only_hint = true, open_world_hint = false))]
    async fn session_status(
        &self,
        Parameters(a): Parameters<SessionArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Status>, String> {
        self.call(&ctx, a.host.clone(), String::new(), None, move |s| {
            s.status(&a.session)
        })
        .await
    }

    /// Run a command at the session's shell prompt (bash, zsh or fish) and
    /// answer exactly its output and exit status, without polling. State
    /// persists between calls (cd, variables). If the wait ends first, the
    /// output so far with timed_out: the command goes on, command_result
    /// collects it. A shell that exits or is replaced is reported in
    /// shell_exited.
    #[tool(annotations(destructive_hint = true, open_world_hint = true))]
    async fn run_command(
        &self,
        Parameters(a): Parameters<RunCommandArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<CommandOutcome>, String> {
        let timeout = seconds(a.timeout, DEFAULT_RUN_TIMEOUT_S, "timeout")?;
        let max = lines(a.max_lines, DEFAULT_MAX_LINES, "max_lines")?;
        let stop = a.interrupt_on_timeout.unwrap_or(false);
        let what = format!("waiting for the command in session {}", a.session);
        self.call(&ctx, a.host.clone(), what, Some(timeout), move |s| {
            s.run(&a.session, a.command, timeout, max, stop)
        })
        .await
    }

    /// The running command's result once it ends (waiting at most `wait`
    /// seconds), its output so far while it runs (timed_out), or the last
    /// finished command's result.
    #[tool(annotations(read_only_hint = true, open_world_hint = false))]
    async fn command_result(
        &self,
        Parameters(a): Parameters<CommandResultArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<CommandOutcome>, String> {
        let wait = seconds(a.wait, 0.0, "wait")?;
        let max = lines(a.max_lines, DEFAULT_MAX_LINES, "max_lines")?;
        let what = format!("waiting for the command in session {}", a.session);
        self.call(&ctx, a.host.clone(), what, Some(wait), move |s| {
            s.result(&a.session, wait, max)
        })
        .await
    }

    /// Type keys into the session: tmux key names (Enter, C-c, Up, F1...),
    /// other words as text. Answers seq, the line the cursor was on, for
    /// wait_for_text and capture since.
    #[tool(annotations(destructive_hint = true, open_world_hint = true))]
    async fn send_keys(
        &self,
        Parameters(a): Parameters<SendKeysArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Typed>, String> {
        if a.keys.is_empty() && a.enter != Some(true) {
            return Err("send_keys needs keys (or enter: true)".into());
        }
        let literal = a.literal.unwrap_or(false);
        self.call(&ctx, a.host.clone(), String::new(), None, move |s| {
            let mut typed = None;
            if !a.keys.is_empty() {
                typed = Some(s.send(&a.session, a.keys, Typing::Keys { literal })?);
            }
            if a.enter == Some(true) {
                let enter = s.send(
                    &a.session,
                    vec!["Enter".into()],
                    Typing::Keys { literal: false },
                )?;
                typed = Some(typed.unwrap_or(enter));
            }
            Ok(typed.expect("keys or enter"))
        })
        .await
    }

    /// Paste text into the session's program: one bracketed paste where it
    /// enabled them (a REPL or editor takes it as text, not keys), then
    /// Enter as a key of its own unless enter is false.
    #[tool(annotations(destructive_hint = true, open_world_hint = true))]
    async fn paste_text(
        &self,
        Parameters(a): Parameters<PasteTextArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Typed>, String> {
        self.call(&ctx, a.host.clone(), String::new(), None, move |s| {
            let typed = s.send(&a.session, vec![a.text], Typing::Paste)?;
            if a.enter.unwrap_or(true) {
                s.send(
                    &a.session,
                    vec!["Enter".into()],
                    Typing::Keys { literal: false },
                )?;
            }
            Ok(typed)
        })
        .await
    }

    /// The session's screen and history as numbered lines of text (wrapped
    /// rows joined): the screen by default; since a seq for exactly what
    /// came after it; start/end in tmux numbering (negative: history).
    #[tool(annotations(read_only_hint = true, open_world_hint = false))]
    async fn capture(
        &self,
        Parameters(a): Parameters<CaptureArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<CaptureView>, String> {
        let max = lines(a.max_lines, DEFAULT_MAX_LINES, "max_lines")?;
        let req = calls::bounds(a.start, a.end, a.since);
        self.call(&ctx, a.host.clone(), String::new(), None, move |s| {
            s.capture(&a.session, req, max)
        })
        .await
    }

    /// Wait until a line of output matches a regular expression (plain
    /// text, wrapped rows joined), without polling: only output after the
    /// call, or after since, or what is on screen too.
    #[tool(annotations(read_only_hint = true, open_world_hint = false))]
    async fn wait_for_text(
        &self,
        Parameters(a): Parameters<WaitForTextArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<WaitOutcome>, String> {
        let timeout = seconds(a.timeout, DEFAULT_RUN_TIMEOUT_S, "timeout")?;
        let what = format!("waiting for {:?} in session {}", a.pattern, a.session);
        let req = WaitRequest {
            pattern: a.pattern,
            since: a.since,
            screen: a.screen.unwrap_or(false),
            timeout_ms: Some(timeout.as_millis() as u64),
        };
        self.call(&ctx, a.host.clone(), what, Some(timeout), move |s| {
            s.wait(&a.session, req)
        })
        .await
    }

    /// Interrupt the command running at the session's shell and answer
    /// once the prompt is back: C-c, then SIGTERM, then SIGKILL to the
    /// command's process group (never the shell), saying what it took.
    #[tool(annotations(destructive_hint = true, open_world_hint = false))]
    async fn interrupt(
        &self,
        Parameters(a): Parameters<InterruptArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Interrupted>, String> {
        let grace = seconds(a.grace, 2.0, "grace")?;
        let what = format!("interrupting the command in session {}", a.session);
        let wait = crate::scripting::interrupt_wait(grace);
        self.call(&ctx, a.host.clone(), what, Some(wait), move |s| {
            s.interrupt(&a.session, grace)
        })
        .await
    }

    /// The end of the session's output log (escapes removed), through its
    /// host: no file permissions needed.
    #[tool(annotations(read_only_hint = true, open_world_hint = false))]
    async fn logs(
        &self,
        Parameters(a): Parameters<LogsArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<LogText>, String> {
        let n = lines(a.lines, DEFAULT_LOG_LINES, "lines")?;
        self.call(&ctx, a.host.clone(), String::new(), None, move |s| {
            s.logs(&a.session, n)
        })
        .await
    }

    /// Start a new session running a program (like tmux new -d), with the
    /// config's defaults; you become its operator. Root or berthd's admins only.
    #[tool(annotations(
        destructive_hint = false,
        idempotent_hint = false,
        open_world_hint = true
    ))]
    async fn new_session(
        &self,
        Parameters(a): Parameters<NewSessionArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Done>, String> {
        if a.command.is_empty() {
            return Err("new_session needs a command, e.g. [\"bash\"]".into());
        }
        self.call(&ctx, a.host.clone(), String::new(), None, move |s| {
            s.new_session(a.session, a.command, a.user)
        })
        .await
    }

    /// Stop a session's program and host and forget the session (a
    /// declared one comes back on reload). Its operators only.
    #[tool(annotations(destructive_hint = true, open_world_hint = false))]
    async fn kill_session(
        &self,
        Parameters(a): Parameters<SessionArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Done>, String> {
        self.call(&ctx, a.host.clone(), String::new(), None, move |s| {
            s.kill(a.session)
        })
        .await
    }

    /// Restart the session's program now (its screen stays). Its operators only.
    #[tool(annotations(destructive_hint = true, open_world_hint = false))]
    async fn restart_session(
        &self,
        Parameters(a): Parameters<SessionArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Done>, String> {
        self.call(&ctx, a.host.clone(), String::new(), None, move |s| {
            s.restart(a.session)
        })
        .await
    }
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for Berth {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(rmcp::model::Implementation::new(
                "berth",
                env!("CARGO_PKG_VERSION"),
            ))
            .with_instructions(
                "Terminal sessions on this host, as berth runs them: run_command types a command at a session's shell prompt and answers exactly its output and exit status; wait_for_text and capture read what programs print; every call is checked against the session's access lists as the user who started berth mcp.",
            )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope() -> Scope {
        Scope {
            runtime: None,
            only: Vec::new(),
            remote: None,
        }
    }

    #[test]
    fn the_router_serves_exactly_the_listed_tools_with_their_hints() {
        let tools = Berth::new(scope(), false).tool_router.list_all();
        let mut served: Vec<(String, bool)> = tools
            .iter()
            .map(|t| {
                let reads = t.annotations.as_ref().and_then(|a| a.read_only_hint);
                (t.name.to_string(), reads == Some(true))
            })
            .collect();
        served.sort();
        let mut listed: Vec<(String, bool)> = berth_cli::mcp_tools::TOOLS
            .iter()
            .map(|(n, r, _)| (n.to_string(), *r))
            .collect();
        listed.sort();
        assert_eq!(served, listed);
        for t in &tools {
            assert!(t.output_schema.is_some(), "{} has no output schema", t.name);
        }
        let read_only = Berth::new(scope(), true).tool_router.list_all();
        assert!(read_only
            .iter()
            .all(|t| t.annotations.as_ref().and_then(|a| a.read_only_hint) == Some(true)));
        assert_eq!(read_only.len(), 6);
    }
}
