// The sidebar: an icon rail and nine panels (Needs you, Peers, Groups, Tasks, Files,
// Activity, Decisions, Verifications, Proposals), collapsible, with its state
// kept in local storage. The coordination panels read the lists the broker
// adds to /v1/state when it has those features and stay empty otherwise.

import { h, add, $, icon, avatar, toast, confirmBox, hm, ago, fullTime } from "./dom.js";
import { get, post, put, del } from "./api.js";
import { S, on, partyName, OPERATOR_ID } from "./store.js";
import { typingNow } from "./chat.js";
import { needsPanel, needsCount } from "./needs.js";

const PANELS = [
  { id: "needs", label: "Needs you", badge: needsCount, render: needsPanel },
  { id: "peers", label: "Peers", badge: () => [...S.peers.values()].filter((p) => p.state !== "gone").length, render: peersPanel },
  { id: "groups", label: "Groups", badge: () => S.groups.size, render: groupsPanel },
  { id: "tasks", label: "Tasks", badge: () => (S.coord.tasks || []).filter((t) => !taskDone(t)).length, render: tasksPanel, coord: "tasks" },
  { id: "files", label: "Files", badge: () => fileRows().length, render: filesPanel, coord: "active_files" },
  { id: "activity", label: "Activity", badge: () => 0, render: activityPanel },
  { id: "decisions", label: "Decisions", badge: () => (S.coord.decisions || []).filter((d) => d.status === "active").length, render: decisionsPanel, coord: "decisions" },
  { id: "verifications", label: "Verifications", badge: () => (S.coord.verifications || []).filter((v) => v.status === "pending").length, render: verificationsPanel, coord: "verifications" },
  { id: "proposals", label: "Proposals", badge: () => (S.coord.proposals || []).filter((p) => p.status === "open").length, render: proposalsPanel, coord: "proposals" },
];

const bodies = new Map();
const badges = new Map();
let active = localStorage.getItem("sidebar-panel") || "peers";

export function initPanels() {
  const rail = $("rail");
  const area = $("panels");
  for (const p of PANELS) {
    const badge = h("span", { class: "rail-badge", "aria-hidden": "true" });
    badges.set(p.id, badge);
    rail.append(h("button", { type: "button", class: "rail-btn", dataset: { panel: p.id }, "aria-label": p.label, title: p.label, onclick: () => railClick(p.id) },
      icon(p.id), h("span", { class: "rail-label", text: p.label }), badge));
    const body = h("div", { class: "panel-body" });
    bodies.set(p.id, body);
    area.append(h("section", { class: "panel", id: `panel-${p.id}`, "aria-label": p.label },
      h("h2", { class: "panel-title" }, icon(p.id), p.label), p.id === "groups" ? groupForm() : p.id === "tasks" ? taskForm() : null, body));
  }
  if (!PANELS.some((p) => p.id === active)) active = "peers";
  setSidebar(localStorage.getItem("sidebar-state") || "expanded");
  show(active);
  on("all", renderAll);
  on("peers", () => { render("peers"); render("groups"); render("files"); refreshAssignees(); });
  on("groups", () => { render("peers"); render("groups"); });
  on("typing-set", () => render("peers"));
  on("audit", () => render("activity"));
  on("needs", () => render("needs"));
  on("coord", (list) => { for (const p of PANELS) if (!list || p.coord === list) render(p.id); });
  setInterval(() => render("peers"), 15000);
}

function railClick(id) {
  const sb = $("sidebar");
  if (window.matchMedia("(max-width: 640px)").matches) { show(id); return; }
  if (sb.dataset.state === "expanded" && id === active) setSidebar("collapsed");
  else { setSidebar("expanded"); show(id); }
}

export function setSidebar(state) {
  $("sidebar").dataset.state = state;
  localStorage.setItem("sidebar-state", state);
}

