// The command palette (Ctrl+K): export, theme, session report, search,
// translation language, panels. Also the export and session report actions.

import { h, $, icon, toast, hms } from "./dom.js";
import { get, getText } from "./api.js";
import { S, partyName, orderedMessages, groupName } from "./store.js";
import { targetLabel } from "./chat.js";
import * as tr from "./translate.js";

let items = [];
let sel = 0;
let mode = "main";
let actions = {};

export function initPalette(acts) {
  actions = acts;
  const input = $("palette-input");
  input.addEventListener("input", () => { sel = 0; draw(); });
  input.addEventListener("keydown", (e) => {
    if (e.key === "ArrowDown") { e.preventDefault(); sel = Math.min(sel + 1, items.length - 1); draw(false); }
    else if (e.key === "ArrowUp") { e.preventDefault(); sel = Math.max(sel - 1, 0); draw(false); }
    else if (e.key === "Enter") { e.preventDefault(); items[sel]?.run(); }
    else if (e.key === "Escape") { e.preventDefault(); e.stopPropagation(); closePalette(); }
  });
  $("palette").addEventListener("click", (e) => { if (e.target.id === "palette") closePalette(); });
}

function commands() {
  if (mode === "lang") {
    return tr.LANGUAGES.map(([code, name]) => ({ label: `${name} (${code})${code === tr.getTarget() ? " ✓" : ""}`, run: () => { tr.setTarget(code); closePalette(); actions.retarget(); toast(`Translate button: ${name}`, "ok"); } }));
  }
  const lang = tr.LANGUAGES.find(([c]) => c === tr.getTarget())?.[1] || tr.getTarget();
  return [
    { label: "Export chat (.txt)", hint: "", icon: "download", run: () => { closePalette(); exportChat(); } },
    { label: "Toggle theme", icon: "moon", run: () => { closePalette(); actions.toggleTheme(); } },
    { label: "Session report", icon: "report", run: () => { closePalette(); sessionReport(); } },
    { label: "Search messages", hint: "", icon: "search", run: () => { closePalette(); $("search-input").focus(); } },
    { label: "Focus message input", hint: "/", icon: "send", run: () => { closePalette(); $("msg-text").focus(); } },
    { label: `Translation language: ${lang}…`, icon: "globe", run: () => { mode = "lang"; $("palette-input").value = ""; sel = 0; draw(); } },
    { label: "Enable browser notifications", icon: "activity", run: () => { closePalette(); actions.notifications(); } },
    { label: "Collapse or expand the sidebar", icon: "menu", run: () => { closePalette(); actions.toggleSidebar(); } },
    ...["peers", "groups", "tasks", "files", "activity", "decisions", "verifications", "proposals"].map((p) => ({
      label: `Show ${p}`, icon: p, run: () => { closePalette(); actions.showPanel(p); } })),
  ];
}

export function openPalette() {
  mode = "main";
  $("palette").hidden = false;
  $("palette-input").value = "";
  sel = 0;
  draw();
  $("palette-input").focus();
}
export function closePalette() { $("palette").hidden = true; }
export const paletteOpen = () => !$("palette").hidden;

function draw(rebuild = true) {
  if (rebuild) {
    const q = $("palette-input").value.trim().toLowerCase();
    items = commands().filter((c) => c.label.toLowerCase().includes(q));
  }
  $("palette-list").replaceChildren(...items.map((c, i) => h("li", {
    role: "option", class: i === sel ? "sel" : "", "aria-selected": i === sel ? "true" : "false",
    onclick: () => c.run(), onmousemove: () => { if (sel !== i) { sel = i; draw(false); } },
  }, c.icon ? icon(c.icon) : null, h("span", { text: c.label }), c.hint ? h("kbd", { text: c.hint }) : null)));
  $("palette-list").querySelector(".sel")?.scrollIntoView({ block: "nearest" });
}

/** All messages of the session (paging back), oldest first. */
async function allMessages() {
  const seen = new Map(orderedMessages().map((m) => [m.id, m]));
  let before = seen.size ? Math.min(...seen.keys()) : null;
  for (let i = 0; i < 200 && before !== null && !S.olderDone; i++) {
    const r = await get(`/v1/messages?limit=200&before=${before}`);
    const page = r?.messages || [];
    for (const m of page) seen.set(m.id, m);
    if (page.length < 200) break;
    before = Math.min(...page.map((m) => m.id));
  }
  return [...seen.values()].sort((a, b) => a.id - b.id);
}

