// penbot studio: the page. Plain JS, no build step, nothing loaded from elsewhere.
"use strict";

const $ = (id) => document.getElementById(id);

// ---------------------------------------------------------------- token and API
const TOKEN = (() => {
  const url = new URL(location.href);
  const given = url.searchParams.get("token");
  if (given) {
    sessionStorage.setItem("penbot-token", given);
    url.searchParams.delete("token");
    history.replaceState(null, "", url.pathname + url.search + url.hash);  // keep it out of the address bar
  }
  return given || sessionStorage.getItem("penbot-token") || "";
})();
const PAGE_ID = (crypto.randomUUID ? crypto.randomUUID() : String(Math.random()).slice(2)).replace(/[^A-Za-z0-9_-]/g, "");

class ApiError extends Error {
  constructor(message, data) { super(message); this.data = data || {}; }
}

async function api(path, body, method) {
  const init = { method: method || (body === undefined ? "GET" : "POST"), headers: { "X-Penbot-Token": TOKEN } };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const res = await fetch(path, init);
  const type = res.headers.get("content-type") || "";
  if (!res.ok) {
    let data = {};
    try { data = type.includes("json") ? await res.json() : {}; } catch (e) { /* not JSON */ }
    throw new ApiError(data.error || `${res.status} ${res.statusText}`, data);
  }
  return type.includes("json") ? res.json() : res;
}

function banner(message) {
  const el = $("banner");
  el.textContent = message || "";
  el.hidden = !message;
}

// ---------------------------------------------------------------- SVG helpers
function svgNode(text) {
  const doc = new DOMParser().parseFromString(text, "image/svg+xml");
  const root = doc.documentElement;
  if (root.nodeName !== "svg") return document.createElement("div");
  root.querySelectorAll("script, foreignObject").forEach((n) => n.remove());  // ours has none; be sure
  root.removeAttribute("width");
  root.removeAttribute("height");
  return document.importNode(root, true);
}

function polylineSvg(groups, pad) {
  // groups: [{lines: [[[x,y],...],...], cls}] in one frame -> an <svg> fitted around them
  const NS = "http://www.w3.org/2000/svg";
  let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
  for (const g of groups) for (const l of g.lines) for (const [x, y] of l) {
    x0 = Math.min(x0, x); y0 = Math.min(y0, y); x1 = Math.max(x1, x); y1 = Math.max(y1, y);
  }
  const svg = document.createElementNS(NS, "svg");
  if (!isFinite(x0)) return svg;
  pad = pad === undefined ? 0.3 : pad;
  svg.setAttribute("viewBox", `${x0 - pad} ${y0 - pad} ${x1 - x0 + 2 * pad} ${y1 - y0 + 2 * pad}`);
  for (const g of groups) {
    const group = document.createElementNS(NS, "g");
    group.setAttribute("class", g.cls);
    for (const l of g.lines) {
      const p = document.createElementNS(NS, "polyline");
      p.setAttribute("points", l.map(([x, y]) => `${x},${y}`).join(" "));
      group.appendChild(p);
    }
    svg.appendChild(group);
  }
  return svg;
}

// ---------------------------------------------------------------- tabs
function showView(name) {
  document.querySelectorAll("nav [role=tab]").forEach((b) => b.setAttribute("aria-selected", String(b.dataset.view === name)));
  document.querySelectorAll(".view").forEach((v) => { v.hidden = v.id !== `view-${name}`; });
  if (name === "hand") handPad.resize();
  if (name === "continue") contPad.resize();
  if (name === "explore") openExplore();
}
document.querySelectorAll("nav [role=tab]").forEach((b) => b.addEventListener("click", () => showView(b.dataset.view)));

// ---------------------------------------------------------------- Write: settings
const SETTING_IDS = ["bias", "temperature", "seed", "size", "line_spacing", "page", "orientation", "margins", "align"];
let INFO = null;
let chosenStyle = "1";

function currentSettings() {
  const s = { style: chosenStyle, drop_unknown: $("drop_unknown").checked, profile: $("profile").value };
  for (const id of SETTING_IDS) s[id] = $(id).value;
  return s;
}