export function show(id) {
  active = id;
  localStorage.setItem("sidebar-panel", id);
  for (const p of PANELS) {
    $(`panel-${p.id}`).classList.toggle("active", p.id === id);
    $("rail").querySelector(`[data-panel="${p.id}"]`).classList.toggle("active", p.id === id);
    $("rail").querySelector(`[data-panel="${p.id}"]`).setAttribute("aria-pressed", p.id === id ? "true" : "false");
  }
}

function renderAll() { for (const p of PANELS) render(p.id); }

const pending = new Set();
function render(id) {
  const p = PANELS.find((x) => x.id === id);
  const body = bodies.get(id);
  // Do not pull a <select> from under the user's pointer; redo it after.
  if (body.contains(document.activeElement) && document.activeElement.tagName === "SELECT") {
    if (!pending.has(id)) {
      pending.add(id);
      document.activeElement.addEventListener("blur", () => { pending.delete(id); render(id); }, { once: true });
    }
    return;
  }
  const n = p.badge();
  badges.get(id).textContent = n ? String(n) : "";
  const form = $(`panel-${id}`).querySelector("form");
  if (form) form.hidden = !!(p.coord && S.coord[p.coord] == null);
  if (id === "tasks") refreshAssignees();
  if (p.coord && S.coord[p.coord] == null) {
    body.replaceChildren(h("p", { class: "empty", text: "Not available: this broker does not have coordination features." }));
    return;
  }
  // A field the person is typing in (data-keep: the lane's notes) keeps its
  // focus and caret across the re-render; its text is kept by its panel.
  const el = document.activeElement;
  const typing = body.contains(el) && el.dataset.keep ? { key: el.dataset.keep, start: el.selectionStart, end: el.selectionEnd } : null;
  body.replaceChildren(...[p.render()].flat(Infinity).filter((n) => n != null));
  if (typing) {
    const again = [...body.querySelectorAll("[data-keep]")].find((f) => f.dataset.keep === typing.key);
    if (again) { again.focus(); again.setSelectionRange(typing.start, typing.end); }
  }
}

const empty = (text) => h("p", { class: "empty", text });

/** A name for a party-ish field: an object {id,name}, or an id string. */
function who(v) {
  if (!v) return "";
  if (typeof v === "object") return partyName(v);
  if (v === OPERATOR_ID) return "You";
  return S.peers.get(v)?.name || v;
}

// ---- Peers ----

function liveness(p) {
  if (p.state === "live" && p.connected) return ["g", "connected"];
  if (p.state === "live") return ["y", "reconnecting"];
  return ["r", p.state];
}

const REACH = {
  socket: "its session's own messaging socket: a message is queued as a prompt",
  channel: "channel notifications",
  wake: "its Stop hook wakes it when idle",
  "next-turn": "its hooks add messages at its next turn",
  "tool-only": "no push: it sees messages at its next tool call",
  offline: "offline: messages are kept for it",
};

/** How the peer is reached (the ladder's rung) and the client it runs in. */
function reachLine(p) {
  const r = p.reach || "offline";
  const held = p.holds_messages ? " · holds peer messages for its user" : "";
  const client = p.client ? ` · ${p.client.name} ${p.client.version}` : "";
  return h("div", { class: "peer-reach muted", title: `Reach: ${REACH[r] || r}${held}`, text: `reach: ${r}${held}${client}` });
}

