// vidgraph's page: plain JS, no framework, nothing fetched from anywhere but this server.
// Text from the videos is only ever set as textContent (never as HTML).
"use strict";
const $ = (s) => document.querySelector(s);
const el = (tag, props = {}, ...kids) => { const e = Object.assign(document.createElement(tag), props); e.append(...kids); return e; };
const fmt = (t) => {
  t = Math.max(0, t); const h = Math.floor(t / 3600), m = Math.floor((t % 3600) / 60), s = (t % 60).toFixed(1).padStart(4, "0");
  return h ? `${h}:${String(m).padStart(2, "0")}:${s}` : `${m}:${s}`;
};
const setStatus = (s) => { $("#status").textContent = s; $("#status").dataset.state = s; };
const thumb = (url) => el("img", { className: "thumb", loading: "lazy", alt: "", src: url });
const state = { video: "", names: {}, info: {}, ask: null, askSource: null, index: null, indexSource: null };

async function api(path, opts = {}) {
  const r = await fetch(path, { credentials: "same-origin", headers: { "Content-Type": "application/json" }, ...opts });
  if (r.status === 503) throw new Error(`busy: retry in ${r.headers.get("Retry-After") || "a few"} s`);
  if (!r.ok) { let d = ""; try { const j = await r.json(); d = j.detail + (j.hint ? ` (${j.hint})` : ""); } catch (_) { d = r.statusText; } throw new Error(`${r.status}: ${d}`); }
  return r.status === 204 ? null : r.json();
}

// -- videos: one list, filtered in place (a class per item, no re-render) -----------------------------------------
async function loadVideos() {
  const { videos, total } = await api("/api/videos");
  const ul = $("#videos"), frag = document.createDocumentFragment();
  ul.querySelectorAll("li.video[data-video]:not(#all-videos)").forEach((li) => li.remove());
  for (const v of videos) {
    state.names[v.video_id] = v.name; state.info[v.video_id] = v;
    const li = el("li", { className: "video", title: v.name }, thumb(v.thumbnail),
      el("div", {}, el("div", { className: "name" }, v.name), el("div", { className: "dur" }, `${fmt(v.duration)} · ${v.status}`)));
    li.dataset.video = v.video_id; li.dataset.name = v.name.toLowerCase();
    frag.append(li);
  }
  ul.append(frag);
  $("#count").textContent = `${total} video${total === 1 ? "" : "s"}`;
  applyFilter();
}

function applyFilter() {
  const q = $("#filter").value.trim().toLowerCase();
  let shown = 0;
  for (const li of $("#videos").children) {
    if (!li.dataset.name) continue;
    const hide = q !== "" && !li.dataset.name.includes(q);
    li.hidden = hide; if (!hide) shown++;
  }
  $("#count").textContent = `${shown} of ${Object.keys(state.names).length} videos`;
}

function select(video) {
  state.video = video;
  for (const li of $("#videos").querySelectorAll("li.selected")) li.classList.remove("selected");
  const li = video ? $(`#videos li[data-video="${video}"]`) : $("#all-videos");
  if (li) li.classList.add("selected");
  $("#scope").textContent = video ? `asking and searching in ${state.names[video]}` : "asking and searching in every video";
  if (video) { play(video, 0, null); loadTranscript(video); } else { $("#vindex").replaceChildren(); $("#vindex-title").hidden = true; }
}

async function loadTranscript(video) {
  const idx = await api(`/api/videos/${video}/index?sections=transcript,text`);
  const lines = [...idx.transcript.map((s) => ({ ...s, kind: "said" })), ...idx.text.map((s) => ({ ...s, kind: "shown" }))]
    .sort((a, b) => a.start - b.start);
  const frag = document.createDocumentFragment();
  for (const s of lines) {
    const li = el("li", {}, el("span", { className: "t" }, `${fmt(s.start)} ${s.kind}`), s.text);
    Object.assign(li.dataset, { video, start: s.start, end: s.end });
    frag.append(li);
  }
  $("#vindex").replaceChildren(frag);
  $("#vindex-title").hidden = lines.length === 0;
}

