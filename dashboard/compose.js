// The compose bar: choose a peer, a group or everyone; an auto-growing
// textarea where Enter sends and Shift+Enter starts a new line.

import { h, $, toast } from "./dom.js";
import { post } from "./api.js";
import { S, on } from "./store.js";

const MAX = 65536;

export function initCompose() {
  const text = $("msg-text");
  const form = $("compose");
  text.addEventListener("input", () => { grow(); count(); });
  text.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) { e.preventDefault(); send(); }
  });
  form.addEventListener("submit", (e) => { e.preventDefault(); send(); });
  $("to-peer").addEventListener("change", (e) => localStorage.setItem("compose-to", e.target.value));
  on("all", options);
  on("peers", options);
  on("groups", options);
}

function grow() {
  const t = $("msg-text");
  t.style.height = "auto";
  t.style.height = `${Math.min(200, t.scrollHeight)}px`;
}

function bytes(s) { return new TextEncoder().encode(s).length; }

function count() {
  const n = bytes($("msg-text").value);
  const c = $("char-count");
  c.hidden = n < 50000;
  c.textContent = `${n.toLocaleString()} / ${MAX.toLocaleString()}`;
  c.classList.toggle("over", n > MAX);
}

function options() {
  const sel = $("to-peer");
  if (document.activeElement === sel) return;
  const keep = sel.value || localStorage.getItem("compose-to") || "";
  const peers = [...S.peers.values()].filter((p) => p.state !== "gone").sort((a, b) => a.name.localeCompare(b.name, undefined, { numeric: true }));
  const groups = [...S.groups.values()].sort((a, b) => a.name.localeCompare(b.name));
  const opts = [];
  opts.push(h("optgroup", { label: "Peers" }, peers.length
    ? peers.map((p) => h("option", { value: `p:${p.id}`, text: `${p.name} (${p.group?.name || "Lobby"})${p.state === "live" ? "" : ` · ${p.state}`}` }))
    : h("option", { value: "", disabled: true, text: "no peers" })));
  if (groups.length) {
    opts.push(h("optgroup", { label: "Groups" }, groups.map((g) => {
      const n = peers.filter((p) => p.group?.id === g.id).length;
      return h("option", { value: `g:${g.id}`, text: `group ${g.name} (${n})` });
    })));
  }
  opts.push(h("optgroup", { label: "Broadcast" }, h("option", { value: "b:machine", text: `everyone (${peers.length})` })));
  sel.replaceChildren(...opts);
  const values = [...sel.options].filter((o) => !o.disabled).map((o) => o.value);
  sel.value = values.includes(keep) ? keep : values[0] || "";
}

export async function send() {
  const ta = $("msg-text");
  const text = ta.value.trim();
  if (!text) return;
  if (bytes(text) > MAX) { toast("✗ Message too long (max 64 KB)", "err"); return; }
  const to = $("to-peer").value;
  if (!to) { toast("✗ Nobody to send to yet", "err"); return; }
  const [kind, id] = [to.slice(0, 1), to.slice(2)];
  const btn = $("send-btn");
  btn.disabled = true;
  try {
    if (kind === "p") await post("/v1/messages", { to: id, text });
    else if (kind === "g") await post(`/v1/groups/${encodeURIComponent(id)}/messages`, { text });
    else await post("/v1/broadcasts", { scope: "machine", text });
    ta.value = "";
    grow();
    count();
    toast("✓ Sent", "ok", 1500);
  } catch (e) {
    toast(`✗ ${e.message}`, "err", 4000);
  } finally {
    btn.disabled = false;
    ta.focus();
  }
}