function peerCard(p, typing) {
  const [ring, why] = liveness(p);
  const sel = h("select", { class: "group-select", "aria-label": `Group of ${p.name}`,
    onchange: async (e) => {
      const v = e.target.value;
      try { await put(`/v1/peers/${encodeURIComponent(p.id)}/group`, { group: v || null }); toast(`✓ ${p.name} moved to ${v ? S.groups.get(v)?.name : "Lobby"}`, "ok"); }
      catch (err) { toast(`✗ ${err.message}`, "err", 4000); render("peers"); }
    } },
  h("option", { value: "", text: "Lobby" }),
  [...S.groups.values()].sort((a, b) => a.name.localeCompare(b.name)).map((g) => h("option", { value: g.id, text: g.name })));
  sel.value = p.group?.id || "";
  const av = avatar(p.name, p.id);
  av.classList.add(`ring-${ring}`);
  av.title = why;
  return h("div", { class: `peer-card${typing ? " typing" : ""}${p.state !== "live" ? " stale" : ""}`, dataset: { id: p.id, name: p.name } },
    h("div", { class: "peer-top" }, av,
      h("div", { class: "peer-id" },
        h("span", { class: "peer-name", text: p.name }),
        h("span", { class: "peer-sub", text: p.git_branch ? `⎇ ${p.git_branch}` : `pid ${p.pid}` })),
      h("span", { class: `status-pill p-status-${p.status}`, text: p.status }),
      h("button", { type: "button", class: "icon-btn", "aria-label": `Copy id of ${p.name}`, title: `Copy id ${p.id}`,
        onclick: () => navigator.clipboard?.writeText(p.id).then(() => toast(`Copied: ${p.id}`, "ok", 1500), () => toast(p.id, "info", 4000)) }, icon("copy"))),
    typing ? h("div", { class: "peer-typing" }, h("span", { class: "dots" }, h("i"), h("i"), h("i")), " typing…") : null,
    p.summary ? h("div", { class: "peer-summary", title: p.summary, text: p.summary }) : null,
    h("div", { class: "peer-cwd", title: p.cwd, text: p.cwd.length > 44 ? `…${p.cwd.slice(-43)}` : p.cwd }),
    reachLine(p),
    h("div", { class: "peer-foot" }, h("span", { class: "muted", text: p.connected ? `seen ${ago(p.last_seen)}` : `${why} · ${ago(p.last_seen)}` }), sel));
}

function peersPanel() {
  const peers = [...S.peers.values()].filter((p) => p.state !== "gone").sort((a, b) => a.name.localeCompare(b.name, undefined, { numeric: true }));
  if (!peers.length && !S.groups.size) return empty("Waiting for peers… Start Claude Code with the claude-peers MCP server.");
  const typing = new Set(typingNow());
  const out = [];
  const lobby = peers.filter((p) => !p.group);
  out.push(h("div", { class: "sec-head" }, h("span", { text: "Lobby" }), h("span", { class: "count", text: String(lobby.length) })));
  out.push(lobby.length ? lobby.map((p) => peerCard(p, typing.has(p.id))) : empty("No peers in the lobby"));
  for (const g of [...S.groups.values()].sort((a, b) => a.name.localeCompare(b.name))) {
    const members = peers.filter((p) => p.group?.id === g.id);
    out.push(h("div", { class: "sec-head", dataset: { group: g.id } },
      h("span", { text: g.name }), g.auto ? h("span", { class: "tag", text: "auto" }) : null,
      h("span", { class: "count", text: String(members.length) }),
      h("button", { type: "button", class: "icon-btn del", "aria-label": `Delete group ${g.name}`, title: "Delete group", onclick: () => deleteGroup(g) }, icon("x"))));
    out.push(members.length ? members.map((p) => peerCard(p, typing.has(p.id))) : empty("No members"));
  }
  return out;
}

async function deleteGroup(g) {
  if (!(await confirmBox(`Delete group "${g.name}"? Members will return to the lobby.`, "Delete"))) return;
  try { await del(`/v1/groups/${encodeURIComponent(g.id)}`); toast(`✓ Deleted ${g.name}`, "ok"); }
  catch (e) { toast(`✗ ${e.message}`, "err", 4000); }
}

// ---- Groups ----

