//! The keys of `berth watch`, in the library so the help screen and the
//! man page (berth-watch(1), KEYS) show the same list.

/// Every key, for the help screen: (keys, what they do).
pub const KEYS: &[(&str, &str)] = &[
    ("arrows, h j k l", "focus the tile to the left, below, above, to the right"),
    ("Tab, Shift-Tab", "focus the next, the previous tile"),
    ("click", "focus the tile under the mouse"),
    ("z", "zoom the focused tile to the whole terminal, and back (Esc also goes back)"),
    ("Enter", "attach to the focused session (read-write if you are an operator, else read-only); detach (Ctrl-b d) comes back here"),
    ("Space", "next layout: auto, tiled, even-horizontal, even-vertical, main-vertical, main-horizontal"),
    ("?", "this help; any key closes it"),
    ("q, Ctrl-c", "quit"),
];

/// The one-line reminder under the tiles.
pub const HINT: &str = "q quit  arrows focus  z zoom  Enter attach  Space layout  ? help";