export async function exportChat() {
  try {
    const name = `claude-peers-chat-${S.session.slice(0, 8) || "session"}.txt`;
    // The broker's export has the whole session; older brokers lack it.
    try { download(name, await getText("/v1/session/export"), "text/plain"); toast("✓ Exported the session", "ok"); return; }
    catch (e) { if (e.status !== 404 && e.status !== 405) throw e; }
    const msgs = await allMessages();
    if (!msgs.length) { toast("Nothing to export yet", "info"); return; }
    const text = msgs.map((m) => `[${new Date(m.sent_at).toLocaleDateString()} ${hms(m.sent_at)}] ${partyName(m.from)} → ${targetLabel(m)}: ${m.text}`).join("\n") + "\n";
    download(name, text, "text/plain");
    toast(`✓ Exported ${msgs.length} messages`, "ok");
  } catch (e) { toast(`✗ ${e.message}`, "err"); }
}

function download(name, text, type) {
  const url = URL.createObjectURL(new Blob([text], { type: `${type};charset=utf-8` }));
  const a = h("a", { href: url, download: name });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 5000);
}

/** The broker's session report (GET /v1/session/report) if it has one, else one built here. */
async function fetchReport() {
  try { return await getText("/v1/session/report"); }
  catch (e) { if (e.status !== 404 && e.status !== 405) throw e; }
  return localReport(await allMessages());
}

function localReport(msgs) {
  const L = [];
  const peers = [...S.peers.values()];
  L.push("# Session Report", "", `**Session ID:** \`${S.session}\``);
  if (msgs.length) L.push(`**Started:** ${new Date(msgs[0].sent_at).toLocaleString()}`, `**Duration:** ${Math.round((Date.now() - new Date(msgs[0].sent_at)) / 60000)} minutes`);
  L.push(`**Peers:** ${peers.filter((p) => p.state === "live").length} live, ${peers.length} listed`, "", "## Participants", "");
  for (const p of peers) L.push(`- **${p.name}** — ${p.cwd} (${p.group?.name || "Lobby"})${p.summary ? ` — *${p.summary}*` : ""}`);
  if (S.groups.size) {
    L.push("", "## Groups", "");
    for (const g of S.groups.values()) L.push(`- **${g.name}**: ${peers.filter((p) => p.group?.id === g.id).map((p) => p.name).join(", ") || "empty"}`);
  }
  const tasks = S.coord.tasks || [];
  if (tasks.length) {
    L.push("", `## Tasks (${tasks.filter((t) => t.status === "completed" || t.status === "done").length}/${tasks.length} completed)`, "");
    for (const t of tasks) L.push(`- [${t.status === "completed" || t.status === "done" ? "x" : " "}] **${t.title}**`);
  }
  const decisions = (S.coord.decisions || []).filter((d) => (d.status || "active") === "active");
  if (decisions.length) { L.push("", "## Decisions", ""); for (const d of decisions) L.push(`- [${d.category || "general"}] **${d.key}** = ${d.value}`); }
  const pins = [...S.pinned.values()];
  if (pins.length) { L.push("", "## Pinned", ""); for (const m of pins) L.push(`- ${partyName(m.from)}: ${m.text.slice(0, 200)}`); }
  L.push("", "## Message Stats", "", `- **Total messages:** ${msgs.length}`);
  const by = new Map();
  for (const m of msgs) by.set(partyName(m.from), (by.get(partyName(m.from)) || 0) + 1);
  for (const [n, c] of [...by].sort((a, b) => b[1] - a[1])) L.push(`- ${n}: ${c} messages`);
  if (S.audit.length) {
    L.push("", "## Recent Activity", "");
    for (const e of S.audit.slice(0, 20)) L.push(`- \`${new Date(e.at).toLocaleTimeString()}\` **${e.action}** — ${e.actor ? partyName(e.actor) : ""}${e.details ? `: ${e.details}` : ""}`);
  }
  void groupName;
  return L.join("\n") + "\n";
}

export async function sessionReport() {
  let text;
  try { text = await fetchReport(); } catch (e) { toast(`✗ ${e.message}`, "err"); return; }
  const root = $("modal");
  const close = () => { root.hidden = true; root.replaceChildren(); };
  root.replaceChildren(h("div", { class: "modal-box wide", role: "dialog", "aria-modal": "true", "aria-label": "Session report" },
    h("div", { class: "modal-head" }, icon("report"), h("b", { text: "Session report" }), h("span", { class: "spacer" }),
      h("button", { type: "button", class: "btn", onclick: () => navigator.clipboard?.writeText(text).then(() => toast("Copied", "ok")), text: "Copy" }),
      h("button", { type: "button", class: "btn", onclick: () => download(`claude-peers-report-${S.session.slice(0, 8)}.md`, text, "text/markdown"), text: "Download .md" }),
      h("button", { type: "button", class: "icon-btn", "aria-label": "Close", onclick: close }, icon("x"))),
    h("pre", { class: "report", id: "report-text", text })));
  root.hidden = false;
  root.onclick = (e) => { if (e.target === root) close(); };
  root.onkeydown = (e) => { if (e.key === "Escape") close(); };
  root.querySelector(".btn").focus();
}
