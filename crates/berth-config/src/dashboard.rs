//! Views of several sessions: the layouts `berth watch` (and the web page)
//! tile them in, and the selections (`NAME` or `GLOB`) that say which
//! sessions a view shows. A `[dashboard.NAME]` table names one such view.

use std::path::PathBuf;

/// How tiles share the screen. The named ones are tmux's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Layout {
    /// A grid whose column count shows most of each session.
    #[default]
    Auto,
    /// Side by side, equal widths.
    EvenHorizontal,
    /// Stacked, equal heights.
    EvenVertical,
    /// The first session across the top, the rest side by side below.
    MainHorizontal,
    /// The first session on the left, the rest stacked on the right.
    MainVertical,
    /// Rows and columns as even as they go, columns first (tmux's `tiled`).
    Tiled,
}

impl Layout {
    /// Every layout, in the order a key cycles through them.
    pub const ALL: [Layout; 6] = [
        Layout::Auto,
        Layout::Tiled,
        Layout::EvenHorizontal,
        Layout::EvenVertical,
        Layout::MainVertical,
        Layout::MainHorizontal,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Layout::Auto => "auto",
            Layout::EvenHorizontal => "even-horizontal",
            Layout::EvenVertical => "even-vertical",
            Layout::MainHorizontal => "main-horizontal",
            Layout::MainVertical => "main-vertical",
            Layout::Tiled => "tiled",
        }
    }

    /// The layout after this one in [`Layout::ALL`].
    pub fn next(self) -> Layout {
        let at = Self::ALL.iter().position(|l| *l == self).unwrap_or(0);
        Self::ALL[(at + 1) % Self::ALL.len()]
    }
}

impl std::str::FromStr for Layout {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|l| l.as_str() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = Self::ALL.iter().map(|l| l.as_str()).collect();
                format!("bad layout {s:?}: expected {}", names.join(", "))
            })
    }
}

/// One entry of a selection: a session's name, or a glob over names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selector {
    Name(String),
    Glob(glob::Pattern),
}

impl Selector {
    /// Reads `ci-runner` or `ci-*` (`*`, `?` and `[...]` make a glob).
    pub fn parse(s: &str) -> Result<Self, String> {
        if !s.contains(['*', '?', '[']) {
            crate::values::check_session_name(s)?;
            return Ok(Selector::Name(s.to_owned()));
        }
        glob::Pattern::new(s)
            .map(Selector::Glob)
            .map_err(|e| format!("bad session pattern {s:?}: {}", e.msg))
    }

    pub fn matches(&self, name: &str) -> bool {
        match self {
            Selector::Name(n) => n == name,
            Selector::Glob(p) => p.matches(name),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            Selector::Name(n) => n,
            Selector::Glob(p) => p.as_str(),
        }
    }
}

/// Which of `names` a selection shows, in the selection's order (each
/// entry's matches by name), each once. An empty selection shows all.
pub fn select<'a>(selectors: &[Selector], names: &'a [String]) -> Vec<&'a str> {
    if selectors.is_empty() {
        return names.iter().map(String::as_str).collect();
    }
    let mut out: Vec<&str> = Vec::new();
    for s in selectors {
        let mut found: Vec<&str> = names
            .iter()
            .map(String::as_str)
            .filter(|n| s.matches(n) && !out.contains(n))
            .collect();
        found.sort_unstable();
        out.extend(found);
    }
    out
}

/// `[dashboard.NAME]`: a declared view.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dashboard {
    pub name: String,
    pub sessions: Vec<Selector>,
    pub layout: Layout,
    /// Where it was declared.
    pub file: PathBuf,
    pub line: usize,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layouts_read_and_cycle() {
        assert_eq!("main-vertical".parse(), Ok(Layout::MainVertical));
        assert_eq!(
            "grid".parse::<Layout>(),
            Err("bad layout \"grid\": expected auto, tiled, even-horizontal, even-vertical, main-vertical, main-horizontal".into())
        );
        let mut seen = vec![Layout::Auto];
        let mut l = Layout::Auto.next();
        while l != Layout::Auto {
            seen.push(l);
            l = l.next();
        }
        assert_eq!(seen, Layout::ALL);
    }

    #[test]
    fn selections_keep_their_order_and_show_each_once() {
        let names: Vec<String> = ["ci-2", "ci-1", "db", "agent"].map(String::from).to_vec();
        let sel: Vec<Selector> = ["agent", "ci-*", "ci-1"]
            .iter()
            .map(|s| Selector::parse(s).unwrap())
            .collect();
        assert_eq!(select(&sel, &names), ["agent", "ci-1", "ci-2"]);
        assert_eq!(select(&[], &names), ["ci-2", "ci-1", "db", "agent"]);
        assert_eq!(
            Selector::parse("bad name"),
            Err("bad session name \"bad name\": use 1 to 64 of A-Z a-z 0-9 _ . -, starting with a letter or digit".into())
        );
        assert!(Selector::parse("ci-[").is_err());
    }
}
