//! Which sessions the dashboard shows: the names and globs given, a
//! declared dashboard's, or every session with a socket; looked up again
//! each tick, so sessions that appear are shown. With `-H`, the sessions
//! of those hosts instead, as their berthds list them (asked again every
//! [`REMOTE_EVERY`] on a thread of its own, so the view never waits on
//! ssh); tiles of several hosts are titled `host:name`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{anyhow, bail};
use berth_cli::locate;
use berth_config::dashboard::{select, Dashboard, Layout, Selector};
use berth_config::paths;

use super::feed::Place;
use super::Args;
use crate::remote::Remote;

/// How often other hosts are asked for their sessions again.
const REMOTE_EVERY: Duration = Duration::from_secs(3);

/// The sessions each other host listed last (none asked: empty).
type Listed = Arc<Mutex<Vec<(&'static Remote, Vec<String>)>>>;

pub struct Selection {
    selectors: Vec<Selector>,
    runtime: Vec<PathBuf>,
    remote: Option<Listed>,
}

impl Selection {
    /// Reads the arguments (and the dashboard they name); `args.layout`
    /// becomes the dashboard's when not given.
    pub fn new(args: &Args, runtime: Option<&Path>) -> anyhow::Result<(Self, Layout)> {
        let mut layout = args.layout;
        let selectors = match &args.dashboard {
            Some(name) => {
                let d = dashboard(name, args.config.as_deref())?;
                layout = layout.or(Some(d.layout));
                d.sessions
            }
            None => args
                .sessions
                .iter()
                .map(|s| Selector::parse(s).map_err(|m| anyhow!("{m}")))
                .collect::<anyhow::Result<_>>()?,
        };
        let remote = match crate::remote::hosts() {
            [] => None,
            _ => Some(listed()?),
        };
        let runtime = match remote {
            Some(_) => Vec::new(),
            None => locate::runtime_dirs(runtime)?,
        };
        let this = Self {
            selectors,
            runtime,
            remote,
        };
        Ok((this, layout.unwrap_or_default()))
    }

    /// Every session name known now (on this host, or the others).
    fn known(&self) -> Vec<String> {
        match &self.remote {
            None => locate::all(&self.runtime)
                .into_iter()
                .map(|(n, _)| n)
                .collect(),
            Some(listed) => {
                let listed = listed.lock().unwrap_or_else(|e| e.into_inner());
                let mut all: Vec<String> = listed.iter().flat_map(|(_, n)| n.clone()).collect();
                all.sort();
                all.dedup();
                all
            }
        }
    }

    /// A name given on the command line that no session has is a typo,
    /// said before the screen is taken (a glob may match sessions that
    /// appear later, a dashboard's names are the config's).
    pub fn check_names(&self, args: &Args) -> anyhow::Result<()> {
        if args.dashboard.is_some() {
            return Ok(());
        }
        let known = self.known();
        for s in &self.selectors {
            if let Selector::Name(n) = s {
                if !known.contains(n) {
                    let known: Vec<&str> = known.iter().map(String::as_str).collect();
                    bail!("{}", berth_config::values::no_session(n, &known));
                }
            }
        }
        Ok(())
    }

    /// What was asked for, for "nothing matches" lines.
    pub fn describe(&self) -> String {
        if self.selectors.is_empty() {
            return "(any session)".into();
        }
        let all: Vec<&str> = self.selectors.iter().map(Selector::as_str).collect();
        all.join(" ")
    }

    /// The sessions to show, in order, and every socket path found. Names
    /// given literally are shown even without a socket (as gone), so a
    /// session that stops does not vanish from the view.
    pub fn sessions(&self) -> (Vec<String>, Vec<(String, Place)>) {
        if let Some(listed) = &self.remote {
            return self.remote_sessions(listed);
        }
        let mut found: BTreeMap<String, PathBuf> = locate::all(&self.runtime).into_iter().collect();
        for s in &self.selectors {
            if let Selector::Name(n) = s {
                let first = self
                    .runtime
                    .first()
                    .map(PathBuf::as_path)
                    .unwrap_or(Path::new("."));
                found
                    .entry(n.clone())
                    .or_insert_with(|| paths::session_socket(first, n));
            }
        }
        let names: Vec<String> = found.keys().cloned().collect();
        let shown: Vec<String> = select(&self.selectors, &names)
            .into_iter()
            .map(str::to_owned)
            .collect();
        let places = shown
            .iter()
            .map(|n| (n.clone(), Place::Local(found[n].clone())))
            .collect();
        (shown, places)
    }

    /// [`Selection::sessions`] of other hosts: host by host, in the order
    /// given; with one host, names given literally are shown even when it
    /// does not list them (as gone), as on this host.
    fn remote_sessions(&self, listed: &Listed) -> (Vec<String>, Vec<(String, Place)>) {
        let listed = listed.lock().unwrap_or_else(|e| e.into_inner());
        let fleet = crate::remote::fleet();
        let mut shown = Vec::new();
        let mut places = Vec::new();
        for (remote, names) in listed.iter() {
            let mut names = names.clone();
            if !fleet {
                for s in &self.selectors {
                    if let Selector::Name(n) = s {
                        if !names.contains(n) {
                            names.push(n.clone());
                        }
                    }
                }
                names.sort();
            }
            for name in select(&self.selectors, &names) {
                let title = match fleet {
                    true => format!("{}:{name}", remote.label),
                    false => name.to_owned(),
                };
                shown.push(title.clone());
                places.push((title, Place::Remote(remote, name.to_owned())));
            }
        }
        (shown, places)
    }
}

/// Every other host's sessions, asked now and then every [`REMOTE_EVERY`]
/// on a thread of its own. A host that cannot be asked keeps the list it
/// last gave (its tiles say what is wrong with each session).
fn listed() -> anyhow::Result<Listed> {
    let first = crate::fleet::sessions_everywhere();
    if let [(r, Err(e))] = &first[..] {
        // The one host asked cannot be: said before the screen is taken.
        bail!("{}: {e:#}", r.label);
    }
    let listed: Listed = Arc::new(Mutex::new(names(first)));
    let updated = Arc::clone(&listed);
    std::thread::spawn(move || loop {
        std::thread::sleep(REMOTE_EVERY);
        let now = names(crate::fleet::sessions_everywhere());
        let mut was = updated.lock().unwrap_or_else(|e| e.into_inner());
        for (i, (_, names)) in now.into_iter().enumerate() {
            if let Some(slot) = was.get_mut(i) {
                if !names.is_empty() {
                    slot.1 = names;
                }
            }
        }
    });
    Ok(listed)
}

/// The names each host listed (none where it could not be asked).
fn names(
    found: Vec<(
        &'static Remote,
        anyhow::Result<Vec<berth_proto::SessionSummary>>,
    )>,
) -> Vec<(&'static Remote, Vec<String>)> {
    found
        .into_iter()
        .map(|(r, rows)| {
            let names = rows
                .map(|rows| rows.into_iter().map(|s| s.name).collect())
                .unwrap_or_default();
            (r, names)
        })
        .collect()
}

/// The dashboard `name` from `config`, else the user's config, then the
/// system's: the first that declares it.
fn dashboard(name: &str, config: Option<&Path>) -> anyhow::Result<Dashboard> {
    let files = match config {
        Some(c) => vec![c.to_owned()],
        None => {
            let mut v = vec![paths::config_file(paths::Mode::User)];
            v.push(paths::config_file(paths::Mode::System));
            v.dedup();
            v.retain(|p| p.exists());
            v
        }
    };
    if files.is_empty() {
        bail!(
            "no dashboard {name:?}: no config file at {} or {}; declare [dashboard.{name}] there, or pass --config",
            paths::config_file(paths::Mode::User).display(),
            paths::config_file(paths::Mode::System).display()
        );
    }
    let mut declared = Vec::new();
    for file in &files {
        let checks = berth_config::Checks::new(paths::mode_for_config(file));
        let config = berth_config::load(file, checks).map_err(|errors| {
            anyhow!(
                "{} (first: {}); see berth validate --config {}",
                berth_config::errors_summary(errors.len()).replace("; nothing was changed", ""),
                errors[0],
                file.display()
            )
        })?;
        if let Some(d) = config.dashboards.get(name) {
            return Ok(d.clone());
        }
        declared.extend(config.dashboards.into_keys());
    }
    let files: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
    let known = if declared.is_empty() {
        "it declares none".to_owned()
    } else {
        format!("declared: {}", declared.join(", "))
    };
    bail!(
        "no dashboard {name:?} in {} ({known}); declare [dashboard.{name}] sessions = [...]",
        files.join(" or ")
    )
}
