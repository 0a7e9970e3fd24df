//! What berthd remembers about each host it started
//! (`RUNTIME/hosts/NAME.json`), so that a new berthd adopts the hosts a
//! previous one left running instead of starting their programs twice.

use std::path::PathBuf;

use anyhow::Context;
use berth_config::paths;
use serde::{Deserialize, Serialize};

/// One host's record.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, Default)]
pub struct Record {
    /// 0 while no host runs.
    pub host_pid: u32,
    /// The host's flags and program: compared with the config on reload.
    pub args: Vec<String>,
    /// Started by `berth new`, not the config.
    pub adhoc: bool,
    /// Unit-level settings it was started with (see `host_cmd::unit_settings`).
    #[serde(default)]
    pub unit: Vec<String>,
    /// The session's `user`, when one was given (an ad-hoc session's
    /// `--user`): the account is not always in `args` (under systemd it is
    /// the unit's User=).
    #[serde(default)]
    pub user: Option<String>,
}

/// The records directory of one runtime directory.
#[derive(Debug, Clone)]
pub struct Records {
    pub runtime: PathBuf,
}

impl Records {
    fn path(&self, name: &str) -> PathBuf {
        paths::hosts_dir(&self.runtime).join(format!("{name}.json"))
    }

    /// Writes `name`'s record whole (a crash leaves the old one or the new).
    pub fn save(&self, name: &str, record: &Record) -> anyhow::Result<()> {
        let path = self.path(name);
        let tmp = path.with_extension("json.tmp");
        std::fs::write(&tmp, serde_json::to_vec(record)?)
            .with_context(|| format!("failed to write {}", tmp.display()))?;
        std::fs::rename(&tmp, &path)
            .with_context(|| format!("failed to write {}", path.display()))?;
        Ok(())
    }

    /// Removes the record and the socket of a session that is gone.
    pub fn forget(&self, name: &str) {
        let _ = std::fs::remove_file(self.path(name));
        let _ = std::fs::remove_file(paths::session_socket(&self.runtime, name));
    }

    /// Every record file: session name, path, and the record if it parses;
    /// sorted by name.
    fn scan(&self) -> Vec<(String, PathBuf, Option<Record>)> {
        paths::named_files(&paths::hosts_dir(&self.runtime), ".json")
            .into_iter()
            .map(|(name, path)| {
                let record = std::fs::read(&path)
                    .ok()
                    .and_then(|b| serde_json::from_slice(&b).ok());
                (name, path, record)
            })
            .collect()
    }

    /// Every readable record, whether or not its host runs.
    pub fn all(&self) -> Vec<(String, Record)> {
        self.scan()
            .into_iter()
            .filter_map(|(name, _, r)| Some((name, r?)))
            .collect()
    }

    /// What a new berthd takes over: records whose host passes `alive`;
    /// records whose host is not the one recorded (or none was, berthd
    /// died while starting it) but whose socket, in berthd's own runtime
    /// directory, is answered by a host that says its pid (`answering`);
    /// and ad-hoc sessions whose host died while berthd was down, with
    /// `host_pid` 0, to be started again (an ad-hoc session lives until
    /// someone kills it). The others, and unreadable ones, are removed.
    pub fn adoptable(
        &self,
        alive: impl Fn(u32) -> bool,
        answering: impl Fn(&str) -> Option<u32>,
    ) -> Vec<(String, Record)> {
        let mut out = Vec::new();
        for (name, path, record) in self.scan() {
            let Some(mut r) = record else {
                let _ = std::fs::remove_file(&path);
                continue;
            };
            if r.host_pid != 0 && alive(r.host_pid) {
                out.push((name, r));
                continue;
            }
            match answering(&name).filter(|&pid| alive(pid)) {
                Some(pid) => {
                    r.host_pid = pid;
                    let _ = self.save(&name, &r);
                    out.push((name, r));
                }
                None if r.adhoc => {
                    r.host_pid = 0;
                    out.push((name, r));
                }
                None => self.forget(&name),
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_host_without_its_record_is_adopted_by_its_socket_and_dead_adhoc_ones_stay() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(paths::hosts_dir(dir.path())).unwrap();
        let records = Records {
            runtime: dir.path().to_owned(),
        };
        // Saved before its host existed (berthd died right after it).
        let starting = Record {
            host_pid: 0,
            args: vec!["--name".into(), "starting".into()],
            ..Default::default()
        };
        records.save("starting", &starting).unwrap();
        let adhoc = Record {
            host_pid: 20,
            adhoc: true,
            ..Default::default()
        };
        records.save("adhoc", &adhoc).unwrap();
        records
            .save(
                "gone",
                &Record {
                    host_pid: 21,
                    ..Default::default()
                },
            )
            .unwrap();
        let answering = |name: &str| (name == "starting").then_some(30);
        let adopted = records.adoptable(|pid| pid == 30, answering);
        assert_eq!(
            adopted,
            vec![
                (
                    "adhoc".to_owned(),
                    Record {
                        host_pid: 0,
                        ..adhoc
                    }
                ),
                (
                    "starting".to_owned(),
                    Record {
                        host_pid: 30,
                        ..starting
                    }
                ),
            ]
        );
        // The pid found is remembered; the dead declared one is forgotten.
        assert_eq!(records.all().len(), 2);
        assert!(records
            .all()
            .iter()
            .any(|(n, r)| n == "starting" && r.host_pid == 30));
    }

    #[test]
    fn records_round_trip_and_dead_or_torn_ones_are_dropped() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(paths::hosts_dir(dir.path())).unwrap();
        let records = Records {
            runtime: dir.path().to_owned(),
        };
        let a = Record {
            host_pid: 10,
            args: vec!["--name".into(), "a".into()],
            ..Default::default()
        };
        records.save("a", &a).unwrap();
        records
            .save(
                "b",
                &Record {
                    host_pid: 11,
                    ..a.clone()
                },
            )
            .unwrap();
        std::fs::write(paths::hosts_dir(dir.path()).join("torn.json"), b"{\"host").unwrap();
        assert_eq!(records.all().len(), 2);
        assert_eq!(
            records.adoptable(|pid| pid == 10, |_| None),
            vec![("a".to_owned(), a.clone())]
        );
        // The dead host's record and the torn one are gone.
        assert_eq!(records.all().len(), 1);
        records.forget("a");
        assert!(records.all().is_empty());
    }
}
