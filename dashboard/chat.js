// The chat feed: messages oldest→newest with sender grouping and time
// dividers, replies grouped under their thread (collapsed by default),
// Markdown bodies, structured-message badges, context snapshots,
// delivery/read ticks, reactions, pins, translation, the pinned bar,
// typing indicators, and paging older messages in as the reader scrolls up.
// Search is the broker's (threads.js).

import { h, add, $, icon, avatar, hm, hms, fullTime, toast } from "./dom.js";
import { get, post } from "./api.js";
import { S, on, emit, orderedMessages, addOlder, partyName, groupName, OPERATOR_ID } from "./store.js";
import { render as markdown, plain } from "./markdown.js";
import * as tr from "./translate.js";
import { openThread, searchServer } from "./threads.js";

export const EMOJI = ["👍", "👀", "✅", "⚠️", "❌", "🎉", "❤️", "🤔"];
const TYPES = {
  question: "Question", decision: "Decision", context_share: "Context", review_request: "Review",
  handoff: "Handoff", task: "Task", verification: "Verification", proposal: "Proposal", approval: "Approval",
};
const GAP_MS = 5 * 60 * 1000;
const PAGE = 50;

const els = new Map();          // message id → element
const expanded = new Set();     // threads whose replies are shown in the feed
const translated = new Map();   // message id → {lang, text} while shown translated
let feed, list;
let loadingOlder = false;
let stuck = true;               // the reader is at the newest message

export function initChat() {
  feed = $("feed");
  list = $("feed-list");
  on("all", () => { renderAll(true); renderPinned(); renderTyping(); });
  on("message", (id) => appendMessage(id));
  on("message-update", (id) => updateMessage(id));
  on("pinned", renderPinned);
  on("typing", renderTyping);
  on("peers", () => renderTyping());
  let size = "";
  const sizeNow = () => `${feed.clientWidth}x${feed.clientHeight}`;
  feed.addEventListener("scroll", () => {
    // A scroll caused by a resize is not the reader's: the observer below handles it.
    if (sizeNow() === size) stuck = nearBottom();
    if (feed.scrollTop < 300) loadOlder();
    if (stuck) $("jump-btn").hidden = true;
  });
  // Stay at the newest message when the window, the feed or its content changes size.
  const ro = new ResizeObserver(() => { size = sizeNow(); if (stuck) scrollToBottom(false); });
  ro.observe(feed);
  ro.observe(list);
  $("jump-btn").addEventListener("click", () => scrollToBottom(true));
  setInterval(renderTyping, 1000);
}

const nearBottom = () => feed.scrollHeight - feed.scrollTop - feed.clientHeight < 80;
function scrollToBottom(smooth) {
  stuck = true;
  feed.scrollTo({ top: feed.scrollHeight, behavior: smooth ? "smooth" : "auto" });
  $("jump-btn").hidden = true;
}

/** Who a message went to, as a short label. */
export function targetLabel(m) {
  if (m.to) return partyName(m.to);
  if (m.scope) return m.scope === "machine" ? "everyone" : `everyone in ${m.scope}`;
  if (m.group) return `group ${m.group.name}`;
  return "group";
}

function sideOf(m) {
  if (m.from.kind === "operator") return m.from.id === OPERATOR_ID ? "mine" : "sys";
  if (m.from.kind === "system") return "sys";
  return "peer";
}

/** A reply whose thread's first message is loaded: shown under it, not in the flow. */
function isReply(m) {
  return m.thread_id != null && m.thread_id !== m.id && S.messages.has(m.thread_id);
}