function renderGallery(styles) {
  const gallery = $("gallery");
  gallery.textContent = "";
  const none = { name: "none", kind: "shipped", text: "no style: the model's own hand" };
  for (const st of [...styles, none]) {
    const b = document.createElement("button");
    b.className = "style" + (st.name === chosenStyle ? " chosen" : "") + (st.kind === "user" ? " user" : "");
    b.dataset.style = st.name;
    b.title = st.hand ? `${st.hand}: “${st.text}”` : st.text;
    if (st.preview) {
      const img = document.createElement("img");
      img.loading = "lazy";
      img.alt = st.text;
      img.src = `${st.preview}?token=${encodeURIComponent(TOKEN)}`;
      b.appendChild(img);
    }
    const label = document.createElement("span");
    label.textContent = st.kind === "user" ? `${st.name} (yours)` : (st.name === "none" ? "none" : `style ${st.name}`);
    if (st.hand && st.hand.startsWith("connected")) label.textContent += " · connected";
    b.appendChild(label);
    b.addEventListener("click", () => {
      chosenStyle = st.name;
      gallery.querySelectorAll(".style").forEach((x) => x.classList.toggle("chosen", x === b));
      schedulePreview();
    });
    gallery.appendChild(b);
  }
}

function showOutputs() {
  $("bias-out").textContent = Number($("bias").value).toFixed(1);
  $("temperature-out").textContent = Number($("temperature").value).toFixed(2);
  $("cont-steps-out").textContent = $("cont-steps").value;
  $("cont-bias-out").textContent = Number($("cont-bias").value).toFixed(1);
}

// ---------------------------------------------------------------- Write: notes on characters
function showMarks(text, marks) {
  const box = $("marks");
  box.textContent = "";
  const seen = new Set();
  for (const m of marks || []) {
    if (seen.has(m.char)) continue;
    seen.add(m.char);
    const before = text.slice(0, m.position);
    const line = before.split("\n").length, col = m.position - before.lastIndexOf("\n");
    const note = document.createElement("button");
    note.className = m.to === null ? "note bad" : "note";
    note.textContent = m.to === null
      ? `“${m.char}” (line ${line}, column ${col}) cannot be written` + ($("drop_unknown").checked ? ": it is skipped" : "")
      : `“${m.char}” (line ${line}, column ${col}) is written as “${m.to}”`;
    note.title = "show it in the text";
    note.addEventListener("click", () => { const t = $("text"); t.focus(); t.setSelectionRange(m.position, m.position + m.char.length); });
    box.appendChild(note);
  }
}

// ---------------------------------------------------------------- Write: live preview
let previewTimer = null;
let currentJob = null;
let lastWritten = null;  // {text, settings} of the pages on screen

function schedulePreview() {
  clearTimeout(previewTimer);
  const text = $("text").value;
  $("count").textContent = `${text.length.toLocaleString()} / ${(INFO ? INFO.limits.text : 20000).toLocaleString()} characters`;
  previewTimer = setTimeout(startPreview, 350);
}

function setStatus(text, fraction) {
  $("status").textContent = text;
  const bar = $("progress");
  if (fraction === undefined) bar.removeAttribute("value"); else bar.value = fraction;
}

async function startPreview() {
  const text = $("text").value;
  const settings = currentSettings();
  if (!text.trim()) { $("pages").textContent = ""; setStatus("nothing to write", 0); return; }
  let started;
  try {
    started = await api("/api/write", { page: PAGE_ID, text, settings });
  } catch (e) {
    setStatus(e.message, 0);
    $("notices").textContent = "";
    showError($("notices"), e.message);
    return;
  }
  currentJob = started.job;
  showMarks(text, started.marks);
  setStatus("writing…");
  pollJob(started.job, text, settings);
}

function showError(box, message) {
  const p = document.createElement("p");
  p.className = "note bad";
  p.textContent = message;
  box.appendChild(p);
}

async function pollJob(id, text, settings) {
  let draftShown = 0;
  while (currentJob === id) {
    let job;
    try { job = await api(`/api/jobs/${id}?full=0`); } catch (e) { setStatus(e.message, 0); return; }
    if (currentJob !== id) return;  // a newer preview took over
    if (job.draft.length && !draftShown) { renderPages(job.draft, true); draftShown = 1; }
    if (job.state === "done") {
      const full = await api(`/api/jobs/${id}`);
      if (currentJob !== id) return;
      renderPages(full.pages, false);
      lastWritten = { text, settings };
      $("notices").textContent = "";
      for (const n of full.notices) { const p = document.createElement("p"); p.className = "note"; p.textContent = n; $("notices").appendChild(p); }
      setStatus(`${full.pages.length} page(s), ${full.lines} line(s) in ${full.seconds.toFixed(2)} s`, 1);
      return;
    }
    if (job.state === "error") {
      $("notices").textContent = "";
      showError($("notices"), job.error);
      setStatus("could not write", 0);
      return;
    }
    if (job.state === "cancelled") return;
    setStatus(job.total ? `writing ${job.phase}: step ${job.step} of about ${job.total}` : "waiting…",
      job.total ? Math.min(1, job.step / job.total) : undefined);
    await new Promise((r) => setTimeout(r, 120));
  }
}

