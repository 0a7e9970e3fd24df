// The berth dashboard: the sessions this login may read, live tiles in a
// layout of `berth watch`, one enlarged on click. Every terminal is an
// xterm.js fed by /api/attach/NAME (a WebSocket, read-only unless the
// person is an operator, [web] allow_input is on, and they press "type").
// "replay" plays the session's recording (/api/recording/NAME, asciicast
// v3) in asciinema-player, its commands listed as chapters to jump to.
"use strict";

const state = { views: new Map(), enlarged: null, dashboard: "", layout: "" };
const $ = (id) => document.getElementById(id);

function note(text) { $("note").textContent = text || ""; }

function duration(s) {
  if (s == null) return "";
  if (s < 60) return s + "s";
  if (s < 3600) return Math.floor(s / 60) + "m";
  if (s < 86400) return Math.floor(s / 3600) + "h" + Math.floor((s % 3600) / 60) + "m";
  return Math.floor(s / 86400) + "d" + Math.floor((s % 86400) / 3600) + "h";
}

// One live terminal: a WebSocket to the session, drawn into `el`, scaled
// to fit `box` (the session keeps its own size; the page never resizes it).
class LiveView {
  constructor(name, el, box, input) {
    this.name = name;
    this.el = el;
    this.box = box;
    this.term = new Terminal({ cols: 80, rows: 24, scrollback: 0, disableStdin: !input,
                               cursorBlink: false, fontSize: 14 });
    this.term.open(el);
    this.readOnly = true;
    const proto = location.protocol === "https:" ? "wss:" : "ws:";
    const url = proto + "//" + location.host + "/api/attach/" + encodeURIComponent(name) + (input ? "?input=true" : "");
    this.ws = new WebSocket(url);
    this.ws.binaryType = "arraybuffer";
    this.ws.onmessage = (ev) => this.message(ev);
    this.ws.onclose = (ev) => { if (ev.reason) this.term.write("\r\n[" + ev.reason + "]\r\n"); };
    this.term.onData((d) => {
      if (!this.readOnly && this.ws.readyState === WebSocket.OPEN) this.ws.send(new TextEncoder().encode(d));
    });
  }
  message(ev) {
    if (typeof ev.data !== "string") { this.term.write(new Uint8Array(ev.data)); return; }
    const m = JSON.parse(ev.data);
    if (m.type === "attached" || m.type === "resized") {
      if (m.type === "attached") this.readOnly = m.read_only;
      this.term.resize(m.cols, m.rows);
      this.fit();
    } else if (m.type === "error") {
      note(this.name + ": " + m.message);
    }
  }
  // Scales the terminal to its box, keeping its shape.
  fit() {
    const screen = this.el.querySelector(".xterm-screen");
    if (!screen || !this.box.clientWidth) return;
    const scale = Math.min(this.box.clientWidth / screen.offsetWidth,
                           (this.box.clientHeight - (this.box.firstChild.offsetHeight || 0)) / screen.offsetHeight);
    this.el.style.transform = "scale(" + Math.min(scale, 4) + ")";
  }
  close() { this.ws.close(); this.term.dispose(); }
}

function tile(t) {
  let v = state.views.get(t.name);
  if (!v) {
    const box = document.createElement("div");
    box.className = "tile";
    box.dataset.session = t.name;
    const bar = document.createElement("div");
    bar.className = "bar";
    const el = document.createElement("div");
    el.className = "term";
    box.append(bar, el);
    $("tiles").append(box);
    box.addEventListener("click", () => enlarge(t.name));
    v = new LiveView(t.name, el, box, false);
    v.bar = bar;
    state.views.set(t.name, v);
  }
  const p = t.tile;
  Object.assign(v.box.style, { left: p.left + "%", top: p.top + "%", width: p.width + "%", height: p.height + "%" });
  v.bar.textContent = t.name + " — " + t.state + (t.foreground ? " — " + t.foreground : "");
  v.fit();
}

function table(tiles) {
  const body = $("sessions").tBodies[0];
  body.replaceChildren(...tiles.map((t) => {
    const tr = document.createElement("tr");
    const cells = [t.name, t.state, t.restarts, t.foreground || (t.command || []).join(" "),
                   duration(t.uptime_s), t.access];
    cells.forEach((c, i) => {
      const td = document.createElement("td");
      td.textContent = c == null ? "" : String(c);
      if (i === 1) td.className = "state-" + t.state;
      tr.append(td);
    });
    return tr;
  }));
}