/** The replies of a thread, collapsed by default, and a way to open it alone. */
function threadBlock(root, replies) {
  const open = expanded.has(root.id);
  const box = h("div", { class: "thread-replies", dataset: { thread: String(root.id) } },
    replies.map((r) => { const el = buildMessage(r, true); els.set(r.id, el); return el; }));
  box.hidden = !open;
  const n = replies.length;
  const toggle = h("button", {
    type: "button", class: "thread-toggle", "aria-expanded": open ? "true" : "false",
    text: `${open ? "▾" : "▸"} ${n} ${n === 1 ? "reply" : "replies"}`,
  });
  toggle.addEventListener("click", () => {
    const now = !expanded.has(root.id);
    if (now) expanded.add(root.id); else expanded.delete(root.id);
    box.hidden = !now;
    toggle.setAttribute("aria-expanded", now ? "true" : "false");
    toggle.textContent = `${now ? "▾" : "▸"} ${n} ${n === 1 ? "reply" : "replies"}`;
  });
  return [h("div", { class: "thread-bar", dataset: { thread: String(root.id) } }, toggle,
    h("button", { type: "button", class: "thread-open", text: "Open thread", onclick: () => openThread(root.id) })), box];
}

function continues(prev, m) {
  return prev && prev.from.id === m.from.id && new Date(m.sent_at) - new Date(prev.sent_at) < GAP_MS;
}

function renderAll(toBottom) {
  els.clear();
  const msgs = orderedMessages();
  const nodes = [];
  if (!msgs.length) {
    nodes.push(h("div", { class: "empty-chat" },
      h("div", { class: "empty-logo" }, icon("peers", "icon big")),
      h("h2", { text: "Your peer network" }),
      h("p", { text: "Messages between your Claude Code sessions appear here. Write to a peer, a group or everyone below." })));
  } else {
    nodes.push(h("div", { class: "feed-edge", text: S.olderDone ? "Session started" : "Loading older messages…" }));
  }
  const replies = new Map();
  for (const m of msgs) if (isReply(m)) (replies.get(m.thread_id) || replies.set(m.thread_id, []).get(m.thread_id)).push(m);
  let prev = null;
  for (const m of msgs) {
    if (isReply(m)) continue;
    if (prev && new Date(m.sent_at) - new Date(prev.sent_at) > GAP_MS) nodes.push(divider(m.sent_at));
    const el = buildMessage(m, !continues(prev, m));
    els.set(m.id, el);
    nodes.push(el);
    if (replies.has(m.id)) { nodes.push(...threadBlock(m, replies.get(m.id))); prev = null; } else prev = m;
  }
  list.replaceChildren(...nodes);
  if (toBottom) { scrollToBottom(false); fillScreen(); }
}

const divider = (iso) => h("div", { class: "time-divider", role: "separator" }, h("span", { text: hm(iso) }));

function appendMessage(id) {
  const m = S.messages.get(id);
  const msgs = orderedMessages();
  const idx = msgs.findIndex((x) => x.id === id);
  if (isReply(m)) { const b = nearBottom(); renderAll(false); if (b) scrollToBottom(false); notify(m); return; }
  if (idx !== msgs.length - 1 || msgs.length === 1) { const b = nearBottom(); renderAll(false); if (b) scrollToBottom(false); return; }
  const stick = stuck || nearBottom() || m.from.id === OPERATOR_ID;
  const prev = msgs[idx - 1];
  if (prev && new Date(m.sent_at) - new Date(prev.sent_at) > GAP_MS) list.append(divider(m.sent_at));
  const el = buildMessage(m, !continues(prev, m));
  el.classList.add("fresh");
  els.set(id, el);
  list.append(el);
  if (stick) scrollToBottom(false); else $("jump-btn").hidden = false;
  notify(m);
}

function updateMessage(id) {
  const old = els.get(id);
  const m = S.messages.get(id);
  if (!old || !m) return;
  const el = buildMessage(m, old.dataset.head === "1");
  els.set(id, el);
  old.replaceWith(el);
  renderPinned();
}

