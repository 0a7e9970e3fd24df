//! Another host's berth over OpenSSH (`-H ssh://[user@]host[:port]`,
//! `BERTH_HOST`), as `docker -H ssh://` does: the local ssh client runs
//! `berth dial-stdio` on the far side, which joins its standard input
//! and output to a session's or berthd's socket there. The far host sees
//! an ordinary local client with the ssh login user's credentials, and
//! its own access lists decide; OpenSSH does authentication, known_hosts,
//! agents, ProxyJump and connection reuse. berth listens on no network.
//!
//! Here the ssh child's pipes are joined to one end of a socket pair, and
//! the rest of the CLI gets the other end: a stream like a local socket's
//! (timeouts, a second handle for input), so every verb works unchanged.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};

use anyhow::{anyhow, bail, Context as _};

/// The hosts of this run (`-H`, `--hosts`): none is this one.
static HOSTS: OnceLock<Hosts> = OnceLock::new();

#[derive(Debug, Default)]
struct Hosts {
    all: Vec<Remote>,
    /// Given as a fleet (`--hosts`, or `-H` more than once): listings say
    /// which host each line is from.
    fleet: bool,
}

/// ssh's command and options, as `GIT_SSH_COMMAND`: run by `sh -c`.
pub const SSH_COMMAND_ENV: &str = "BERTH_SSH_COMMAND";
/// The berth to run on the far side (default `berth`, from its PATH).
pub const REMOTE_BERTH_ENV: &str = "BERTH_REMOTE_BERTH";

/// `[user@]host[:port]` from an `ssh://` URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Remote {
    /// What ssh is given: `host` or `user@host`.
    pub destination: String,
    pub port: Option<u16>,
    /// The URL, for messages.
    pub url: String,
    /// What listings call it: its name in the hosts file, else the URL
    /// without `ssh://`.
    pub label: String,
}

impl Remote {
    pub fn parse(url: &str) -> anyhow::Result<Self> {
        let bad = || {
            anyhow!("-H wants ssh://[user@]host[:port] or a name from {}, not {url:?} (as docker -H and podman --url take it)", named_hosts_file().display())
        };
        let rest = url.strip_prefix("ssh://").ok_or_else(bad)?;
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        if rest.is_empty() || rest.contains(['/', ' ', '?', '#']) {
            return Err(bad());
        }
        let (destination, port) = match rest.rsplit_once(':') {
            Some((d, p)) if !d.ends_with(']') || p.parse::<u16>().is_ok() => {
                let port = p.parse::<u16>().map_err(|_| bad())?;
                (d, Some(port))
            }
            _ => (rest, None),
        };
        let host = destination.rsplit('@').next().unwrap_or_default();
        if host.is_empty() || host.starts_with('-') || destination.starts_with('-') {
            return Err(bad());
        }
        Ok(Self {
            destination: destination.to_owned(),
            port,
            url: url.to_owned(),
            label: rest.to_owned(),
        })
    }
}

/// `$XDG_CONFIG_HOME/berth/hosts` (else `~/.config/berth/hosts`): named
/// hosts, one a line, `NAME ssh://[user@]host[:port]`; `#` comments.
pub fn named_hosts_file() -> std::path::PathBuf {
    let config = berth_config::paths::config_file(berth_config::paths::Mode::User);
    config.with_file_name("hosts")
}

/// The hosts named in [`named_hosts_file`] (none when it does not exist).
fn named_hosts() -> anyhow::Result<Vec<(String, String)>> {
    let path = named_hosts_file();
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => bail!("cannot read {}: {e}", path.display()),
    };
    // It says where ssh connects: a file others could have written is not read.
    let uid = nix::unistd::geteuid().as_raw();
    if let Err(Some(why)) = berth_config::trust::check(&path, uid, berth_config::trust::Last::File)
    {
        bail!("{}", berth_config::paths::refusal(&path, &why));
    }
    let mut out = Vec::new();
    for (i, line) in meaningful_lines(&text) {
        let mut words = line.split_whitespace();
        match (words.next(), words.next(), words.next()) {
            (Some(name), Some(url), None) => out.push((name.to_owned(), url.to_owned())),
            _ => bail!(
                "{}:{}: expected NAME ssh://[user@]host[:port], got {line:?}",
                path.display(),
                i + 1
            ),
        }
    }
    Ok(out)
}

