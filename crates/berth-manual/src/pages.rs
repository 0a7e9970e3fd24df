//! Man pages of the three binaries: clap_mangen's sections (name, synopsis,
//! description, options, subcommands) from the definitions the binaries
//! parse with, and the sections a man page reader expects that clap does
//! not know (exit status, environment, files, signals, see also), written
//! here once.

use clap::CommandFactory;
use clap_mangen::Man;
use roff::{bold, roman, Inline, Roff};

use crate::Generated;

pub const MAN_DIR: &str = "packaging/man";
/// The footer's source field: the package and its version.
pub const SOURCE: &str = concat!("berth ", env!("CARGO_PKG_VERSION"));
const MANUAL: &str = "berth Manual";

/// A tagged paragraph: the tag in bold, then its text.
type Entry = (&'static str, &'static str);

const BERTH_EXIT: &[Entry] = &[
    ("0", "Success; for has, the session exists; for wait and send --wait, the pattern matched."),
    ("1", "An error, said on standard error in one line; for has, no such session; for wait, the timeout passed; for validate, the configuration is invalid."),
    ("2", "wait, send --wait and run: no session, permission denied or a bad regular expression; run: the shell is not at a prompt."),
    ("124", "run: the timeout passed (the command keeps running)."),
    ("other", "run: the exit status of the command it ran."),
];

const BERTH_ENV: &[Entry] = &[
    (
        "BERTH_RUNTIME_DIR",
        "The runtime directory holding sessions/NAME.sock and control.sock, as --runtime-dir.",
    ),
    (
        "COMPLETE",
        "Set by the completion scripts when a shell asks berth for completions (bash, zsh, fish).",
    ),
];

const BERTH_FILES: &[Entry] = &[
    ("/run/berth/sessions/NAME.sock", "The socket of each system session (root-owned directory; the file belongs to the session's account and access group)."),
    ("/run/berth/control.sock", "berthd's control socket (ls, reload, new, kill, start, stop, restart)."),
    ("$XDG_RUNTIME_DIR/berth/", "The same for sessions of your own berthd (user mode); without XDG_RUNTIME_DIR (su, sudo, cron, ssh without logind), /run/user/UID/berth when logind made /run/user/UID for you, else /tmp/berth-UID. berth uses a runtime directory or socket only when it, and every directory above it, is yours or root's and writable by no one else (a root-owned sticky directory such as /tmp may be passed through, the socket in it then yours or root's), follows no symbolic link it did not check, and talks only to a socket answered by root, you, or the socket's owner. Anything else is refused with one line naming the path, its owner and what to do."),
    ("/etc/berth/berth.toml", "The system configuration; see berth.toml(5)."),
];

const BERTHD_SIGNALS: &[Entry] = &[
    ("SIGHUP", "Reload the configuration (as systemctl reload berthd and berth reload): added sessions start, removed ones stop, changed ones restart; an invalid configuration changes nothing and is reported."),
    ("SIGTERM, SIGINT", "Stop berthd. Sessions keep running and are adopted when berthd starts again."),
];

/// Why the warning "berthd runs sandboxed ..." is given, and what to do.
const BERTHD_SANDBOX: &[&str] = &[
    "The berthd.service unit shipped with berth confines berthd as far as its work allows: a system call filter, no new privileges, a reduced capability bounding set, a read-only /usr and home directories, a private /tmp, no network (Unix sockets only) and no writable executable memory.",
    "With the systemd backend (the default where systemd runs) every session is a unit of its own, berth-session@NAME.service in berth.slice, with its own sandbox (the sandbox key of berth.toml(5)): it inherits none of berthd's.",
    "With the embedded backend every session host is a child of berthd and inherits its confinement: a CI runner would have no network, a JIT no writable executable memory. berthd cannot lift it, so it logs one warning at start naming what it found. Use backend = \"systemd\", or run berthd with the embedded backend outside that unit (by hand, or in a unit without the sandbox).",
];

/// What berth-web(8) says beyond its flags.
const MCP_SETUP: &[&str] = &[
    "In the MCP client's configuration: {\"mcpServers\": {\"berth\": {\"command\": \"berth\", \"args\": [\"mcp\"]}}}. For another host, over OpenSSH, as the remote user and under that host's access lists: {\"command\": \"ssh\", \"args\": [\"-T\", \"ops@runner-7\", \"berth\", \"mcp\"]}.",
    "Every call goes through the session sockets and access lists as the user who started berth mcp; a session you may not read is not listed, and a refusal is a tool error carrying berth's one-line message. Tools that wait send progress notifications every 5 s to a client that gave a progress token. Only JSON-RPC is written to standard output.",
];

