//! The sessions a person may see, found by their sockets and followed as
//! that person (follow.rs): each host applies its own access lists, so
//! berth-web shows nothing a host would not tell the person at a
//! terminal. And the views of them: the declared dashboards, tiled by
//! `berth watch`'s layouts.

use std::path::PathBuf;

use berth_config::dashboard::{select, Layout};
use berth_proto::{Access, Size};
use berth_web::args::Dashboard;
use ratatui::layout::Rect;

use crate::follow::Follows;

/// The area tiles are placed in, in character cells: about a 1080p
/// screen of 9×18-pixel cells. The page scales it to the window.
const AREA: Rect = Rect {
    x: 0,
    y: 0,
    width: 212,
    height: 60,
};

pub struct Sessions {
    runtime: PathBuf,
    dashboards: Vec<Dashboard>,
    follows: Follows,
}

impl Sessions {
    pub fn new(runtime: PathBuf, dashboards: Vec<Dashboard>) -> Self {
        Self {
            runtime,
            dashboards,
            follows: Follows::default(),
        }
    }

    /// The socket of session `name` (a checked name).
    pub fn socket(&self, name: &str) -> PathBuf {
        berth_config::paths::session_socket(&self.runtime, name)
    }

    /// Every session `uid` may read, with its status, what the person may
    /// do (`access`) and whether the page may offer typing (`input`);
    /// `from` is the browser's address, for the hosts' audit trail.
    pub async fn visible(&self, uid: u32, from: &str, allow_input: bool) -> Vec<serde_json::Value> {
        let sockets = berth_config::paths::named_files(
            &berth_config::paths::sessions_dir(&self.runtime),
            ".sock",
        );
        let seen = self.follows.visible(uid, from, &sockets).await;
        seen.into_iter()
            .map(|s| {
                let mut v = serde_json::to_value(&s.status).unwrap_or_default();
                v["name"] = serde_json::Value::String(s.name);
                v["access"] = serde_json::to_value(s.access).unwrap_or_default();
                v["input"] = (allow_input && s.access == Some(Access::Operator)).into();
                v
            })
            .collect()
    }

    /// Ends the follows of people whose pages stopped asking (runs while
    /// berth-web serves).
    pub async fn end_idle_follows(&self) {
        self.follows.end_idle().await
    }

    /// The tiles of `dashboard` (else of every visible session), each with
    /// its place in percent of the page, in `layout` (else the
    /// dashboard's, else auto).
    pub fn view(
        &self,
        visible: Vec<serde_json::Value>,
        dashboard: Option<&str>,
        layout: Option<Layout>,
    ) -> Result<serde_json::Value, String> {
        let names: Vec<String> = visible
            .iter()
            .filter_map(|v| v["name"].as_str().map(str::to_owned))
            .collect();
        let (shown, declared_layout) = match dashboard {
            None => (names.clone(), Layout::Auto),
            Some(d) => {
                let Some(d) = self.dashboards.iter().find(|x| x.name == d) else {
                    let known: Vec<&str> =
                        self.dashboards.iter().map(|x| x.name.as_str()).collect();
                    return Err(format!(
                        "no dashboard {d:?}; declared: {}",
                        if known.is_empty() {
                            "none".to_owned()
                        } else {
                            known.join(", ")
                        }
                    ));
                };
                let shown = select(&d.sessions, &names)
                    .into_iter()
                    .map(str::to_owned)
                    .collect();
                (shown, d.layout)
            }
        };
        let layout = layout.unwrap_or(declared_layout);
        let tiles: Vec<serde_json::Value> = shown
            .iter()
            .filter_map(|n| visible.iter().find(|v| v["name"] == n.as_str()).cloned())
            .collect();
        let sizes: Vec<Size> = tiles
            .iter()
            .map(|t| {
                serde_json::from_value(t["size"].clone()).unwrap_or(Size { cols: 80, rows: 24 })
            })
            .collect();
        let rects = berth_cli::layout::tiles(layout, AREA, &sizes);
        let pct = |v: u16, total: u16| f64::from(v) * 100.0 / f64::from(total);
        let tiles: Vec<serde_json::Value> = tiles
            .into_iter()
            .zip(rects)
            .map(|(mut t, r)| {
                t["tile"] = serde_json::json!({
                    "left": pct(r.x, AREA.width), "top": pct(r.y, AREA.height),
                    "width": pct(r.width, AREA.width), "height": pct(r.height, AREA.height),
                });
                t
            })
            .collect();
        let dashboards: Vec<&str> = self.dashboards.iter().map(|d| d.name.as_str()).collect();
        Ok(serde_json::json!({
            "dashboard": dashboard,
            "dashboards": dashboards,
            "layout": layout.as_str(),
            "layouts": Layout::ALL.iter().map(|l| l.as_str()).collect::<Vec<_>>(),
            "tiles": tiles,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_view_tiles_the_dashboards_sessions_in_its_order() {
        let s = Sessions::new(
            "/nonexistent".into(),
            vec!["ops:even-horizontal:db,ci-*".parse().unwrap()],
        );
        let visible: Vec<serde_json::Value> = ["ci-1", "db", "other"]
            .iter()
            .map(|n| serde_json::json!({"name": n, "size": {"cols": 80, "rows": 24}}))
            .collect();
        let v = s.view(visible.clone(), Some("ops"), None).unwrap();
        let names: Vec<&str> = v["tiles"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["db", "ci-1"]);
        assert_eq!(v["layout"], "even-horizontal");
        assert_eq!(v["tiles"][0]["tile"]["left"], 0.0);
        assert_eq!(v["tiles"][1]["tile"]["left"], 50.0);
        let all = s
            .view(visible.clone(), None, Some(Layout::EvenVertical))
            .unwrap();
        assert_eq!(all["tiles"].as_array().unwrap().len(), 3);
        assert_eq!(
            s.view(visible, Some("nope"), None).unwrap_err(),
            "no dashboard \"nope\"; declared: ops"
        );
    }
}