// -- the player: play [start, end) of a video -------------------------------------------------------------------
function play(video, start, end) {
  const p = $("#player"), src = `/api/media/${video}`;
  p.dataset.video = video; p.dataset.start = start; p.dataset.end = end ?? ""; p.dataset.seeked = "";
  let stopAt = end;
  const go = () => {
    p.addEventListener("seeked", () => { p.dataset.seeked = "1"; p.play().catch(() => {}); }, { once: true });
    p.currentTime = start;
  };
  if (!p.src.endsWith(src)) {
    p.addEventListener("loadedmetadata", go, { once: true });
    p.src = src; p.dataset.retries = "0";
  } else go();
  p.ontimeupdate = () => {
    $("#now").textContent = `${state.names[video] || video} @ ${fmt(p.currentTime)}`;
    if (stopAt != null && p.currentTime >= stopAt) { p.pause(); stopAt = null; }
  };
  p.onerror = () => {  // a copy a browser can play may still be in the making (503): try again
    const n = Number(p.dataset.retries || 0);
    if (n < 12) { p.dataset.retries = String(n + 1); setTimeout(() => { p.addEventListener("loadedmetadata", go, { once: true }); p.load(); }, 5000); $("#now").textContent = "preparing a playable copy…"; }
    else $("#now").textContent = "this video cannot be played here";
  };
  const link = $("#clip-link");
  if (end != null) {
    link.href = `/api/videos/${video}/clip?start=${start}&end=${end}&download=true`; link.hidden = false;
  } else link.hidden = true;
}

// -- moments: citations and search hits alike -------------------------------------------------------------------
function moments(ul, items) {
  const frag = document.createDocumentFragment();
  for (const m of items) {
    const li = el("li", {}, thumb(m.thumb), el("div", { className: "where" }, `${state.names[m.video] || m.name || m.video} ${fmt(m.start)}–${fmt(m.end)}`),
      el("div", { className: "what" }, m.text), el("div", { className: "why" }, m.why || ""));
    Object.assign(li.dataset, { video: m.video, start: m.start, end: m.end });
    frag.append(li);
  }
  ul.replaceChildren(frag);
}

document.addEventListener("click", (e) => {
  const li = e.target.closest("#videos li");
  if (li) return select(li.dataset.video);
  const m = e.target.closest(".moments li, #vindex li");
  if (m) play(m.dataset.video, Number(m.dataset.start), Number(m.dataset.end));
});

// -- asking: a job, its steps live over server-sent events, then the answer --------------------------------------
async function ask(question) {
  if (state.askSource) state.askSource.close();
  $("#steps").replaceChildren(); $("#citations").replaceChildren(); $("#answer").textContent = ""; $("#answer").className = "";
  $("#answer-meta").textContent = ""; $("#export").hidden = true;
  setStatus("asking");
  const body = { question, strategy: $("#strategy").value, videos: state.video ? [state.video] : null };
  const job = await api("/api/asks", { method: "POST", body: JSON.stringify(body) });
  state.ask = job.job; $("#cancel-btn").hidden = false;
  if (job.position > 0) setStatus(`queued (${job.position})`);
  const es = new EventSource(job.url);  // GET on this origin: the token cookie goes with it, headers cannot
  state.askSource = es;
  es.addEventListener("step", (e) => {
    const s = JSON.parse(e.data);
    const where = s.span ? ` ${state.names[s.video_id] || ""} ${fmt(s.span.start)}–${fmt(s.span.end)}` : "";
    $("#steps").append(el("li", { className: "step" }, el("span", { className: "kind" }, s.kind), `${where} ${s.detail}`.trim()));
    setStatus(`working: ${s.kind}`);
  });
  es.addEventListener("result", (e) => { es.close(); done(); showAnswer(JSON.parse(e.data), job.job); setStatus("answered"); });
  es.addEventListener("error", (e) => {
    if (e.data) { es.close(); done(); setStatus("error"); $("#answer").className = "error"; $("#answer").textContent = JSON.parse(e.data).error; }
    else if (es.readyState === EventSource.CLOSED) { done(); setStatus("disconnected"); }
  });
  es.addEventListener("cancelled", () => { es.close(); done(); setStatus("cancelled"); });
}

function done() { $("#cancel-btn").hidden = true; state.askSource = null; }

