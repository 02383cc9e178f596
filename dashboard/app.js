"use strict";
// Minimal live view: peers and the session's messages, over the operator stream.
const $ = (id) => document.getElementById(id);
function text(el, s) { el.textContent = s; return el; }
function li(s) { return text(document.createElement("li"), s); }
async function signIn() {
  const r = await fetch("/v1/session", { method: "POST", headers: { "Content-Type": "application/json" }, body: "{}" });
  return r.ok;
}
async function load() {
  let r = await fetch("/v1/state");
  if (r.status === 401 && (await signIn())) r = await fetch("/v1/state");
  if (!r.ok) return;
  const s = await r.json();
  $("peer-list").replaceChildren(...s.peers.map((p) => li(`${p.name} (${p.state}${p.connected ? "" : ", offline"})`)));
  $("messages").replaceChildren(...s.messages.slice().reverse().map((m) => li(`${m.from.name} → ${m.to ? m.to.name : m.scope || "group"}: ${m.text}`)));
}
function connect() {
  const ws = new WebSocket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/v1/stream`);
  ws.onopen = () => { text($("conn"), "connected").className = "pill ok"; load(); };
  ws.onmessage = () => load();
  ws.onclose = () => { text($("conn"), "reconnecting").className = "pill"; setTimeout(connect, 1000); };
}
signIn().then(connect);