/** Load the next older page while the reader is near the top. */
async function loadOlder() {
  if (loadingOlder || S.olderDone || !S.messages.size) return;
  loadingOlder = true;
  try {
    const oldest = Math.min(...S.messages.keys());
    const r = await get(`/v1/messages?limit=${PAGE}&before=${oldest}`);
    const page = r?.messages || [];
    if (page.length < PAGE) S.olderDone = true;
    const before = feed.scrollHeight - feed.scrollTop;
    addOlder(page);
    renderAll(false);
    feed.scrollTop = feed.scrollHeight - before;
  } catch (e) {
    toast(`✗ ${e.message}`, "err");
  } finally {
    loadingOlder = false;
  }
}

/** Keep paging while the feed does not fill the screen. */
async function fillScreen() {
  for (let i = 0; i < 20 && !S.olderDone && feed.scrollHeight <= feed.clientHeight + 300; i++) {
    await loadOlder();
    scrollToBottom(false);
  }
}

// ---- one message ----

function deliveryTicks(m) {
  const ds = m.deliveries || [];
  if (!ds.length || m.from.kind === "peer" && m.to?.kind === "operator") return null;
  const rank = { queued: 0, delivered: 1, read: 2 };
  const min = ds.reduce((a, d) => Math.min(a, rank[d.state] ?? 0), 2);
  const state = ["queued", "delivered", "read"][min];
  const sym = ["○", "✓", "✓✓"][min];
  const detail = ds.map((d) => `${partyName(d.recipient)}: ${d.state}`).join("\n");
  const read = ds.filter((d) => d.state === "read").length;
  return h("span", { class: `ticks st-${state}`, title: detail, "aria-label": `Delivery: ${detail.replace(/\n/g, ", ")}`, dataset: { state } },
    sym, ds.length > 1 && read > 0 && read < ds.length ? h("small", { text: ` ${read}/${ds.length} read` }) : null);
}

function contextBlock(c) {
  if (!c || !(c.branch || c.summary || c.cwd || c.recent_files?.length)) return null;
  const row = (k, v) => v ? h("div", { class: "ctx-row" }, h("b", { text: `${k}: ` }), v) : null;
  return h("details", { class: "ctx" }, h("summary", { text: "Context" }),
    row("Branch", c.branch), row("Files", (c.recent_files || []).join(", ")), row("Summary", c.summary), row("Directory", c.cwd));
}

function metadataBlock(md) {
  if (!md || typeof md !== "object" || !Object.keys(md).length) return null;
  const show = (v) => (typeof v === "string" ? v : Array.isArray(v) ? v.map(show).join(", ") : JSON.stringify(v));
  return h("details", { class: "ctx meta" }, h("summary", { text: "Details" }),
    Object.entries(md).map(([k, v]) => h("div", { class: "ctx-row" }, h("b", { text: `${k.replace(/_/g, " ")}: ` }), show(v))));
}

function reactionsRow(m) {
  const rs = (m.reactions || []).filter((r) => r.by?.length);
  if (!rs.length) return null;
  return h("div", { class: "reactions" }, rs.map((r) => {
    const mine = r.by.some((b) => b.id === OPERATOR_ID);
    const who = r.by.map(partyName).join(", ");
    return h("button", {
      type: "button", class: `chip${mine ? " mine" : ""}`, title: who,
      "aria-label": `${r.emoji} ${r.by.length}: ${who}${mine ? " (click to remove yours)" : ""}`,
      "aria-pressed": mine ? "true" : "false", dataset: { emoji: r.emoji },
      onclick: () => react(m, r.emoji, mine),
    }, h("span", { class: "e", text: r.emoji }), h("span", { class: "n", text: String(r.by.length) }));
  }));
}

async function react(m, emoji, remove) {
  try { await post(`/v1/messages/${m.id}/reactions`, { emoji, remove }); }
  catch (e) { toast(`✗ ${e.message}`, "err"); }
}

export async function setPinned(id, pinned) {
  try { await post(`/v1/messages/${id}/pin`, { pinned }); }
  catch (e) { toast(`✗ ${e.message}`, "err"); }
}