function renderPages(svgs, draft) {
  const box = $("pages");
  box.textContent = "";
  svgs.forEach((svg, i) => {
    const fig = document.createElement("figure");
    fig.className = "page" + (draft ? " draft" : "");
    fig.appendChild(svgNode(svg));
    const cap = document.createElement("figcaption");
    cap.textContent = draft ? "first line (writing the rest…)" : `page ${i + 1} of ${svgs.length}`;
    fig.appendChild(cap);
    box.appendChild(fig);
  });
}

// ---------------------------------------------------------------- Write: downloads
async function download(format) {
  const text = $("text").value;
  setStatus(`preparing ${format.toUpperCase()}…`);
  try {
    const res = await api("/api/download", { text, settings: currentSettings(), format });
    const blob = await res.blob();
    const name = (/filename="([^"]+)"/.exec(res.headers.get("content-disposition") || "") || [])[1] || `penbot.${format}`;
    const a = document.createElement("a");
    a.href = URL.createObjectURL(blob);
    a.download = name;
    document.body.appendChild(a);
    a.click();
    setTimeout(() => { URL.revokeObjectURL(a.href); a.remove(); }, 1000);
    setStatus(`downloaded ${name}`, 1);
  } catch (e) {
    setStatus(e.message, 0);
  }
}
document.querySelectorAll("[data-format]").forEach((b) => b.addEventListener("click", () => download(b.dataset.format)));

// ---------------------------------------------------------------- the writing pad (Pointer Events)
class Pad {
  constructor(canvas) {
    this.canvas = canvas;
    this.strokes = [];
    this.current = null;
    canvas.addEventListener("pointerdown", (e) => this.down(e));
    canvas.addEventListener("pointermove", (e) => this.move(e));
    for (const t of ["pointerup", "pointercancel", "lostpointercapture"]) canvas.addEventListener(t, () => this.up());
    window.addEventListener("resize", () => this.resize());
  }
  point(e) {
    const r = this.canvas.getBoundingClientRect();
    return [Math.round((e.clientX - r.left) * 10) / 10, Math.round((e.clientY - r.top) * 10) / 10];
  }
  down(e) {
    if (e.button !== undefined && e.button > 0) return;
    e.preventDefault();
    try { this.canvas.setPointerCapture(e.pointerId); } catch (err) { /* synthetic events */ }
    this.current = [this.point(e)];
    this.strokes.push(this.current);
    this.draw();
  }
  move(e) {
    if (!this.current) return;
    // a pen reports many more points than animation frames: take the coalesced ones
    const events = (e.getCoalescedEvents && e.getCoalescedEvents().length) ? e.getCoalescedEvents() : [e];
    for (const ev of events) this.current.push(this.point(ev));
    this.draw();
  }
  up() {
    if (this.current && this.current.length === 1) this.current.push(this.current[0].slice());
    this.current = null;
    this.onchange && this.onchange();
  }
  undo() { this.strokes.pop(); this.draw(); this.onchange && this.onchange(); }
  clear() { this.strokes = []; this.draw(); this.onchange && this.onchange(); }
  points() { return this.strokes.reduce((n, s) => n + s.length, 0); }
  resize() {
    const r = this.canvas.getBoundingClientRect();
    if (!r.width) return;
    const dpr = window.devicePixelRatio || 1;
    this.canvas.width = Math.round(r.width * dpr);
    this.canvas.height = Math.round(r.height * dpr);
    this.draw();
  }
  draw() {
    const c = this.canvas, g = c.getContext("2d");
    const dpr = window.devicePixelRatio || 1;
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    const w = c.width / dpr, h = c.height / dpr;
    g.clearRect(0, 0, w, h);
    g.strokeStyle = "#c9d6e8"; g.lineWidth = 1;
    for (const y of [0.4, 0.62]) { g.beginPath(); g.moveTo(8, h * y); g.lineTo(w - 8, h * y); g.stroke(); }
    g.strokeStyle = "#1b2a4a"; g.lineWidth = 2.2; g.lineCap = "round"; g.lineJoin = "round";
    for (const s of this.strokes) {
      g.beginPath();
      s.forEach(([x, y], i) => (i ? g.lineTo(x, y) : g.moveTo(x, y)));
      g.stroke();
    }
  }
}
const handPad = new Pad($("hand-pad"));
const contPad = new Pad($("cont-pad"));