const WEB_DESCRIPTION: &[&str] = &[
    "berthd starts berth-web while [web] is in berth.toml(5): as berthd's child under the embedded backend (restarted when it stops saying it is alive for 20 s), as the transient unit berth-web.service (with a sandbox of its own that allows the network, and a 20 s watchdog) under the systemd backend. It is started as root with --user _berth-web: it binds its listener and reads the TLS key and the metrics token, then becomes that account for good before it reads a request. Started as root without --user, it refuses.",
    "It holds no rights of its own. A person logs in with berth web login (see berth-web(1)), which berthd answers; berthd records the person's live login once the browser brought the code back. Every session it shows, it reaches through the session's socket speaking for that person, and the session host believes it only while root's record of that login lives, lets it only view (and type where allow_input is on), applies its access lists to that person and audits the connection as theirs.",
];

const WEB_FILES: &[Entry] = &[
    ("/run/berth/web/logins/UID", "A live web login, recorded by berthd (root's): hosts believe berth-web speaking for UID only while it exists and has not expired."),
    ("/usr/libexec/berth/berth-web", "The binary berthd starts (unless one is found next to berthd)."),
    ("/usr/share/doc/berth/xterm.js-LICENSE", "The licence of xterm.js, which berth-web serves to browsers."),
];

const BERTHD_FILES: &[Entry] = &[
    ("/etc/berth/berth.toml, /etc/berth/sessions.d/*.toml", "The configuration (system mode); see berth.toml(5)."),
    ("/run/berth/", "Runtime directory: control.sock, sessions/NAME.sock, and the records of the hosts berthd started."),
    ("/var/log/berth/NAME/NAME.log", "Each session's output log (log = \"file\")."),
    ("/var/lib/berth/NAME/", "Home of a service account berthd created (berth-NAME)."),
    ("/var/log/berth/NAME.host.log", "A session host's own log under the embedded backend (its audit trail among it; root only), rotated at the output logs' size and count (copied to .1 and truncated in place)."),
    ("/var/log/berth/.retired/, /var/lib/berth/.retired/", "What an earlier session of the same name left (its output log directory, its home), moved there by berth new so that a new session never shows it; root only."),
    ("/sys/fs/cgroup/.../berth-RUN-NAME", "Embedded backend as root, where cgroup v2 is writable: each session's cgroup (RUN tells this berthd's groups from another's); berth kill ends the whole group. berth status says \"cleanup: cgroup PATH\", or \"best-effort\" where there is none."),
    ("/usr/libexec/berth/berth-session", "The session host berthd starts (unless one is found next to berthd)."),
    ("/usr/libexec/berth/berth-web", "The web dashboard berthd starts while [web] is configured; see berth-web(8)."),
    ("~/.config/berth/berth.toml, $XDG_RUNTIME_DIR/berth/, ~/.local/state/berth/", "The same in user mode."),
];

const BERTHD_ENV: &[Entry] = &[
    ("BERTH_RUNTIME_DIR", "The runtime directory, as --runtime-dir."),
    ("NOTIFY_SOCKET", "Set by systemd: berthd reports READY=1 after its first reconcile, STATUS= with the sessions' states, RELOADING=1 around a reload, and WATCHDOG=1."),
];

const SESSION_ENV: &[Entry] = &[
    ("LISTEN_FDS, LISTEN_PID", "A listening socket passed by systemd or berthd (as --listen-fd)."),
    ("NOTIFY_SOCKET", "Set by systemd: READY=1 once the program runs, and STATUS= (running, restarts, last exit)."),
];

fn entries(roff: &mut Roff, heading: &str, entries: &[Entry]) {
    roff.control("SH", [heading]);
    for (tag, text) in entries {
        roff.control("TP", []);
        roff.text([bold(*tag)]);
        roff.text([roman(*text)]);
    }
}

fn paragraphs(roff: &mut Roff, heading: &str, text: &[&str]) {
    roff.control("SH", [heading]);
    for p in text {
        roff.control("PP", []);
        roff.text([roman(*p)]);
    }
}

fn see_also(roff: &mut Roff, pages: &[String]) {
    roff.control("SH", ["SEE ALSO"]);
    let mut line: Vec<Inline> = Vec::new();
    for (i, page) in pages.iter().enumerate() {
        if i > 0 {
            line.push(roman(", "));
        }
        let (name, section) = page.split_once('(').expect("NAME(SECTION)");
        line.push(bold(name));
        line.push(roman(format!("({section}")));
    }
    roff.text(line);
}

/// clap_mangen's sections (with the list of subcommands when `verbs`),
/// then `extra`, then the version.
fn page(man: Man, verbs: bool, extra: impl FnOnce(&mut Roff)) -> String {
    let mut more = Roff::new();
    extra(&mut more);
    let render = |buf: &mut Vec<u8>| -> std::io::Result<()> {
        man.render_title(buf)?;
        man.render_name_section(buf)?;
        man.render_synopsis_section(buf)?;
        man.render_description_section(buf)?;
        man.render_options_section(buf)?;
        if verbs {
            man.render_subcommands_section(buf)?;
        }
        more.to_writer(buf)?;
        man.render_version_section(buf)
    };
    let mut buf = Vec::new();
    render(&mut buf).expect("writing to a Vec cannot fail");
    let text = String::from_utf8(buf).expect("the pages are UTF-8");
    // Each part starts with the same two-line preamble (how to print an
    // apostrophe): the page needs it once, before the title.
    let (preamble, rest) = text.split_at(text.find(".TH ").unwrap_or(0));
    format!("{preamble}{}", rest.replace(preamble, ""))
}