function emojiPicker(m, anchor) {
  document.querySelectorAll(".picker").forEach((p) => p.remove());
  const picker = h("div", { class: "picker", role: "menu", "aria-label": "Add a reaction" },
    EMOJI.map((e) => {
      const mine = (m.reactions || []).some((r) => r.emoji === e && r.by.some((b) => b.id === OPERATOR_ID));
      return h("button", { type: "button", role: "menuitem", class: mine ? "mine" : "", "aria-label": `React ${e}`, text: e,
        onclick: (ev) => { ev.stopPropagation(); picker.remove(); react(m, e, mine); } });
    }));
  anchor.after(picker);
  const close = (ev) => { if (!picker.contains(ev.target)) { picker.remove(); document.removeEventListener("click", close, true); } };
  setTimeout(() => document.addEventListener("click", close, true));
}

function bodyFor(m) {
  const t = translated.get(m.id);
  const body = h("div", { class: "md" });
  if (t) {
    body.append(markdown(t.text));
    body.lang = t.lang;
    if (tr.isRtl(t.lang)) body.dir = "rtl";
    body.classList.add("translated");
  } else body.append(markdown(m.text));
  return body;
}

async function toggleTranslate(m, btn) {
  if (translated.has(m.id)) { translated.delete(m.id); updateMessage(m.id); return; }
  const lang = tr.getTarget();
  btn.disabled = true;
  btn.classList.add("busy");
  btn.querySelector(".lbl").textContent = "translating…";
  try {
    const text = await tr.translate(m.text, lang);
    translated.set(m.id, { lang, text });
    updateMessage(m.id);
  } catch (e) {
    btn.disabled = false;
    btn.classList.remove("busy");
    btn.querySelector(".lbl").textContent = `${lang.toUpperCase()} (failed)`;
    toast(e.message, "err", 7000);
  }
}

function buildMessage(m, head) {
  const side = sideOf(m);
  const el = h("article", { class: `msg ${side}${head ? " head" : ""}`, dataset: { id: String(m.id), head: head ? "1" : "0", from: m.from.name || m.from.id }, "aria-label": `Message from ${partyName(m.from)}` });
  if (head) {
    add(el, h("div", { class: "msg-head" },
      side !== "mine" ? avatar(partyName(m.from), m.from.id) : null,
      h("span", { class: "who", text: partyName(m.from) }),
      h("span", { class: "to", text: `→ ${targetLabel(m)}` }),
      h("time", { datetime: m.sent_at, title: fullTime(m.sent_at), text: hm(m.sent_at) })));
  }
  const held = m.held ? h("span", { class: "badge held-badge", title: "Held by the loop guard until a person releases its chain", text: "held" }) : null;
  const badge = m.msg_type ? h("span", { class: `badge msg-type msg-type-${m.msg_type.replace(/[^\w-]/g, "")}`, text: TYPES[m.msg_type] || m.msg_type.replace(/_/g, " ") }) : null;
  const t = translated.get(m.id);
  const bubble = h("div", { class: `bubble${m.pinned ? " pinned" : ""}` },
    held, badge, bodyFor(m),
    t ? h("span", { class: "tr-label", text: `translated to ${t.lang}` }) : null,
    metadataBlock(m.metadata), contextBlock(m.context));
  const reactBtn = h("button", { type: "button", class: "act", "aria-label": "Add reaction", title: "React" }, icon("smile"));
  reactBtn.addEventListener("click", (e) => { e.stopPropagation(); emojiPicker(m, reactBtn); });
  const actions = h("div", { class: "msg-foot" },
    h("time", { datetime: m.sent_at, title: fullTime(m.sent_at), text: hms(m.sent_at) }),
    !head ? h("span", { class: "to", text: `→ ${targetLabel(m)}` }) : null,
    deliveryTicks(m),
    m.reply_to ? h("button", { type: "button", class: "act thread-link", title: "Open this message's thread", text: `↩ #${m.reply_to}`, onclick: () => openThread(m.thread_id) }) : null,
    h("span", { class: "spacer" }),
    side !== "mine" ? (() => {
      const b = h("button", { type: "button", class: "act tr-btn", "aria-label": t ? "Show original" : `Translate to ${tr.getTarget()}`, title: t ? "Show original" : "Translate" },
        icon("globe"), h("span", { class: "lbl", text: t ? "original" : tr.getTarget().toUpperCase() }));
      b.addEventListener("click", () => toggleTranslate(m, b));
      return b;
    })() : null,
    reactBtn,
    h("button", { type: "button", class: `act pin-btn${m.pinned ? " on" : ""}`, "aria-label": m.pinned ? "Unpin message" : "Pin message", "aria-pressed": m.pinned ? "true" : "false", title: m.pinned ? "Unpin" : "Pin", onclick: () => setPinned(m.id, !m.pinned) }, icon("pin")));
  add(el, h("div", { class: "msg-col" }, bubble, reactionsRow(m), actions));
  return el;
}