function groupForm() {
  const input = h("input", { id: "group-name", type: "text", placeholder: "New group name…", "aria-label": "New group name", maxlength: "64", autocomplete: "off" });
  return h("form", { class: "inline-form", onsubmit: async (e) => {
    e.preventDefault();
    const name = input.value.trim();
    if (!name) return;
    try { await post("/v1/groups", { name }); input.value = ""; toast(`✓ Created ${name}`, "ok"); }
    catch (err) { toast(`✗ ${err.message}`, "err", 4000); }
  } }, input, h("button", { type: "submit", class: "btn primary", text: "Create" }));
}

function groupsPanel() {
  const groups = [...S.groups.values()].sort((a, b) => a.name.localeCompare(b.name));
  if (!groups.length) return empty("No isolation groups. Every peer is in the lobby and can reach every other.");
  return h("div", { class: "group-chips" }, groups.map((g) => {
    const n = [...S.peers.values()].filter((p) => p.group?.id === g.id).length;
    return h("div", { class: "group-chip", dataset: { id: g.id, name: g.name } },
      h("span", { class: "g-name", text: g.name }), g.auto ? h("span", { class: "tag", text: "auto" }) : null,
      h("span", { class: "count", title: `${n} members`, text: String(n) }),
      h("button", { type: "button", class: "icon-btn del", "aria-label": `Delete group ${g.name}`, onclick: () => deleteGroup(g) }, icon("x")));
  }));
}

// ---- Tasks ----

const taskDone = (t) => t.status === "completed";

function refreshAssignees() {
  const sel = $("task-assignee");
  if (!sel || document.activeElement === sel) return;
  const keep = sel.value;
  sel.replaceChildren();
  add(sel, [h("option", { value: "", text: "unassigned" }),
    [...S.peers.values()].filter((p) => p.state !== "gone").sort((a, b) => a.name.localeCompare(b.name)).map((p) => h("option", { value: p.id, text: p.name }))]);
  sel.value = [...sel.options].some((o) => o.value === keep) ? keep : "";
}

function taskForm() {
  const title = h("input", { type: "text", id: "task-title", class: "task-new", placeholder: "New task…", "aria-label": "New task title", maxlength: "256", autocomplete: "off" });
  const who = h("select", { id: "task-assignee", class: "task-assignee", "aria-label": "Assign the new task to" });
  return h("form", { class: "inline-form task-form", onsubmit: async (e) => {
    e.preventDefault();
    const t = title.value.trim();
    if (!t) return;
    try {
      await post("/v1/tasks", who.value ? { title: t, assignee: who.value } : { title: t });
      title.value = "";
      toast("✓ Task created", "ok");
    } catch (err) { toast(`✗ ${err.message}`, "err", 4000); }
  } }, title, who, h("button", { type: "submit", class: "btn primary", text: "Add" }));
}

function tasksPanel() {
  const tasks = S.coord.tasks || [];
  if (!tasks.length) return empty("No tasks");
  return h("ul", { class: "task-list" }, tasks.slice(0, 100).map((t) => {
    const done = taskDone(t);
    const box = h("input", { type: "checkbox", "aria-label": `Complete task ${t.title}`, checked: done, disabled: done,
      onchange: async () => {
        try { await post(`/v1/tasks/${encodeURIComponent(t.id)}/complete`, { result: "" }); toast("✓ Task completed", "ok"); }
        catch (e) { box.checked = false; toast(`✗ ${e.message}`, "err", 4000); }
      } });
    const assignee = who(t.assignee);
    return h("li", { class: `task${done ? " done" : ""}`, dataset: { id: String(t.id), status: t.status } },
      h("label", { title: t.description || "" }, box, h("span", { class: "task-title", text: t.title || "(untitled)" }),
        t.status === "in_progress" ? h("span", { class: "pill ver-pending", text: "in progress" }) : null),
      h("div", { class: "muted small" }, assignee ? `@${assignee} · ` : "unassigned · ", t.created_at ? ago(t.created_at) : "",
        t.result ? h("div", { class: "task-result", text: t.result }) : null));
  }));
}

// ---- Files ----

