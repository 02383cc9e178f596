// The command palette (Ctrl+K): export, theme, session report, search,
// translation language, panels. Also the export and session report actions.

import { h, $, icon, toast } from "./dom.js";
import { getText } from "./api.js";
import { S } from "./store.js";
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

export async function exportChat() {
  try {
    const name = `claude-peers-chat-${S.session.slice(0, 8) || "session"}.txt`;
    // The broker's export: the whole session as text.
    download(name, await getText("/v1/session/export"), "text/plain");
    toast("✓ Exported the session", "ok");
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

export async function sessionReport() {
  let text;
  try { text = await getText("/v1/session/report"); } catch (e) { toast(`✗ ${e.message}`, "err"); return; }
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
