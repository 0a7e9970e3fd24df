//! The tools `berth mcp` serves, as its man page lists them and as its
//! `--read-only` chooses them: one list, checked against the server's own
//! router by a test in the binary (src/mcp/tools.rs).

/// (name, whether it only reads, what it does).
pub const TOOLS: &[(&str, bool, &str)] = &[
    ("list_sessions", true, "The sessions you may read, as berth ls --json lists them."),
    ("session_status", true, "A session's status, as berth status --json."),
    ("run_command", false, "Type a command at a session's shell prompt and answer exactly its output and exit status (timeout in seconds, 30 by default; max_lines, 200; interrupt_on_timeout)."),
    ("command_result", true, "The running command's result once it ends (wait in seconds), or the last finished one's, as berth result."),
    ("send_keys", false, "Type tmux key names and words (literal; enter), as berth send; answers the cursor's line (seq)."),
    ("paste_text", false, "Paste text as one bracketed paste where the program enabled it, then Enter as a key of its own."),
    ("capture", true, "Screen and history as numbered lines (since a seq; start and end in tmux numbering; the last max_lines)."),
    ("wait_for_text", true, "Wait until a line matches a regular expression (timeout in seconds; since; screen), as berth wait."),
    ("interrupt", false, "Stop the running command (C-c, then SIGTERM and SIGKILL to its process group) and answer once the prompt is back, as berth interrupt."),
    ("logs", true, "The end of the output log, escapes removed (lines, 100 by default)."),
    ("new_session", false, "Start an ad-hoc session, as berth new (root and berthd's admins)."),
    ("kill_session", false, "Stop and forget a session, as berth kill (its operators)."),
    ("restart_session", false, "Restart a session's program, as berth restart (its operators)."),
];