fn man(cmd: clap::Command, section: &str) -> Man {
    let title = cmd.get_name().to_uppercase();
    Man::new(cmd)
        .title(title)
        .section(section)
        // No date: the page is the same whenever it is built. Written as
        // roff's empty argument, or .TH would take the source for the date.
        .date("\"\"")
        .source(SOURCE)
        .manual(MANUAL)
}

pub fn command_pages() -> Vec<Generated> {
    let mut out = Vec::new();
    let mut berth = berth_cli::complete::command().disable_help_subcommand(true);
    berth.build();
    let verbs: Vec<clap::Command> = berth
        .get_subcommands()
        .filter(|s| !s.is_hide_set())
        .cloned()
        .collect();
    let verb_pages: Vec<String> = verbs
        .iter()
        .map(|v| format!("berth-{}(1)", v.get_name()))
        .collect();

    let mut see: Vec<String> = vec![
        "berthd(8)".into(),
        "berth.toml(5)".into(),
        "berth-session(8)".into(),
    ];
    see.extend(verb_pages.iter().cloned());
    let contents = page(man(berth.clone(), "1"), true, |roff| {
        entries(roff, "EXIT STATUS", BERTH_EXIT);
        entries(roff, "ENVIRONMENT", BERTH_ENV);
        entries(roff, "FILES", BERTH_FILES);
        see_also(roff, &see);
    });
    out.push(Generated {
        path: format!("{MAN_DIR}/berth.1"),
        contents,
    });

    for verb in verbs {
        let name = format!("berth-{}", verb.get_name());
        let verb_name: &'static str = berth_cli::examples::EXAMPLES
            .iter()
            .map(|(v, _)| *v)
            .find(|v| *v == verb.get_name())
            .unwrap_or("");
        let keys = verb.get_name() == "watch";
        let mcp = verb.get_name() == "mcp";
        let mut see = vec!["berth(1)".to_owned(), "berth.toml(5)".to_owned()];
        // `berth web`'s page shares its name with the daemon's: `man
        // berth-web` opens this one first, so it points to the other.
        if verb.get_name() == "web" {
            see.push("berth-web(8)".into());
        }
        let contents = page(man(verb, "1").title(name.to_uppercase()), false, |roff| {
            if keys {
                entries(roff, "KEYS", berth_cli::watch_keys::KEYS);
            }
            if let Some(text) = berth_cli::examples::of(verb_name) {
                let pairs: Vec<Entry> = berth_cli::examples::pairs(text);
                entries(roff, "EXAMPLES", &pairs);
            }
            if mcp {
                let tools: Vec<Entry> = berth_cli::mcp_tools::TOOLS
                    .iter()
                    .map(|(name, _, what)| (*name, *what))
                    .collect();
                entries(roff, "TOOLS", &tools);
                paragraphs(roff, "CONFIGURING A CLIENT", MCP_SETUP);
            }
            see_also(roff, &see);
        });
        out.push(Generated {
            path: format!("{MAN_DIR}/{name}.1"),
            contents,
        });
    }

    let contents = page(man(berthd::args::Args::command(), "8"), false, |roff| {
        entries(roff, "SIGNALS", BERTHD_SIGNALS);
        paragraphs(roff, "SANDBOX", BERTHD_SANDBOX);
        entries(roff, "ENVIRONMENT", BERTHD_ENV);
        entries(roff, "FILES", BERTHD_FILES);
        see_also(
            roff,
            &[
                "berth(1)".into(),
                "berth.toml(5)".into(),
                "berth-session(8)".into(),
                "systemctl(1)".into(),
            ],
        );
    });
    out.push(Generated {
        path: format!("{MAN_DIR}/berthd.8"),
        contents,
    });

    let contents = page(
        man(berth_session::args::Args::command(), "8"),
        false,
        |roff| {
            entries(roff, "ENVIRONMENT", SESSION_ENV);
            see_also(
                roff,
                &[
                    "berthd(8)".into(),
                    "berth(1)".into(),
                    "berth.toml(5)".into(),
                ],
            );
        },
    );
    out.push(Generated {
        path: format!("{MAN_DIR}/berth-session.8"),
        contents,
    });

    let contents = page(man(berth_web::args::Args::command(), "8"), false, |roff| {
        paragraphs(roff, "HOW IT RUNS", WEB_DESCRIPTION);
        entries(roff, "FILES", WEB_FILES);
        see_also(
            roff,
            &[
                "berthd(8)".into(),
                "berth-web(1)".into(),
                "berth.toml(5)".into(),
            ],
        );
    });
    out.push(Generated {
        path: format!("{MAN_DIR}/berth-web.8"),
        contents,
    });
    out
}