/// The lines of a hosts file that say something (`#` starts a comment),
/// trimmed, with their index.
fn meaningful_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines()
        .map(|l| l.split('#').next().unwrap_or("").trim())
        .enumerate()
        .filter(|(_, l)| !l.is_empty())
}

/// A host as given: an `ssh://` URL, or a name from the hosts file.
fn resolve(given: &str, named: &[(String, String)]) -> anyhow::Result<Remote> {
    if given.contains("://") {
        return Remote::parse(given);
    }
    match named.iter().find(|(n, _)| n == given) {
        Some((name, url)) => Ok(Remote {
            label: name.clone(),
            ..Remote::parse(url)?
        }),
        None => Remote::parse(given),
    }
}

/// Sets the hosts of this run (once, at start): each `-H`, then each line
/// of `--hosts FILE` (a URL or a name, `#` comments).
pub fn set(given: &[String], file: Option<&std::path::Path>) -> anyhow::Result<()> {
    let mut words: Vec<String> = given.iter().filter(|h| !h.is_empty()).cloned().collect();
    if let Some(file) = file {
        let text = std::fs::read_to_string(file)
            .with_context(|| format!("cannot read the hosts in {}", file.display()))?;
        words.extend(meaningful_lines(&text).map(|(_, l)| l.to_owned()));
        if words.is_empty() {
            bail!(
                "{} names no host (one a line: ssh://[user@]host[:port] or a name)",
                file.display()
            );
        }
    }
    let named = match words.iter().any(|w| !w.contains("://")) {
        true => named_hosts()?,
        false => Vec::new(),
    };
    let all = words
        .iter()
        .map(|w| resolve(w, &named))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let fleet = all.len() > 1 || file.is_some();
    let _ = HOSTS.set(Hosts { all, fleet });
    Ok(())
}

/// The host of this run, when it is another (and only one).
pub fn host() -> Option<&'static Remote> {
    match &HOSTS.get()?.all[..] {
        [one] => Some(one),
        _ => None,
    }
}

/// Every host of this run.
pub fn hosts() -> &'static [Remote] {
    HOSTS.get().map_or(&[], |h| &h.all)
}

/// Whether this run asks a fleet (several hosts, or `--hosts`).
pub fn fleet() -> bool {
    HOSTS.get().is_some_and(|h| h.fleet)
}

/// What to join on the far side.
pub enum Target<'a> {
    Session(&'a str),
    Control,
}

/// A connection made through ssh: the stream, and how to learn why it
/// ended when it ended before the far side spoke.
pub struct Dialed {
    pub stream: UnixStream,
    /// The relay's verdict once ssh ended (see [`relay_back`]).
    verdict: std::sync::mpsc::Receiver<Option<String>>,
}

/// How long a failed connection waits for ssh to end and say why.
const VERDICT_WAIT: std::time::Duration = std::time::Duration::from_secs(3);

impl Dialed {
    /// Why the far side never spoke (ssh's or the far berth's last words);
    /// `None` if it did speak, or ssh did not end within [`VERDICT_WAIT`]
    /// of our end closing.
    pub fn failure(self) -> Option<String> {
        let _ = self.stream.shutdown(std::net::Shutdown::Both);
        self.verdict.recv_timeout(VERDICT_WAIT).ok().flatten()
    }
}