// ---------------------------------------------------------------- Your hand
function handMessage(text) { const el = $("hand-error"); el.textContent = text || ""; el.hidden = !text; }

handPad.onchange = () => {
  $("hand-status").textContent = `${handPad.strokes.length} stroke(s), ${handPad.points()} points`;
  $("hand-save").disabled = true;
};
$("hand-undo").addEventListener("click", () => handPad.undo());
$("hand-clear").addEventListener("click", () => { handPad.clear(); $("hand-sample").textContent = ""; $("hand-test").textContent = ""; });

async function tryHand() {
  handMessage("");
  if (!handPad.strokes.length) { handMessage("write the sentence on the pad first"); return; }
  $("hand-status").textContent = "making your style…";
  try {
    const r = await api("/api/hand/try", { text: $("hand-text").value, strokes: handPad.strokes });
    $("hand-sample").textContent = ""; $("hand-sample").appendChild(svgNode(r.sample));
    $("hand-test").textContent = ""; $("hand-test").appendChild(svgNode(r.test));
    $("hand-save").disabled = false;
    const kept = Math.abs(r.lean_deg) >= 0.5 ? ` (leaned ${r.lean_deg > 0 ? "+" : ""}${r.lean_deg}° to keep your slant)` : "";
    $("hand-status").textContent = `this is how penbot writes in your hand${kept}: save it if you like it`;
  } catch (e) {
    handMessage((e.data.problems || [e.message]).join("; "));
    $("hand-status").textContent = "";
  }
}
$("hand-try").addEventListener("click", tryHand);

$("hand-save").addEventListener("click", async () => {
  handMessage("");
  try {
    const r = await api("/api/hand/save", { name: $("hand-name").value.trim(), text: $("hand-text").value,
      strokes: handPad.strokes, replace: $("hand-replace").checked });
    INFO.styles = r.styles;
    chosenStyle = r.name;
    renderGallery(r.styles);
    $("hand-saved").textContent = `saved as “${r.name}”: it is now in the gallery and in penbot styles list (--style ${r.name})`;
    schedulePreview();
  } catch (e) {
    handMessage((e.data.problems || [e.message]).join("; "));
  }
});

// ---------------------------------------------------------------- Continue (and the Explore fan)
function contMessage(text) { const el = $("cont-error"); el.textContent = text || ""; el.hidden = !text; }
$("cont-undo").addEventListener("click", () => contPad.undo());
$("cont-clear").addEventListener("click", () => { contPad.clear(); $("cont-result").textContent = ""; });

function contRequest() {
  return { strokes: contPad.strokes, steps: Number($("cont-steps").value),
    bias: Math.max(0, 3 - Number($("cont-bias").value)), seed: Number($("cont-seed").value) || 0 };
}

$("cont-go").addEventListener("click", async () => {
  contMessage("");
  if (!contPad.strokes.length) { contMessage("write a few strokes on the pad first"); return; }
  $("cont-status").textContent = "writing on…";
  try {
    const r = await api("/api/continue", contRequest());
    const box = $("cont-result");
    box.textContent = "";
    box.appendChild(polylineSvg([{ lines: r.prime, cls: "prime" }, { lines: r.continuation, cls: "more" }]));
    $("cont-status").textContent = "grey: yours; black: the model's";
  } catch (e) { contMessage(e.message); $("cont-status").textContent = ""; }
});

$("cont-fan").addEventListener("click", async () => {
  contMessage("");
  if (!contPad.strokes.length) { contMessage("write a few strokes on the pad first"); return; }
  $("cont-status").textContent = "drawing the fan…";
  try {
    const r = await api("/api/explore/fan", { ...contRequest(), count: 24 });
    const groups = [{ lines: r.prime, cls: "prime" }, { lines: r.right, cls: "right" }, { lines: r.left, cls: "left" },
      { lines: r.chosen, cls: "chosen" }];
    const box = $("cont-result");
    box.textContent = "";
    box.appendChild(polylineSvg(groups));
    $("cont-status").textContent = `grey: yours; black: the first of ${r.count} paths; green: veers right of it, orange: left`;
  } catch (e) { contMessage(e.message); $("cont-status").textContent = ""; }
});

// ---------------------------------------------------------------- Explore: fan, attention, cells of one line
let exploreEdited = false;
let explored = null;  // the request key of the views on screen
let exploring = false;

function exploreMessage(text) { const el = $("explore-error"); el.textContent = text || ""; el.hidden = !text; }

