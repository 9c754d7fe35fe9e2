// rushes review page: plain JavaScript, no build step, nothing loaded from elsewhere.
"use strict";

const $ = (id) => document.getElementById(id);
const state = {
  session: null, shot: null, proposals: [], pid: null, fps: 24, frames: 0,
  aReady: false, bReady: false, wipe: 50, view: 0,
};

// ---------------------------------------------------------------------------- requests

async function api(path, options = {}) {
  const opts = { credentials: "same-origin", ...options };
  opts.headers = { ...(options.headers || {}) };
  if (opts.method && opts.method !== "GET") {
    opts.headers["Content-Type"] = "application/json";
    if (state.session) opts.headers[state.session.csrf_header] = state.session.csrf;
  }
  const res = await fetch(path, opts);
  if (res.status === 401) {
    location.href = "/login";
    throw new Error("the access token is missing or wrong; log in again");
  }
  let body = null;
  try { body = await res.json(); } catch (e) { body = null; }
  if (!res.ok) {
    throw new Error((body && body.detail && (typeof body.detail === "string"
      ? body.detail : JSON.stringify(body.detail))) || `${res.status} ${res.statusText}`);
  }
  return body;
}

const enc = encodeURIComponent;
function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") e.className = v;
    else if (k.startsWith("data-")) e.setAttribute(k, v);
    else e[k] = v;
  }
  for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return e;
}

// ---------------------------------------------------------------------------- start

async function start() {
  state.session = await api("/api/session");
  $("project-name").textContent = state.session.project;
  const users = state.session.users;
  for (const u of users) $("users").append(el("option", { value: u }));
  const saved = localStorage.getItem("rushes.user");
  $("user").value = saved && (!users.length || users.includes(saved)) ? saved : state.session.user;
  $("user").addEventListener("change", () => localStorage.setItem("rushes.user", $("user").value));
  $("cut").addEventListener("change", () => showGrid($("cut").value));
  setupPlayer();
  window.addEventListener("hashchange", route);
  route();
}

