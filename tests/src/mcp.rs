//! An MCP client no one here wrote: the official MCP Python SDK, driven
//! line by line through `tests/mcp/client.py`, talking to `berth mcp`.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::{json, Value};

/// How long one request to the client may take (a tool call's own wait
/// is at most a few seconds in the tests).
const ANSWER_DEADLINE: Duration = Duration::from_secs(90);

/// The Python with the `mcp` package: `BERTH_MCP_PYTHON`, else the
/// virtual environment `.ci/run` makes. `None` (said, or a failure under
/// BERTH_REQUIRE_ROOT_TESTS=1) when there is none.
pub fn python(test: &str) -> Option<PathBuf> {
    let python = std::env::var_os("BERTH_MCP_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/opt/berth-test-venv/bin/python"));
    let has_sdk = Command::new(&python)
        .args(["-c", "import mcp"])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if has_sdk {
        return Some(python);
    }
    assert!(
        std::env::var("BERTH_REQUIRE_ROOT_TESTS").as_deref() != Ok("1"),
        "{test}: no Python with the MCP SDK at {} (set BERTH_MCP_PYTHON)",
        python.display()
    );
    eprintln!("SKIPPED {test}: no Python with the MCP SDK (set BERTH_MCP_PYTHON)");
    None
}

pub struct McpClient {
    child: Child,
    stdin: Option<ChildStdin>,
    answers: mpsc::Receiver<String>,
}

impl McpClient {
    /// Starts the SDK's client (`mode`: "legacy" for the initialize
    /// handshake, "auto" for discovery), which starts `server` with this
    /// process's environment plus `env`.
    pub fn start(python: &Path, mode: &str, server: &[&str], env: &[(&str, &Path)]) -> Self {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("mcp/client.py");
        let mut cmd = Command::new(python);
        cmd.arg(script).arg(mode).arg("--").args(server);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start the MCP client");
        let stdin = child.stdin.take().unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, answers) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    return;
                }
            }
        });
        Self {
            child,
            stdin: Some(stdin),
            answers,
        }
    }

    pub fn ask(&mut self, request: Value) -> Value {
        let stdin = self.stdin.as_mut().expect("the client is running");
        writeln!(stdin, "{request}").expect("write to the MCP client");
        let line = self
            .answers
            .recv_timeout(ANSWER_DEADLINE)
            .unwrap_or_else(|e| panic!("no answer to {request}: {e}"));
        serde_json::from_str(&line).expect("one JSON answer")
    }

    /// A tool call's answer: {"is_error", "structured", "text", "progress"}.
    pub fn call(&mut self, tool: &str, args: Value) -> Value {
        self.ask(json!({"op": "call", "tool": tool, "args": args}))
    }

    /// A tool call that must succeed: its structured content.
    pub fn ok(&mut self, tool: &str, args: Value) -> Value {
        let answer = self.call(tool, args.clone());
        assert_eq!(answer["is_error"], false, "{tool} {args}: {answer}");
        answer["structured"].clone()
    }

    /// A tool call that must be refused: its one-line message.
    pub fn refused(&mut self, tool: &str, args: Value) -> String {
        let answer = self.call(tool, args.clone());
        assert_eq!(answer["is_error"], true, "{tool} {args}: {answer}");
        answer["text"].as_str().unwrap().to_owned()
    }

    pub fn tools(&mut self) -> Vec<Value> {
        let answer = self.ask(json!({"op": "list_tools"}));
        answer["tools"].as_array().expect("tools").clone()
    }
}

impl Drop for McpClient {
    fn drop(&mut self) {
        // End of input: the client closes the server's stdin and waits
        // for it, as an agent's client does; killed if it does not end.
        self.stdin.take();
        let ended = crate::wait_until(Duration::from_secs(10), || {
            self.child.try_wait().ok().flatten()
        });
        if ended.is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
