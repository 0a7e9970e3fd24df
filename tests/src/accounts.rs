//! Throwaway accounts for root-only tests: created at the start (after
//! removing any left by an interrupted run), removed on drop however the
//! test ends, with the homes and groups they brought.

use std::process::Command;

pub struct Throwaway {
    users: Vec<String>,
    groups: Vec<String>,
}

impl Throwaway {
    /// Creates system groups `groups`, then users `(name, supplementary
    /// groups)` without homes.
    pub fn create(users: &[(&str, &[&str])], groups: &[&str]) -> Self {
        let guard = Throwaway {
            users: users.iter().map(|(u, _)| (*u).to_owned()).collect(),
            groups: groups.iter().map(|g| (*g).to_owned()).collect(),
        };
        guard.remove();
        for g in groups {
            run("groupadd", &["--system", g]);
        }
        for (u, member_of) in users {
            let mut args = vec!["--system", "--no-create-home"];
            let joined = member_of.join(",");
            if !member_of.is_empty() {
                args.extend(["-G", &joined]);
            }
            args.push(u);
            run("useradd", &args);
        }
        guard
    }

    /// Creates those of system groups `groups` this machine lacks, and
    /// removes only those on drop (a machine's own group is left alone).
    pub fn groups_if_missing(groups: &[&str]) -> Self {
        let missing: Vec<String> = groups
            .iter()
            .filter(|g| nix::unistd::Group::from_name(g).ok().flatten().is_none())
            .map(|g| (*g).to_owned())
            .collect();
        for g in &missing {
            run("groupadd", &["--system", g]);
        }
        Throwaway {
            users: Vec::new(),
            groups: missing,
        }
    }

    /// Also removes `user` on drop (a service account berth creates).
    pub fn also_remove(&mut self, user: &str) {
        self.users.push(user.to_owned());
    }

    fn remove(&self) {
        for u in &self.users {
            // userdel refuses an account with processes left.
            let _ = Command::new("pkill").args(["-KILL", "-u", u]).output();
            let _ = Command::new("userdel").arg(u).output();
        }
        for g in &self.groups {
            let _ = Command::new("groupdel").arg(g).output();
        }
    }
}

impl Drop for Throwaway {
    fn drop(&mut self) {
        self.remove();
    }
}

fn run(cmd: &str, args: &[&str]) {
    let out = Command::new(cmd).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{cmd} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}