function route() {
  const m = location.hash.match(/^#\/shot\/([^/]+)(?:\/(\d+))?$/);
  state.view += 1;  // stale polls of the page left behind stop themselves
  if (m) showShot(decodeURIComponent(m[1]), m[2] ? Number(m[2]) : null);
  else showGrid();
}

// ---------------------------------------------------------------------------- grid

async function showGrid(cut) {
  $("shot-view").hidden = true;
  $("grid-view").hidden = false;
  stopVideos();
  const q = cut ? `?cut=${enc(cut)}` : "";
  let data;
  try { data = await api(`/api/shots${q}`); } catch (e) {
    $("grid-info").textContent = e.message; $("grid-info").className = "error"; return;
  }
  const box = $("cut-box");
  box.hidden = !data.cuts.length;
  if (data.cuts.length) {
    $("cut").replaceChildren(el("option", { value: "all" }, "all shots"),
      ...data.cuts.map((c) => el("option", { value: c }, c)));
    $("cut").value = data.cut || "all";
  }
  $("grid-info").className = "muted";
  $("grid-info").textContent = data.source === "cut"
    ? `${data.shots.length} shots of the cut ${data.cut}`
    : `${data.shots.length} shots`;
  $("grid").replaceChildren(...data.shots.map(card));
}

function card(s) {
  const pending = s.proposals.pending || 0;
  const meta = [s.scene && `scene ${s.scene}`, s.take && `take ${s.take}`, `${s.frames} f`,
    s.motion].filter(Boolean).join(" · ");
  const a = el("a", { class: "card", href: `#/shot/${enc(s.name)}`, "data-shot": s.name },
    el("img", { src: s.thumbnail || "", alt: s.name, loading: "lazy" }),
    el("div", { class: "name" }, s.name), el("div", { class: "meta" }, meta));
  if (pending) a.append(el("span", { class: "badge" }, `${pending} pending`));
  if (s.locked) a.append(el("span", { class: "badge lock" }, "locked"));
  return a;
}

// ---------------------------------------------------------------------------- shot page

async function showShot(name, pid) {
  $("grid-view").hidden = true;
  $("shot-view").hidden = false;
  stopVideos();
  state.aReady = state.bReady = false;
  $("shot-title").textContent = name;
  $("decision-msg").textContent = "";
  let shot;
  try { shot = await api(`/api/shots/${enc(name)}`); } catch (e) {
    $("shot-meta").textContent = e.message; $("shot-meta").className = "error"; return;
  }
  state.shot = shot;
  state.fps = rate(shot.fps);
  state.frames = shot.frames;
  $("shot-meta").className = "muted";
  $("shot-meta").textContent = [shot.clip, shot.scene && `scene ${shot.scene}`,
    shot.take && `take ${shot.take}`, `${shot.width}x${shot.height}`, `${shot.fps} fps`,
    `${shot.frames} frames (0–${shot.frames - 1})`, shot.timecode && `TC ${shot.timecode}`].filter(Boolean).join(" · ");
  $("lock").hidden = !shot.locked;
  if (shot.locked) $("lock").textContent = `locked by ${shot.locked.by}: ${shot.locked.note}`;
  state.proposals = shot.proposals;
  const chosen = pid ?? (shot.proposals.find((p) => p.status === "pending") || shot.proposals[0] || {}).id;
  listProposals(chosen);
  loadMedia("a", `/api/shots/${enc(shot.name)}/media`);
  if (chosen) selectProposal(chosen); else noProposal();
  showFrame();
}

function rate(text) {
  const [n, d] = String(text).split("/").map(Number);
  return d ? n / d : n || 24;
}

function listProposals(selected) {
  $("proposals").replaceChildren(...state.proposals.map((p) => el("li", {},
    el("button", { class: p.id === selected ? "sel" : "", "data-pid": p.id,
      onclick: () => { location.hash = `#/shot/${enc(state.shot.name)}/${p.id}`; } },
    `#${p.id} ${p.op} `, el("span", { class: `st-${p.status}` }, p.status),
    p.summary ? ` · ${p.summary}` : ""))));
  if (!state.proposals.length) $("proposals").append(el("li", { class: "muted" }, "no proposals"));
}

function noProposal() {
  state.pid = null;
  $("proposal").hidden = true;
  $("video-b").removeAttribute("src");
  $("video-b").load();
  $("tag-b").textContent = "B: no proposal";
  setWipe(100);
}

async function selectProposal(pid) {
  state.pid = pid;
  state.bReady = false;
  $("proposal").hidden = false;
  $("tag-b").textContent = `B proposal #${pid}`;
  let p;
  try { p = await api(`/api/proposals/${pid}`); } catch (e) {
    $("p-title").textContent = e.message; return;
  }
  $("p-title").replaceChildren(`#${p.id} ${p.op} (${p.version}) `,
    el("span", { class: `st-${p.status}`, id: "p-status" }, p.status));
  $("p-summary").textContent = p.summary || "";
  const g = p.guard_verdict || {};
  $("p-guard").textContent = `guard: ${g.rule || "?"}${g.reasons && g.reasons.length
    ? " (" + g.reasons.join("; ") + ")" : ""} · by ${p.created_by}`;
  $("p-params").replaceChildren(...Object.entries(p.params).map(([k, v]) =>
    el("tr", {}, el("td", {}, k), el("td", { class: "mono" },
      typeof v === "object" ? JSON.stringify(v) : String(v)))));
  $("p-result").textContent = JSON.stringify(p.result, null, 1);
  $("p-decisions").replaceChildren(...p.decisions.map((d) =>
    el("li", {}, `${d.verdict} by ${d.by} at ${String(d.at).slice(0, 19).replace("T", " ")}`
      + (d.note ? `: ${d.note}` : ""))));
  const open = p.status === "pending";
  $("approve").disabled = $("reject").disabled = !open;
  $("note").disabled = !open;
  if (!open) $("decision-msg").textContent = p.superseded_by
    ? `superseded by #${p.superseded_by}` : "";
  loadMedia("b", `/api/proposals/${pid}/media`);
  if (state.wipe >= 100) setWipe(50);
}

// ---------------------------------------------------------------------------- media

function loadMedia(side, url) {
  const view = state.view;
  const video = $(`video-${side}`);
  const status = $("media-status");
  const label = side === "a" ? "proxy of the original" : "render of the proposal";
  const poll = async () => {
    if (view !== state.view) return;
    let m;
    try { m = await api(url); } catch (e) { status.textContent = e.message; return; }
    if (view !== state.view) return;
    if (m.state === "ready") {
      if (side === "a") state.fps = rate(m.fps);
      video.src = m.url;
      video.addEventListener("loadeddata", () => {
        state[side === "a" ? "aReady" : "bReady"] = true;
        if (side === "b") syncB(true);
        status.textContent = "";
        showFrame();
        refreshScopes();
      }, { once: true });
      video.load();
      return;
    }
    if (m.state === "failed") { status.textContent = `${label} failed: ${m.error}`; return; }
    status.textContent = `building the ${label}…`;
    setTimeout(poll, 700);
  };
  poll();
}

function stopVideos() {
  for (const v of [$("video-a"), $("video-b")]) { v.pause(); }
  $("play").textContent = "Play";
}

// ---------------------------------------------------------------------------- player

const frameOf = () => Math.min(state.frames - 1,
  Math.max(0, Math.floor($("video-a").currentTime * state.fps + 1e-3)));

function seekFrame(f) {
  const a = $("video-a");
  a.pause();
  const n = Math.max(0, Math.min(state.frames - 1, f));
  a.currentTime = (n + 0.5) / state.fps;  // the middle of the frame: no rounding to a neighbour
  syncB(true);
}

function syncB(force) {
  const a = $("video-a"), b = $("video-b");
  if (!state.bReady) return;
  if (force || Math.abs(b.currentTime - a.currentTime) > 1.5 / state.fps) {
    b.currentTime = a.currentTime;
  }
}

function showFrame() {
  // frames are counted from 0, as the catalog and the CLI count them
  const f = state.aReady ? frameOf() : 0;
  $("frame").textContent = `frame ${state.aReady ? f : "-"} / ${state.frames - 1}`;
  const parts = [];
  if (state.shot && state.shot.start) parts.push(`clip frame ${state.shot.start + f}`);
  const tc = state.shot && timecode(state.shot.timecode, f);
  if (tc) parts.push(`TC ${tc}`);
  $("tc").textContent = parts.join(" · ");
}

function timecode(start, offset) {
  // non-drop-frame timecode of the shot's first frame plus offset (drop-frame: not shown)
  const m = /^(\d\d):(\d\d):(\d\d):(\d\d)$/.exec(start || "");
  if (!m) return null;
  const nominal = Math.round(state.fps);
  let n = ((Number(m[1]) * 60 + Number(m[2])) * 60 + Number(m[3])) * nominal + Number(m[4]) + offset;
  const p = (v) => String(v).padStart(2, "0");
  const ff = n % nominal; n = Math.floor(n / nominal);
  return `${p(Math.floor(n / 3600) % 24)}:${p(Math.floor(n / 60) % 60)}:${p(n % 60)}:${p(ff)}`;
}

function setWipe(pct) {
  state.wipe = Math.max(0, Math.min(100, Number(pct)));
  $("video-b").style.clipPath = `inset(0 0 0 ${state.wipe}%)`;
  $("wipe-line").style.left = `${state.wipe}%`;
  $("wipe").value = String(state.wipe);
  $("wipe-value").textContent = `${Math.round(state.wipe)}%`;
  $("viewer").dataset.wipe = String(state.wipe);
}

let scopeTimer = null;
function refreshScopes() {
  clearTimeout(scopeTimer);
  scopeTimer = setTimeout(() => {
    const side = $("scope-src").value;
    if (!state.shot || (side === "a" && !state.aReady) || (side === "b" && !state.bReady)) return;
    const f = frameOf();
    const base = side === "a" ? `/api/shots/${enc(state.shot.name)}` : `/api/proposals/${state.pid}`;
    $("scopes").src = `${base}/scopes.png?frame=${f}`;
    $("scope-frame").textContent = `frame ${f}`;
  }, 120);
}

function setupPlayer() {
  const a = $("video-a"), b = $("video-b");
  $("play").addEventListener("click", () => { if (a.paused) a.play(); else a.pause(); });
  a.addEventListener("play", () => { $("play").textContent = "Pause"; if (state.bReady) { syncB(true); b.play(); } });
  a.addEventListener("pause", () => {
    $("play").textContent = "Play"; b.pause(); syncB(true); showFrame(); refreshScopes();
  });
  a.addEventListener("ended", () => { $("play").textContent = "Play"; b.pause(); syncB(true); });
  a.addEventListener("seeked", () => { syncB(true); showFrame(); refreshScopes(); });
  a.addEventListener("timeupdate", () => { showFrame(); if (!a.paused) syncB(false); });
  if ("requestVideoFrameCallback" in HTMLVideoElement.prototype) {
    const each = () => { showFrame(); a.requestVideoFrameCallback(each); };  // every frame shown
    a.requestVideoFrameCallback(each);
  }
  $("step-back").addEventListener("click", () => seekFrame(frameOf() - 1));
  $("step-fwd").addEventListener("click", () => seekFrame(frameOf() + 1));
  $("wipe").addEventListener("input", (e) => setWipe(e.target.value));
  $("scope-src").addEventListener("change", refreshScopes);
  const viewer = $("viewer");
  let dragging = false;
  const move = (e) => {
    const r = viewer.getBoundingClientRect();
    setWipe(((e.clientX - r.left) / r.width) * 100);
  };
  viewer.addEventListener("pointerdown", (e) => {
    dragging = true; viewer.setPointerCapture(e.pointerId); move(e);
  });
  viewer.addEventListener("pointermove", (e) => { if (dragging) move(e); });
  viewer.addEventListener("pointerup", () => { dragging = false; });
  document.addEventListener("keydown", (e) => {
    if ($("shot-view").hidden || ["INPUT", "TEXTAREA", "SELECT"].includes(e.target.tagName)) return;
    if (e.key === "ArrowLeft") { seekFrame(frameOf() - 1); e.preventDefault(); }
    if (e.key === "ArrowRight") { seekFrame(frameOf() + 1); e.preventDefault(); }
    if (e.key === " ") { $("play").click(); e.preventDefault(); }
  });
  $("approve").addEventListener("click", () => decideOn("approve"));
  $("reject").addEventListener("click", () => decideOn("reject"));
  setWipe(50);
}

// ---------------------------------------------------------------------------- decisions

async function decideOn(action) {
  const msg = $("decision-msg");
  const pid = state.pid;
  msg.className = "";
  msg.textContent = "…";
  try {
    const d = await api(`/api/proposals/${pid}/${action}`, {
      method: "POST", body: JSON.stringify({ note: $("note").value, user: $("user").value }),
    });
    msg.className = "done";
    msg.textContent = `proposal #${d.proposal} ${d.verdict} by ${d.by}${d.note ? ` (${d.note})` : ""}`;
    $("note").value = "";
    const shot = await api(`/api/shots/${enc(state.shot.name)}`);
    state.proposals = shot.proposals;
    listProposals(pid);
    const keep = msg.textContent;
    await selectProposal(pid);
    msg.className = "done";
    msg.textContent = keep;
  } catch (e) {
    msg.className = "error";
    msg.textContent = e.message;
  }
}

start().catch((e) => { document.body.prepend(el("p", { class: "error" }, e.message)); });