function fileRows() {
  // ActiveFilesView[] (proto `coord::ActiveFilesView`): a peer and its files.
  const rows = [];
  for (const e of S.coord.active_files || []) {
    const peer = who(e.peer);
    for (const f of e.files) rows.push({ peer, path: f.path, with: f.conflicts_with });
  }
  return rows;
}

function filesPanel() {
  const rows = fileRows();
  if (!rows.length) return empty("No active edits");
  return h("ul", { class: "file-list" }, rows.map((r) => h("li", { class: "file-row", title: r.path },
    h("span", { class: "file-peer", text: r.peer }),
    h("span", { class: "file-name", text: r.path.split(/[\\/]/).pop() }),
    r.with.length > 0
      ? h("span", { class: "badge conflict", title: `also edited by ${r.with.map(who).join(", ")}`, text: "CONFLICT" })
      : null)));
}

// ---- Activity ----

let auditTimer = null;
/** Refresh the audit log soon (it has no stream events of its own). */
export function refreshAuditSoon() {
  clearTimeout(auditTimer);
  auditTimer = setTimeout(async () => {
    try {
      const r = await get("/v1/audit?limit=50");
      S.audit = r; // AuditEntry[] (proto `api::AuditEntry`)
      render("activity");
    } catch { /* next event retries */ }
  }, 600);
}

function activityPanel() {
  if (!S.audit.length) return empty("No activity yet");
  return h("ul", { class: "audit-list" }, S.audit.slice(0, 50).map((e) => h("li", { class: "audit-row" },
    h("time", { datetime: e.at, title: fullTime(e.at), text: hm(e.at) }),
    h("span", { class: "audit-action", text: e.action }),
    h("span", { class: "audit-actor", text: partyName(e.actor) }),
    e.details ? h("span", { class: "audit-details", title: e.details, text: e.details }) : null)));
}

// ---- Decisions ----

function decisionsPanel() {
  const ds = S.coord.decisions || [];
  if (!ds.length) return empty("No decisions recorded");
  const byCat = new Map();
  for (const d of ds) {
    const c = d.category || "general";
    if (!byCat.has(c)) byCat.set(c, []);
    byCat.get(c).push(d);
  }
  return [...byCat.entries()].sort().map(([cat, list]) => h("div", { class: "dec-cat" },
    h("div", { class: "sec-head" }, h("span", { text: cat }), h("span", { class: "count", text: String(list.length) })),
    list.map((d) => h("div", { class: `card decision${d.status !== "active" ? " revoked" : ""}`, dataset: { key: d.key } },
      h("div", { class: "dec-kv" }, h("b", { text: d.key }), h("span", { text: " = " }), h("span", { text: String(d.value ?? "") })),
      d.rationale ? h("div", { class: "rationale", text: d.rationale }) : null,
      h("div", { class: "dec-foot" },
        h("span", { class: "muted small", text: `${who(d.author)} · ${ago(d.updated_at)}${d.status !== "active" ? ` · ${d.status}` : ""}` }),
        d.status === "active"
          ? h("button", { type: "button", class: "btn small-btn", "aria-label": `Revoke decision ${d.key}`, onclick: () => revoke(d), text: "Revoke" })
          : null)))));
}

async function revoke(d) {
  if (!(await confirmBox(`Revoke decision "${d.key}"?`, "Revoke"))) return;
  try { await post(`/v1/decisions/${encodeURIComponent(d.id)}/revoke`, {}); toast(`✓ Revoked ${d.key}`, "ok"); }
  catch (e) { toast(`✗ ${e.message}`, "err", 4000); }
}

// ---- Verifications ----