function firstLine(text, limit) {
  // the Write box's first non-empty line, cut at a word to at most `limit` characters
  const line = (text.split("\n").find((l) => l.trim()) || "").trim().replace(/\s+/g, " ");
  if (line.length <= limit) return line;
  const cut = line.slice(0, limit + 1);
  const space = cut.lastIndexOf(" ");
  return (space > 0 ? cut.slice(0, space) : line.slice(0, limit)).trim();
}

function openExplore() {
  if (!exploreEdited) $("explore-text").value = firstLine($("text").value, INFO ? INFO.limits.explore_text : 100);
  const key = JSON.stringify(exploreRequest());
  if (key !== explored && $("explore-text").value.trim()) runExplore();
}

function exploreRequest() {
  return { text: $("explore-text").value, settings: currentSettings(), paths: Number($("explore-paths").value) || 20,
    layer: Number($("explore-layer").value) };
}

async function runExplore() {
  if (exploring) return;
  exploreMessage("");
  const req = exploreRequest();
  if (!req.text.trim()) { exploreMessage("type a line to explore"); return; }
  exploring = true;
  $("explore-go").disabled = true;
  const t0 = performance.now();
  try {
    $("explore-status").textContent = "writing the line and sampling the fan…";
    const fan = await api("/api/explore/view", { ...req, view: "fan" });
    const box = $("explore-fan");
    box.textContent = "";
    box.appendChild(svgNode(fan.svg));
    $("explore-status").textContent = "reading the attention window…";
    const att = await api("/api/explore/view", { ...req, view: "attention" });
    $("explore-attention").src = att.png;
    $("explore-attention").hidden = false;
    $("explore-status").textContent = "ordering the cells…";
    const cells = await api("/api/explore/view", { ...req, view: "cells" });
    const url = `${cells.url}?token=${encodeURIComponent(TOKEN)}`;
    $("explore-cells").src = url;
    $("explore-cells").hidden = false;
    $("explore-cells-download").href = `${url}&download=1`;
    $("explore-cells-download").hidden = false;
    explored = JSON.stringify(req);
    const notes = [];
    if (att.unfocused.length) notes.push(`skipped: ${att.unfocused.join(" ")}`);
    if (att.revisited.length) notes.push(`written twice: ${att.revisited.join(" ")}`);
    if (fan.problem) notes.push(`the sampler flagged the line: ${fan.problem}`);
    $("explore-status").textContent = `“${fan.text}”: ${fan.points} points, ${fan.fans} fans, ${cells.cells} cells; `
      + `${((performance.now() - t0) / 1000).toFixed(1)} s` + (notes.length ? ` (${notes.join("; ")})` : "");
    document.body.dataset.explored = "1";
  } catch (e) {
    exploreMessage(e.message);
    $("explore-status").textContent = "";
  } finally {
    exploring = false;
    $("explore-go").disabled = false;
  }
}
$("explore-go").addEventListener("click", runExplore);
$("explore-text").addEventListener("input", () => { exploreEdited = true; });
$("explore-text").addEventListener("keydown", (e) => { if (e.key === "Enter") runExplore(); });

// ---------------------------------------------------------------- start
async function start() {
  if (!TOKEN) banner("No token: open the full URL that `penbot studio` printed (it ends in ?token=…).");
  try {
    INFO = await api("/api/info");
  } catch (e) {
    banner(`The studio does not answer: ${e.message}`);
    return;
  }
  const d = INFO.defaults;
  for (const id of SETTING_IDS) {
    if (id === "page") {
      for (const p of INFO.pages) { const o = document.createElement("option"); o.textContent = p; $("page").appendChild(o); }
    }
    $(id).value = d[id];
  }
  for (const p of INFO.profiles) { const o = document.createElement("option"); o.textContent = p; $("profile").appendChild(o); }
  $("profile").value = d.profile;
  chosenStyle = d.style || "none";
  renderGallery(INFO.styles);
  $("copy-sentence").textContent = INFO.sentence;
  $("hand-text").value = INFO.sentence;
  $("test-sentence").textContent = `“${INFO.test_sentence}”`;
  if (INFO.explore) $("cont-fan").hidden = false;
  for (const id of [...SETTING_IDS, "drop_unknown"]) $(id).addEventListener("input", () => { showOutputs(); schedulePreview(); });
  $("profile").addEventListener("change", () => {});
  $("text").addEventListener("input", schedulePreview);
  for (const id of ["cont-steps", "cont-bias"]) $(id).addEventListener("input", showOutputs);
  showOutputs();
  schedulePreview();
  document.body.dataset.ready = "1";
}
start();