function showAnswer(a, jobId) {
  $("#answer").textContent = a.text; $("#answer").className = a.found ? "found" : "abstained";
  $("#answer-meta").textContent = `confidence ${a.confidence.toFixed(2)} · ${a.strategy} · ${a.model} · ${a.cost.model_calls} model calls · ${a.cost.seconds.toFixed(1)} s`;
  moments($("#citations"), a.citations.map((c) => ({ video: c.video_id, name: c.video, start: c.span.start, end: c.span.end,
    thumb: c.frame, text: c.evidence, why: c.modality })));
  if (a.citations.length) { $("#export").href = `/api/jobs/${jobId}/export`; $("#export").hidden = false; }
}

$("#ask-form").addEventListener("submit", (e) => {
  e.preventDefault();
  ask($("#question").value).catch((err) => { done(); setStatus("error"); $("#answer").className = "error"; $("#answer").textContent = err.message; });
});
$("#cancel-btn").addEventListener("click", () => { if (state.ask) api(`/api/jobs/${state.ask}`, { method: "DELETE" }).catch(() => {}); });

// -- search ---------------------------------------------------------------------------------------------------------
$("#search-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const params = new URLSearchParams({ q: $("#search-q").value, k: "12" });
  if (state.video) params.append("video", state.video);
  try {
    setStatus("searching");
    const hits = await api(`/api/search?${params}`);
    moments($("#hits"), hits.map((h) => ({ video: h.video_id, name: h.video, start: h.start, end: h.end, thumb: h.thumbnail,
      text: Object.entries(h.evidence).map(([k, v]) => `${k}: ${v}`).join(" · "), why: h.reasons.slice(0, 2).join("; ") })));
    setStatus(hits.length ? "found" : "nothing found");
  } catch (err) { setStatus("error"); $("#hits").replaceChildren(el("li", {}, err.message)); }
});

// -- index runs: progress over server-sent events ------------------------------------------------------------------
function describe(p) {
  switch (p.type) {
    case "Planned": return `${p.videos} videos, ${p.todo} to index`;
    case "Hashing": return `hashing ${p.done}/${p.total}`;
    case "VideoStarted": return `indexing ${p.name}`;
    case "StageProgress": return `${p.stage} ${p.total ? Math.round(100 * p.done / p.total) + "%" : ""}`;
    case "VideoFinished": return `${p.result.path}: ${p.result.status}${p.result.error ? " — " + p.result.error : ""}`;
    case "MemoryProgress": return `memory ${p.done}/${p.total} ${p.name} ${p.step || ""}`;
    default: return p.text || p.type;
  }
}

$("#index-btn").addEventListener("click", async () => {
  try {
    const job = await api("/api/index", { method: "POST", body: "{}" });
    state.index = job.job; $("#index-cancel").hidden = false; $("#index-btn").disabled = true;
    const out = $("#index-progress"); out.textContent = "queued";
    const es = new EventSource(job.url);
    const end = (text) => { es.close(); out.textContent = text; $("#index-cancel").hidden = true; $("#index-btn").disabled = false; loadVideos(); };
    es.addEventListener("progress", (e) => { out.textContent = describe(JSON.parse(e.data)); });
    es.addEventListener("result", (e) => { const r = JSON.parse(e.data); end(`done: ${r.videos} videos, ${r.seconds.toFixed(0)} s`); });
    es.addEventListener("error", (e) => { if (e.data) end(`failed: ${JSON.parse(e.data).error}`); });
    es.addEventListener("cancelled", () => end("cancelled"));
  } catch (err) { $("#index-progress").textContent = err.message; }
});
$("#index-cancel").addEventListener("click", () => { if (state.index) api(`/api/jobs/${state.index}`, { method: "DELETE" }).catch(() => {}); });

let filterTimer = 0;
$("#filter").addEventListener("input", () => { clearTimeout(filterTimer); filterTimer = setTimeout(applyFilter, 80); });

api("/api/health").then((h) => { $("#health").textContent = `${h.model}`; }).catch(() => {});
loadVideos().then(() => { select(""); setStatus("ready"); })
  .catch((err) => { setStatus("error"); $("#answer").textContent = err.message; });