// ---- pinned bar, typing, search, notifications ----

function renderPinned() {
  const bar = $("pinned-bar");
  const pins = [...S.pinned.values()].sort((a, b) => b.id - a.id);
  bar.hidden = !pins.length;
  if (!pins.length) { bar.replaceChildren(); return; }
  bar.replaceChildren(h("span", { class: "pinned-title" }, icon("pin"), `Pinned ${pins.length}`),
    h("div", { class: "pinned-list" }, pins.map((m) => h("div", { class: "pin-item", dataset: { id: String(m.id) } },
      h("button", { type: "button", class: "pin-jump", title: m.text.slice(0, 500), onclick: () => jumpTo(m.id) },
        h("b", { text: partyName(m.from) }), " ", plain(m.text).slice(0, 200)),
      h("button", { type: "button", class: "pin-x", "aria-label": "Unpin message", onclick: () => setPinned(m.id, false) }, icon("x"))))));
}

function jumpTo(id) {
  const el = els.get(id);
  if (!el) { toast("That message is further back: scroll up to load it", "info"); return; }
  el.scrollIntoView({ block: "center", behavior: "smooth" });
  el.classList.remove("flash");
  void el.offsetWidth;
  el.classList.add("flash");
}

export function typingNow() {
  const now = Date.now();
  for (const [id, t] of S.typing) if (now - t > 5000) S.typing.delete(id);
  return [...S.typing.keys()];
}

let typingKey = "";
function renderTyping() {
  const ids = typingNow();
  // Tell the peer cards when the set of typists changes (including when one fades out).
  const key = ids.slice().sort().join(",");
  if (key !== typingKey) { typingKey = key; emit("typing-set"); }
  const line = $("typing-line");
  if (!ids.length) { line.replaceChildren(); line.hidden = true; return; }
  const names = ids.map((id) => S.peers.get(id)?.name || id);
  line.hidden = false;
  line.replaceChildren(h("span", { class: "dots" }, h("i"), h("i"), h("i")),
    ` ${names.join(", ")} ${names.length > 1 ? "are" : "is"} typing…`);
  document.querySelectorAll(".peer-card").forEach((c) => c.classList.toggle("typing", ids.includes(c.dataset.id)));
}

/** The search box asks the broker (every message, not only those loaded). */
export function setSearch(q) {
  searchServer(q);
}

function notify(m) {
  if (!document.hidden || m.from.id === OPERATOR_ID || !("Notification" in window)) return;
  if (Notification.permission !== "granted") return;
  try {
    new Notification(`${partyName(m.from)} sent a message`, { body: plain(m.text).slice(0, 120), tag: "claude-peers-msg" });
  } catch { /* notifications unavailable */ }
}

/** Text export of the loaded messages. */
export function exportText() {
  return orderedMessages().map((m) => `[${hms(m.sent_at)}] ${partyName(m.from)} → ${targetLabel(m)}: ${m.text}`).join("\n");
}

/** Re-render the feed (e.g. after the translation language changed). */
export function renderFeed() { const b = nearBottom(); renderAll(false); if (b) scrollToBottom(false); }
export const groupLabel = groupName;