async function refresh() {
  const q = new URLSearchParams();
  if (state.dashboard) q.set("dashboard", state.dashboard);
  if (state.layout) q.set("layout", state.layout);
  let r;
  try { r = await fetch("/api/view?" + q, { credentials: "same-origin" }); }
  catch (e) { note("berth-web does not answer: " + e); return; }
  if (!r.ok) { note(await r.text()); return; }
  note("");
  const v = await r.json();
  fill($("dashboard"), [""].concat(v.dashboards), state.dashboard, (d) => d || "all sessions");
  fill($("layout"), v.layouts, v.layout, (l) => l);
  table(v.tiles);
  const shown = new Set(v.tiles.map((t) => t.name));
  for (const [name, view] of state.views) {
    if (!shown.has(name)) { view.close(); view.box.remove(); state.views.delete(name); }
  }
  v.tiles.forEach(tile);
  state.tiles = v.tiles;
}

function fill(select, values, chosen, label) {
  const now = Array.from(select.options).map((o) => o.value).join("\n");
  if (now !== values.join("\n")) {
    select.replaceChildren(...values.map((x) => { const o = document.createElement("option"); o.value = x; o.textContent = label(x); return o; }));
  }
  select.value = chosen || "";
}

function enlarge(name, input) {
  unenlarge();
  const t = (state.tiles || []).find((x) => x.name === name);
  $("enlarged").hidden = false;
  $("enlarged-title").textContent = name + (input ? " (typing)" : " (read-only)");
  $("type").hidden = !(t && t.input) || input;
  $("type").onclick = () => enlarge(name, true);
  $("replay-open").onclick = () => replay(name);
  const el = $("enlarged-term");
  state.enlarged = new LiveView(name, el, $("enlarged"), !!input);
  if (input) state.enlarged.term.focus();
}

// The commands a recording marks: "$ COMMAND" when one starts, "status N
// after Ts: COMMAND" when it ends (berth's markers), with the time each
// starts at in the player (the sum of the intervals before it).
function chaptersOf(cast) {
  const out = [];
  let t = 0;
  cast.split("\n").slice(1).forEach((line) => {
    let e;
    try { e = JSON.parse(line); } catch (_) { return; }
    if (!Array.isArray(e)) return;
    t += e[0];
    if (e[1] !== "m") return;
    if (e[2].startsWith("$ ")) {
      out.push({ time: t, command: e[2].slice(2), status: null });
      return;
    }
    const end = /^status (-?\d+) after /.exec(e[2]);
    const last = out[out.length - 1];
    if (end && last && last.status === null) last.status = Number(end[1]);
  });
  return out;
}

async function replay(name) {
  unenlarge();
  unreplay();
  let r;
  try { r = await fetch("/api/recording/" + encodeURIComponent(name), { credentials: "same-origin" }); }
  catch (e) { note("berth-web does not answer: " + e); return; }
  if (!r.ok) { note(name + ": " + await r.text()); return; }
  const cast = await r.text();
  $("replay").hidden = false;
  $("replay-title").textContent = name + " (replay)";
  state.player = AsciinemaPlayer.create({ data: cast }, $("replay-player"), { fit: "width" });
  $("chapters").replaceChildren(...chaptersOf(cast).map((c) => {
    const li = document.createElement("li");
    const b = document.createElement("button");
    b.className = "chapter";
    b.textContent = "$ " + c.command + (c.status === null ? "" : "  \u2192 " + c.status);
    b.addEventListener("click", () => state.player.seek(c.time));
    li.append(b);
    return li;
  }));
}

function unreplay() {
  if (state.player) { state.player.dispose(); state.player = null; }
  $("replay-player").replaceChildren();
  $("chapters").replaceChildren();
  $("replay").hidden = true;
}

function unenlarge() {
  if (state.enlarged) { state.enlarged.close(); state.enlarged = null; }
  $("enlarged-term").replaceChildren();
  $("enlarged").hidden = true;
}

document.addEventListener("DOMContentLoaded", () => {
  $("close").addEventListener("click", unenlarge);
  $("replay-close").addEventListener("click", unreplay);
  // Esc closes a read-only view; a typing view sends Esc to the program (vim).
  document.addEventListener("keydown", (e) => {
    if (e.key === "Escape" && !(state.enlarged && !state.enlarged.readOnly)) { unenlarge(); unreplay(); }
  });
  $("dashboard").addEventListener("change", (e) => { state.dashboard = e.target.value; state.layout = ""; refresh(); });
  $("layout").addEventListener("change", (e) => { state.layout = e.target.value; refresh(); });
  window.addEventListener("resize", () => { state.views.forEach((v) => v.fit()); if (state.enlarged) state.enlarged.fit(); });
  const params = new URLSearchParams(location.search);
  state.dashboard = params.get("dashboard") || "";
  state.layout = params.get("layout") || "";
  refresh();
  setInterval(refresh, 2000);
});
