// Entry point: sign in, load the state, keep the stream open, and wire the
// header, theme, keyboard shortcuts and notifications to the other modules.

import { $, h, icon, toast, duration } from "./dom.js";
import { get, signIn, openStream, setUnauthorizedHandler } from "./api.js";
import { S, loadState, applyEvent, setRefetch } from "./store.js";
import { initChat, setSearch, renderFeed } from "./chat.js";
import { initPanels, refreshAuditSoon, setSidebar, show } from "./panels.js";
import { initCompose } from "./compose.js";
import { initNeeds } from "./needs.js";
import { initThreads, threadOpen, closeThread } from "./threads.js";
import { initPalette, openPalette, closePalette, paletteOpen, exportChat, sessionReport } from "./palette.js";

let stream = null;
let reloadTimer = null;

function pill(state, text) {
  const p = $("conn");
  p.className = `conn-badge ${state}`;
  p.textContent = text;
  p.title = { ok: "Live updates over the WebSocket", err: "Trying to reach the broker…", wait: "" }[state] || "";
}

// Event buffers of the state loads in flight. A `/v1/state` answer may have been
// read before an event that reaches the page while the answer travels; loading
// it would drop that event. So each load collects the events that arrive during
// it and applies them again on top of its answer, in order. Every event is an
// upsert or a forward-only change (store.js), so applying one twice is harmless.
const loads = new Set();

async function reload() {
  const arrived = [];
  loads.add(arrived);
  try {
    loadState(await get("/v1/state"));
    for (const ev of arrived) applyEvent(ev);
    return true;
  } catch (e) {
    if (e.status !== 401) pill("err", "broker unreachable");
    return false;
  } finally {
    loads.delete(arrived);
  }
}
/** Reload the whole state soon (coalescing bursts). */
function reloadSoon() { clearTimeout(reloadTimer); reloadTimer = setTimeout(reload, 250); }

function startStream() {
  stream = openStream({
    // "connected" once the page is current: the stream is open and the state
    // read after it opened is loaded.
    open: async () => { S.connected = true; if (await reload()) pill("ok", "connected"); refreshAuditSoon(); },
    frame: (f) => {
      if (f.type === "event" && f.event) {
        for (const arrived of loads) arrived.push(f.event);
        applyEvent(f.event);
        refreshAuditSoon();
      }
      else if (f.type === "hello" && S.session && f.session_id !== S.session) reloadSoon();
      else if (f.type === "shutdown") pill("err", "broker stopped");
    },
    close: () => { S.connected = false; if (!$("conn").textContent.includes("stopped")) pill("err", "reconnecting"); },
  });
}

// ---- theme ----
function applyTheme(t) {
  document.documentElement.dataset.theme = t;
  localStorage.setItem("theme", t);
  const b = $("theme-btn");
  b.replaceChildren(icon(t === "dark" ? "sun" : "moon"));
  b.setAttribute("aria-label", t === "dark" ? "Switch to light theme" : "Switch to dark theme");
}
const toggleTheme = () => applyTheme(document.documentElement.dataset.theme === "dark" ? "light" : "dark");

// ---- notifications ----
function askNotifications(explicit) {
  if (!("Notification" in window)) { if (explicit) toast("This browser has no notifications", "err"); return; }
  if (Notification.permission === "default") Notification.requestPermission().catch(() => {});
  else if (explicit) toast(`Notifications are ${Notification.permission}`, "info");
}

// ---- login ----
function showLogin(message) {
  $("app").hidden = true;
  $("login").hidden = false;
  $("login-error").textContent = message || "";
  $("login-token").focus();
}

async function boot() {
  applyTheme(localStorage.getItem("theme") || "dark");
  initChat();
  initPanels();
  initNeeds();
  initCompose();
  initThreads();
  initPalette({
    toggleTheme, retarget: renderFeed, notifications: () => askNotifications(true),
    toggleSidebar: () => setSidebar($("sidebar").dataset.state === "expanded" ? "collapsed" : "expanded"),
    showPanel: (p) => { setSidebar("expanded"); show(p); openSidebar(true); },
  });
  setRefetch(reloadSoon);

  $("theme-btn").addEventListener("click", toggleTheme);
  $("export-btn").addEventListener("click", exportChat);
  $("palette-btn").addEventListener("click", openPalette);
  $("report-btn").addEventListener("click", sessionReport);
  $("menu-btn").addEventListener("click", () => openSidebar(!document.body.classList.contains("sidebar-open")));
  $("overlay").addEventListener("click", () => openSidebar(false));
  $("search-input").addEventListener("input", (e) => setSearch(e.target.value));
  document.addEventListener("keydown", keys);
  document.addEventListener("click", () => askNotifications(false), { once: true });
  $("login-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    if (await signIn($("login-token").value.trim())) { $("login").hidden = true; $("app").hidden = false; await start(); }
    else $("login-error").textContent = "That is not the admin token.";
  });

  setInterval(() => {
    $("uptime").textContent = S.session ? `up ${duration(S.uptimeMs + Date.now() - S.stateAt)}` : "";
    if (stream && !stream.isOpen() && !$("app").hidden) reload();
  }, 5000);

  // The automatic sign-in (loopback broker); else a session cookie from an
  // earlier sign-in with the token; else ask for the admin token.
  let ok = false;
  if (await signIn()) ok = await reload();
  else {
    try { loadState(await get("/v1/state")); ok = true; } catch (e) { if (e.status !== 401) throw e; }
  }
  setUnauthorizedHandler(() => { if (stream) { stream.stop(); stream = null; } showLogin("Your session ended; sign in again."); });
  if (ok) startStream(); else showLogin();
}

async function start() {
  if (await reload()) startStream();
  else showLogin();
}

function openSidebar(open) { document.body.classList.toggle("sidebar-open", open && window.matchMedia("(max-width: 900px)").matches); }

function keys(e) {
  const tag = document.activeElement?.tagName;
  const typing = tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT";
  if ((e.ctrlKey || e.metaKey) && e.key.toLowerCase() === "k") { e.preventDefault(); paletteOpen() ? closePalette() : openPalette(); return; }
  if (e.key === "Escape") {
    if (paletteOpen()) { closePalette(); return; }
    if (threadOpen()) { closeThread(); return; }
    if (document.body.classList.contains("sidebar-open")) { openSidebar(false); return; }
    const s = $("search-input");
    if (document.activeElement === s || s.value || !$("search-results").hidden) { s.value = ""; setSearch(""); s.blur(); return; }
    if (document.activeElement === $("msg-text")) $("msg-text").blur();
    return;
  }
  if (e.key === "/" && !typing && !e.ctrlKey && !e.metaKey) { e.preventDefault(); $("msg-text").focus(); }
}

boot().catch((e) => { console.error(e); pill("err", "error"); toast(String(e.message || e), "err", 6000); });
void h;