/// A connection to `target` on `remote`, through ssh.
pub fn dial(remote: &Remote, target: Target) -> anyhow::Result<Dialed> {
    let berth = std::env::var(REMOTE_BERTH_ENV).unwrap_or_else(|_| "berth".to_owned());
    // The far side's command line, as one string (ssh hands it to the
    // login shell): only checked names and our own words go in it.
    let mut remote_cmd = format!("{} dial-stdio", quote(&berth));
    match target {
        Target::Session(name) => {
            berth_config::values::check_session_name(name).map_err(|e| anyhow!("{e}"))?;
            remote_cmd.push_str(&format!(" --session {name}"));
        }
        Target::Control => remote_cmd.push_str(" --control"),
    }
    let mut cmd = match std::env::var(SSH_COMMAND_ENV) {
        Ok(custom) if !custom.trim().is_empty() => {
            let mut c = Command::new("sh");
            c.arg("-c").arg(format!("{custom} \"$@\"")).arg(&custom);
            c
        }
        _ => Command::new("ssh"),
    };
    cmd.arg("-T");
    if let Some(port) = remote.port {
        cmd.args(["-p", &port.to_string()]);
    }
    cmd.arg("--")
        .arg(&remote.destination)
        .arg(remote_cmd)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd
        .spawn()
        .with_context(|| format!("cannot run ssh to reach {}", remote.url))?;
    let (ours, theirs) = UnixStream::pair().context("cannot make a socket pair")?;
    let to_ssh = child.stdin.take().expect("piped");
    let from_ssh = child.stdout.take().expect("piped");
    let mut said = child.stderr.take().expect("piped");
    // What ssh (or the far side) says on stderr, for the one line below.
    let stderr = Arc::new(Mutex::new(Vec::new()));
    let (said_all, stderr_done) = std::sync::mpsc::channel::<()>();
    {
        let stderr = Arc::clone(&stderr);
        quiet_thread(move || {
            let _done = said_all;
            let mut buf = [0u8; 1024];
            while let Ok(n) = said.read(&mut buf) {
                if n == 0 {
                    break;
                }
                let mut all = stderr.lock().unwrap_or_else(|e| e.into_inner());
                // Bounded: the last words are what explain.
                if all.len() < 16 * 1024 {
                    all.extend_from_slice(&buf[..n]);
                }
            }
        });
    }
    let down = theirs.try_clone().context("cannot clone a socket")?;
    quiet_thread(move || pump(down, to_ssh));
    let (said, verdict) = std::sync::mpsc::channel();
    quiet_thread(move || {
        let _ = said.send(relay_back(child, from_ssh, theirs, (stderr, stderr_done)));
    });
    Ok(Dialed {
        stream: ours,
        verdict,
    })
}

/// A relay thread that takes no signals: the verbs wait for theirs
/// (SIGWINCH, SIGTERM...) on threads of their own, and a signal the kernel
/// gave one of these instead would be lost (or, for SIGTERM, end berth
/// without restoring the terminal).
fn quiet_thread(f: impl FnOnce() + Send + 'static) {
    std::thread::spawn(move || {
        use nix::sys::signal::{pthread_sigmask, SigSet, SigmaskHow};
        let _ = pthread_sigmask(SigmaskHow::SIG_BLOCK, Some(&SigSet::all()), None);
        f()
    });
}

/// Our end's bytes to ssh's stdin, until either closes.
fn pump(mut from: UnixStream, mut to: std::process::ChildStdin) {
    let mut buf = vec![0u8; 64 * 1024];
    while let Ok(n) = from.read(&mut buf) {
        if n == 0 || to.write_all(&buf[..n]).is_err() {
            break;
        }
    }
}

