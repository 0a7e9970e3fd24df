//! `berth mcp` driven by the official MCP Python SDK, as an agent's client
//! drives it: both ways of connecting (the initialize handshake and
//! discovery), the tools and their annotations, real bash and zsh sessions
//! (statuses, exact output, `cd` persisting, several lines, a timeout then
//! the result, an interrupt, captures and waits from a cursor, progress),
//! the lifecycle tools through berthd, and what an observer, a stranger and
//! `--read-only` / `--sessions` are allowed. Every wait has a deadline.

use std::path::Path;

use berth_e2e::mcp::{python, McpClient};
use berth_e2e::shells::{installed, shell_session};
use berth_e2e::*;
use serde_json::{json, Value};

const ALL_TOOLS: [&str; 13] = [
    "capture",
    "command_result",
    "interrupt",
    "kill_session",
    "list_sessions",
    "logs",
    "new_session",
    "paste_text",
    "restart_session",
    "run_command",
    "send_keys",
    "session_status",
    "wait_for_text",
];
const READING: [&str; 6] = [
    "capture",
    "command_result",
    "list_sessions",
    "logs",
    "session_status",
    "wait_for_text",
];

fn berth_mcp(args: &[&str]) -> Vec<String> {
    let mut argv = vec![bin("berth").display().to_string(), "mcp".into()];
    argv.extend(args.iter().map(|a| a.to_string()));
    argv
}

fn start(python: &Path, mode: &str, server: &[String], runtime: &Path) -> McpClient {
    let server: Vec<&str> = server.iter().map(String::as_str).collect();
    McpClient::start(python, mode, &server, &[("BERTH_RUNTIME_DIR", runtime)])
}

fn names(tools: &[Value]) -> Vec<String> {
    let mut names: Vec<String> = tools
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_owned())
        .collect();
    names.sort();
    names
}

/// run_command's answer for `command` in session `work`.
fn run(c: &mut McpClient, command: &str, extra: Value) -> Value {
    let mut args = json!({"session": "work", "command": command});
    for (k, v) in extra.as_object().unwrap() {
        args[k] = v.clone();
    }
    c.ok("run_command", args)
}