function verificationsPanel() {
  const vs = S.coord.verifications || [];
  const out = vs.length ? vs.map((v) => {
    const st = v.status;
    return h("div", { class: "card verification", dataset: { id: String(v.id), status: st } },
      h("div", { class: "ver-top" }, h("span", { class: `pill ver-${st}`, text: st }), h("span", { class: "claim", text: v.claim || "" })),
      h("div", { class: "muted small", text: `${who(v.requester)} → ${who(v.verifier)} · ${ago(v.created_at)}` }),
      v.evidence_needed && st === "pending" ? h("div", { class: "muted small", text: `needs: ${v.evidence_needed}` }) : null,
      Array.isArray(v.files_to_check) && v.files_to_check.length ? h("div", { class: "muted small mono", title: v.files_to_check.join("\n"), text: v.files_to_check.map((f) => f.split(/[\\/]/).pop()).join(", ") }) : null,
      v.response ? h("div", { class: "rationale", text: v.response }) : null,
      v.evidence ? h("div", { class: "muted small", text: `evidence: ${v.evidence}` }) : null);
  }) : [empty("No verifications")];
  const approvals = S.coord.approvals || [];
  if (approvals.length) {
    out.push(h("div", { class: "sec-head" }, h("span", { text: "Approvals" }), h("span", { class: "count", text: String(approvals.length) })));
    for (const a of approvals.slice(0, 20)) {
      const st = a.status;
      out.push(h("div", { class: "card approval", dataset: { id: String(a.id), status: st } },
        h("div", { class: "ver-top" }, h("span", { class: `pill ver-${st === "approved" ? "verified" : st === "rejected" ? "failed" : "pending"}`, text: st }), h("span", { class: "claim", text: a.action || "" })),
        h("div", { class: "muted small", text: `${who(a.requester)} → ${who(a.approver)} · ${ago(a.created_at)}` }),
        a.reason ? h("div", { class: "rationale", text: a.reason }) : null));
    }
  }
  return out;
}

// ---- Proposals ----

function votesOf(p) {
  return { votes: p.votes, approves: p.approvals, rejects: p.rejections };
}

async function vote(p, choice) {
  try { await post(`/v1/proposals/${encodeURIComponent(p.id)}/votes`, { vote: choice, reason: "" }); toast(`✓ Voted ${choice}`, "ok"); }
  catch (e) { toast(`✗ ${e.message}`, "err", 4000); }
}

function proposalsPanel() {
  const ps = S.coord.proposals || [];
  if (!ps.length) return empty("No proposals");
  return ps.map((p) => {
    const st = p.status;
    const { votes, approves, rejects } = votesOf(p);
    const required = p.required_votes;
    const pct = Math.min(100, Math.round((approves / required) * 100));
    const bar = h("div", { class: "progress-fill" });
    bar.style.width = `${pct}%`;
    return h("div", { class: `card proposal st-${st}`, dataset: { id: String(p.id) } },
      h("div", { class: "prop-top" }, h("b", { text: p.title || "" }), h("span", { class: `pill prop-${st}`, text: { open: "⏳ Open", approved: "✅ Approved", rejected: "❌ Rejected" }[st] || st })),
      p.description ? h("div", { class: "rationale", text: p.description }) : null,
      h("div", { class: "muted small", text: `by ${who(p.author)} · ${ago(p.created_at)}` }),
      h("div", { class: "progress", role: "progressbar", "aria-valuenow": String(pct), "aria-valuemin": "0", "aria-valuemax": "100", "aria-label": "Approvals" }, bar),
      h("div", { class: "muted small", text: `${approves}/${required} approvals, ${rejects} rejections` }),
      votes.length ? h("ul", { class: "voters" }, votes.map((v) => h("li", { text: `${v.vote === "approve" ? "✅" : "❌"} ${who(v.voter)}${v.reason ? ` — ${v.reason}` : ""}` }))) : null,
      st === "open" ? h("div", { class: "vote-row" },
        h("button", { type: "button", class: "btn ok", "aria-label": `Approve ${p.title}`, onclick: () => vote(p, "approve"), text: "✅ Approve" }),
        h("button", { type: "button", class: "btn danger", "aria-label": `Reject ${p.title}`, onclick: () => vote(p, "reject"), text: "❌ Reject" })) : null);
  });
}