/// ssh's stdout to our end; when ssh ended having relayed nothing, why,
/// in one line.
fn relay_back(
    mut child: Child,
    mut from: std::process::ChildStdout,
    mut to: UnixStream,
    (stderr, stderr_done): (Arc<Mutex<Vec<u8>>>, std::sync::mpsc::Receiver<()>),
) -> Option<String> {
    let mut buf = vec![0u8; 64 * 1024];
    let mut any = false;
    while let Ok(n) = from.read(&mut buf) {
        if n == 0 || to.write_all(&buf[..n]).is_err() {
            break;
        }
        any = true;
    }
    let status = child.wait().ok();
    let _ = to.shutdown(std::net::Shutdown::Both);
    if any {
        return None;
    }
    // ssh's stderr ends with ssh, unless a connection master it started
    // holds it: wait for its end a moment, no longer.
    let _ = stderr_done.recv_timeout(std::time::Duration::from_secs(1));
    let said = stderr.lock().unwrap_or_else(|e| e.into_inner());
    let said = String::from_utf8_lossy(&said);
    let last = said
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .trim();
    Some(match status.and_then(|s| s.code()) {
        Some(127) => format!("berth is not installed there (set {REMOTE_BERTH_ENV} to its path if it is not on the PATH of ssh logins): {last}"),
        Some(255) => format!("ssh could not connect: {last}"),
        // The far berth's own one line (it refused, or found no session).
        _ => match last.strip_prefix("berth: ") {
            Some(line) => line.to_owned(),
            None if last.is_empty() => "the far side ended the connection".to_owned(),
            None => format!("the far side ended the connection: {last}"),
        },
    })
}

/// `s` quoted for the far side's shell where it needs it.
fn quote(s: &str) -> String {
    match s
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "/._-+".contains(c))
    {
        true => s.to_owned(),
        false => format!("'{}'", s.replace('\'', r"'\''")),
    }
}

/// `berth dial-stdio`: joins standard input and output to `stream` until
/// either side closes (the far end of `-H`).
pub fn dial_stdio(stream: UnixStream) -> anyhow::Result<u8> {
    let mut up = stream.try_clone().context("cannot clone the socket")?;
    let writer = std::thread::spawn(move || {
        let mut stdin = std::io::stdin().lock();
        let _ = std::io::copy(&mut stdin, &mut up);
        let _ = up.shutdown(std::net::Shutdown::Write);
    });
    let mut down = stream;
    let mut stdout = std::io::stdout().lock();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match down.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        if stdout
            .write_all(&buf[..n])
            .and_then(|()| stdout.flush())
            .is_err()
        {
            break;
        }
    }
    drop(writer);
    Ok(0)
}

/// Refuses what only makes sense on this host.
pub fn refuse_local_only(socket: bool) -> anyhow::Result<()> {
    if socket && !hosts().is_empty() {
        bail!("--socket names a socket on this host; with -H, name the session");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_as_docker_takes_them() {
        let r = Remote::parse("ssh://ops@runner-7:2222").unwrap();
        assert_eq!(
            (r.destination.as_str(), r.port, r.label.as_str()),
            ("ops@runner-7", Some(2222), "ops@runner-7:2222")
        );
        let r = Remote::parse("ssh://runner-7").unwrap();
        assert_eq!((r.destination.as_str(), r.port), ("runner-7", None));
        for bad in [
            "ssh://",
            "ssh://-oProxyCommand=x",
            "ssh://a:b",
            "ssh://h/path",
            "tcp://h",
        ] {
            assert!(
                Remote::parse(bad)
                    .unwrap_err()
                    .to_string()
                    .ends_with(&format!(
                        ", not {bad:?} (as docker -H and podman --url take it)"
                    )),
                "{bad}"
            );
        }
    }

    #[test]
    fn a_name_is_looked_up_and_keeps_its_name() {
        let named = vec![("r7".to_owned(), "ssh://ops@runner-7".to_owned())];
        let r = resolve("r7", &named).unwrap();
        assert_eq!(
            (r.destination.as_str(), r.label.as_str()),
            ("ops@runner-7", "r7")
        );
        assert!(resolve("r8", &named).is_err());
    }

    #[test]
    fn the_far_sides_words_are_quoted_where_needed() {
        assert_eq!(quote("/usr/bin/berth"), "/usr/bin/berth");
        assert_eq!(quote("/opt/my berth"), "'/opt/my berth'");
    }
}
