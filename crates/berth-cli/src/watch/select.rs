//! Which sessions the dashboard shows: the names and globs given, a
//! declared dashboard's, or every session with a socket; looked up again
//! each tick, so sessions that appear are shown.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail};
use berth_cli::locate;
use berth_config::dashboard::{select, Dashboard, Layout, Selector};
use berth_config::paths;

use super::Args;

pub struct Selection {
    selectors: Vec<Selector>,
    runtime: Vec<PathBuf>,
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
        let this = Self {
            selectors,
            runtime: locate::runtime_dirs(runtime)?,
        };
        Ok((this, layout.unwrap_or_default()))
    }

    /// A name given on the command line that no session has is a typo,
    /// said before the screen is taken (a glob may match sessions that
    /// appear later, a dashboard's names are the config's).
    pub fn check_names(&self, args: &Args) -> anyhow::Result<()> {
        if args.dashboard.is_some() {
            return Ok(());
        }
        let known: Vec<String> = locate::all(&self.runtime)
            .into_iter()
            .map(|(n, _)| n)
            .collect();
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
    pub fn sessions(&self) -> (Vec<String>, Vec<(String, PathBuf)>) {
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
        let paths = shown
            .iter()
            .map(|n| (n.clone(), found[n].clone()))
            .collect();
        (shown, paths)
    }
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