fn agent_session(python: &Path, shell: &str, mode: &str) {
    let env = Env::new();
    let _host = shell_session(&env, "work", shell, &[]);
    let mut c = start(python, mode, &berth_mcp(&[]), env.runtime());
    let info = c.ask(json!({"op": "info"}));
    assert_eq!(info["server"]["name"], "berth", "{info}");
    assert_eq!(info["tools"], true);

    // The tools, their hints and schemas.
    let tools = c.tools();
    assert_eq!(names(&tools), ALL_TOOLS);
    for t in &tools {
        let name = t["name"].as_str().unwrap();
        let reads = READING.contains(&name);
        assert_eq!(
            t["annotations"]["readOnlyHint"].as_bool().unwrap_or(false),
            reads,
            "{t}"
        );
        if !reads {
            assert!(t["annotations"]["destructiveHint"].is_boolean(), "{t}");
        }
        assert_eq!(t["output_schema"]["type"], "object", "{t}");
        assert_eq!(t["input_schema"]["type"], "object", "{t}");
    }

    // Statuses and exact output.
    for (command, status, output) in [
        ("printf 'a\\nb\\n'", 0, "a\nb\n"),
        ("echo no >&2; false", 1, "no\n"),
        ("(exit 3)", 3, ""),
        ("no-such-command-berth 2>/dev/null", 127, ""),
    ] {
        let r = run(&mut c, command, json!({}));
        assert_eq!(
            (r["exit_status"].clone(), r["output"].clone()),
            (json!(status), json!(output)),
            "{shell}: {command}: {r}"
        );
        assert_eq!(r["timed_out"], false);
    }
    // State persists between calls.
    run(&mut c, "cd /tmp && export GREETING=hello", json!({}));
    let r = run(&mut c, "pwd; echo $GREETING", json!({}));
    assert_eq!(r["output"], "/tmp\nhello\n", "{shell}");
    // Several lines: one paste, one result.
    let r = run(&mut c, "for i in 1 2; do\n  echo n$i\ndone", json!({}));
    assert_eq!(r["output"], "n1\nn2\n", "{shell}");
    // Bounded output: the first and last lines, the count left out.
    let r = run(&mut c, "seq 1 500", json!({"max_lines": 4}));
    assert_eq!(r["truncated"], 496);
    assert!(r["output"]
        .as_str()
        .unwrap()
        .starts_with("1\n2\n[... 496 lines left out"));

    // A timeout, then the result.
    let r = run(
        &mut c,
        "echo begun; sleep 2; echo ended",
        json!({"timeout": 0.5}),
    );
    assert_eq!(
        (
            r["timed_out"].clone(),
            r["exit_status"].clone(),
            r["output"].clone()
        ),
        (json!(true), json!(124), json!("begun\n")),
        "{shell}: {r}"
    );
    let r = c.ok("command_result", json!({"session": "work", "wait": 30}));
    assert_eq!(
        (
            r["output"].clone(),
            r["exit_status"].clone(),
            r["timed_out"].clone()
        ),
        (json!("begun\nended\n"), json!(0), json!(false)),
        "{shell}: {r}"
    );

    // cat waits on the terminal: interrupted, the prompt back.
    let r = run(&mut c, "cat", json!({"timeout": 0.5}));
    assert_eq!(r["timed_out"], true);
    let done = c.ok("interrupt", json!({"session": "work"}));
    assert_eq!(done["steps"], json!(["typed C-c"]), "{done}");
    assert_eq!(done["result"]["status"], 130);
    assert_eq!(done["at_prompt"], true);

    // Keys from a cursor: wait for what they print, capture exactly it.
    let typed = c.ok(
        "send_keys",
        json!({"session": "work", "keys": ["echo marker-$((6*7))"], "enter": true}),
    );
    let seq = typed["seq"].as_u64().unwrap();
    let w = c.ok(
        "wait_for_text",
        json!({"session": "work", "pattern": "^marker-42$", "since": seq, "timeout": 20}),
    );
    assert_eq!(
        (w["matched"].clone(), w["text"].clone()),
        (json!(true), json!("marker-42"))
    );
    let view = c.ok("capture", json!({"session": "work", "since": seq}));
    let texts: Vec<&str> = view["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["text"].as_str().unwrap())
        .collect();
    assert!(texts.contains(&"marker-42"), "{texts:?}");
    assert!(view["lines"][0]["seq"].as_u64().unwrap() > seq);
    // Pasted text, then Enter as its own key.
    let typed = c.ok(
        "paste_text",
        json!({"session": "work", "text": "echo pasted-$((1+1))"}),
    );
    let w = c.ok(
        "wait_for_text",
        json!({"session": "work", "pattern": "^pasted-2$", "since": typed["seq"], "timeout": 20}),
    );
    assert_eq!(w["matched"], true);
    // Nothing matches in time: said, not an error.
    let w = c.ok(
        "wait_for_text",
        json!({"session": "work", "pattern": "never-printed-berth", "timeout": 0.3}),
    );
    assert_eq!(
        (w["matched"].clone(), w["text"].clone()),
        (json!(false), Value::Null)
    );

    // Bad input: one line that says what to do, and the session unharmed.
    assert_eq!(
        c.refused(
            "run_command",
            json!({"session": "work", "command": "true", "timeout": -1})
        ),
        "timeout must be a number of seconds from 0 to 3600, not -1"
    );
    assert_eq!(
        c.refused("capture", json!({"session": "work", "max_lines": 0})),
        "max_lines must be at least 1"
    );
    assert_eq!(
        c.refused("session_status", json!({"session": "wokr"})),
        "no session \"wokr\" (did you mean \"work\"? see berth ls)"
    );
    assert_eq!(
        c.refused(
            "wait_for_text",
            json!({"session": "work", "pattern": "(", "timeout": 1})
        ),
        "bad regular expression \"(\": unclosed group"
    );
    let r = run(&mut c, "echo still fine", json!({}));
    assert_eq!(r["output"], "still fine\n");
    let status = c.ok("session_status", json!({"session": "work"}));
    assert_eq!(status["shell"]["at_prompt"], true, "{status}");

    // A long wait tells a client that asked how long it has waited.
    let answer = c.ask(json!({
        "op": "call", "tool": "run_command", "progress": true,
        "args": {"session": "work", "command": "sleep 6; echo slow"},
    }));
    assert_eq!(answer["structured"]["output"], "slow\n", "{answer}");
    let progress = answer["progress"].as_array().unwrap();
    assert!(!progress.is_empty(), "{answer}");
    assert_eq!(
        progress[0]["message"],
        "waiting for the command in session work: 5s"
    );
    assert_eq!(progress[0]["total"], 30.0);
}

#[test]
fn an_agent_drives_bash_and_zsh_through_berth_mcp() {
    let Some(python) = python("an_agent_drives_bash_and_zsh_through_berth_mcp") else {
        return;
    };
    // bash through the initialize handshake, zsh through discovery.
    agent_session(&python, "bash", "legacy");
    if installed("zsh", "an_agent_drives_bash_and_zsh_through_berth_mcp") {
        agent_session(&python, "zsh", "auto");
    }
}

#[test]
fn berth_mcp_creates_restarts_and_kills_sessions_through_berthd() {
    let Some(python) = python("berth_mcp_creates_restarts_and_kills_sessions_through_berthd")
    else {
        return;
    };
    let d = berth_e2e::daemon::Daemon::start("");
    let mut c = start(&python, "auto", &berth_mcp(&[]), &d.runtime());
    let done = c.ok(
        "new_session",
        json!({"session": "agent", "command": ["bash"]}),
    );
    assert_eq!(done, json!({"session": "agent", "done": "created"}));
    // Right away: the first prompt is waited for.
    let r = c.ok(
        "run_command",
        json!({"session": "agent", "command": "echo first", "timeout": 30}),
    );
    assert_eq!(r["output"], "first\n");
    let listed = c.ok("list_sessions", json!({}));
    assert_eq!(listed["sessions"][0]["name"], "agent", "{listed}");
    assert_eq!(
        c.refused(
            "new_session",
            json!({"session": "agent", "command": ["bash"]})
        ),
        "session \"agent\" already exists (see berth ls)"
    );
    let pid = c.ok("session_status", json!({"session": "agent"}))["pid"].clone();
    assert_eq!(
        c.ok("restart_session", json!({"session": "agent"})),
        json!({"session": "agent", "done": "restarted"})
    );
    let r = c.ok(
        "run_command",
        json!({"session": "agent", "command": "echo again", "timeout": 30}),
    );
    assert_eq!(r["output"], "again\n");
    assert_ne!(
        c.ok("session_status", json!({"session": "agent"}))["pid"],
        pid
    );
    assert_eq!(
        c.ok("kill_session", json!({"session": "agent"})),
        json!({"session": "agent", "done": "killed"})
    );
    assert_eq!(c.ok("list_sessions", json!({})), json!({"sessions": []}));
}

#[test]
fn an_observer_gets_reading_tools_and_refusals_and_never_sees_an_unreadable_session() {
    let test = "an_observer_gets_reading_tools_and_refusals";
    if skip_unless_root(test, &["/usr/sbin/runuser"]) {
        return;
    }
    let Some(python) = python(test) else { return };
    use std::os::unix::fs::PermissionsExt;
    let env = Env::new();
    let _watched = shell_session(&env, "watched", "bash", &["--observer", "nobody"]);
    let _secret = shell_session(&env, "secret", "bash", &[]);
    for dir in [env.runtime().to_owned(), env.runtime().join("sessions")] {
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    for s in ["watched", "secret"] {
        std::fs::set_permissions(env.socket(s), std::fs::Permissions::from_mode(0o666)).unwrap();
    }
    let as_nobody = |args: &[&str]| {
        let mut argv = vec![
            "/usr/sbin/runuser".to_owned(),
            "-u".into(),
            "nobody".into(),
            "--".into(),
        ];
        argv.extend(berth_mcp(args));
        argv
    };
    let mut c = start(&python, "legacy", &as_nobody(&[]), env.runtime());
    // Only what nobody may read is listed.
    let listed = c.ok("list_sessions", json!({}));
    let rows = listed["sessions"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "{listed}");
    assert_eq!(rows[0]["name"], "watched");
    // Reading works; typing and running are refused with the CLI's line.
    let view = c.ok("capture", json!({"session": "watched"}));
    assert_eq!(view["session"], "watched");
    for (tool, args, what) in [
        (
            "run_command",
            json!({"session": "watched", "command": "touch /tmp/berth-mcp-pwned"}),
            "run commands in it",
        ),
        (
            "send_keys",
            json!({"session": "watched", "keys": ["touch /tmp/berth-mcp-pwned", "Enter"]}),
            "send input",
        ),
        (
            "paste_text",
            json!({"session": "watched", "text": "touch /tmp/berth-mcp-pwned"}),
            "send input",
        ),
        (
            "interrupt",
            json!({"session": "watched"}),
            "interrupt its command",
        ),
        (
            "restart_session",
            json!({"session": "watched"}),
            "restart it",
        ),
    ] {
        assert_eq!(
            c.refused(tool, args),
            format!("permission denied: nobody is an observer of watched and cannot {what}"),
            "{tool}"
        );
    }
    let uid = berth_e2e::uid("nobody");
    assert_eq!(
        c.refused("session_status", json!({"session": "secret"})),
        format!("permission denied: nobody (uid {uid}) is not an operator or observer of session secret")
    );
    assert!(!Path::new("/tmp/berth-mcp-pwned").exists());
    drop(c);

    // --read-only: only the reading tools exist.
    let mut c = start(&python, "auto", &as_nobody(&["--read-only"]), env.runtime());
    assert_eq!(names(&c.tools()), READING);
    let answer = c.call(
        "run_command",
        json!({"session": "watched", "command": "id"}),
    );
    assert!(
        answer["is_error"] == true || answer["protocol_error"].is_string(),
        "{answer}"
    );
    drop(c);

    // --sessions: the others do not exist here, even for root.
    let mut c = start(
        &python,
        "auto",
        &berth_mcp(&["--sessions", "wat*"]),
        env.runtime(),
    );
    let listed = c.ok("list_sessions", json!({}));
    assert_eq!(listed["sessions"].as_array().unwrap().len(), 1, "{listed}");
    assert_eq!(
        c.refused("capture", json!({"session": "secret"})),
        "no session \"secret\" (see berth ls)"
    );
}
