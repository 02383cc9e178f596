// The "needs you" lane: everything waiting on the person (permission prompts,
// approvals, verifications, proposals to vote on, messages to you, unreachable
// mail, blocked tasks, loops the loop guard holds), newest first, each with the action that resolves it one click away.
// Loaded from GET /v1/needs-you and reloaded (coalesced) on the stream events
// that can change it. New items raise a browser notification when the page is
// hidden and the person allowed notifications (asked for on a click only);
// a burst of items becomes one notification.

import { h, toast, ago, fullTime } from "./dom.js";
import { get, post } from "./api.js";
import { S, on, emit, partyName } from "./store.js";

/** Events after which the lane is reloaded. */
const RELOAD_ON = new Set(["permission", "permission_gone", "needs_you", "approval", "verification", "proposal", "message", "session", "task", "held", "released"]);
/** New items arriving within this many ms share one notification. */
const COALESCE_MS = 3000;

let timer = null;
let loaded = false;
const seen = new Set();
let fresh = [];
let notifyTimer = null;

const key = (i) => `${i.kind}:${i.id}:${i.to?.id || ""}`;

export async function loadNeeds() {
  try {
    const lane = await get("/v1/needs-you");
    S.needs = lane.items || [];
    S.relay = !!lane.permission_relay;
  } catch (e) {
    if (e.status === 404) { S.needs = null; emit("needs"); return; }
    throw e;
  }
  for (const i of S.needs) {
    const k = key(i);
    if (!seen.has(k)) { seen.add(k); if (loaded) fresh.push(i); }
  }
  loaded = true;
  if (fresh.length) scheduleNotification();
  emit("needs");
}

/** Reload soon (bursts of events become one request). */
export function reloadNeedsSoon() {
  clearTimeout(timer);
  timer = setTimeout(() => loadNeeds().catch((e) => console.error("needs-you", e)), 150);
}

export function initNeeds() {
  on("all", reloadNeedsSoon);
  on("event", (ev) => { if (RELOAD_ON.has(ev.kind)) reloadNeedsSoon(); });
}

function scheduleNotification() {
  if (notifyTimer) return;
  notifyTimer = setTimeout(() => {
    notifyTimer = null;
    // Only what still waits (an item answered meanwhile needs nobody).
    const still = new Set((S.needs || []).map(key));
    const items = fresh.filter((i) => still.has(key(i)));
    fresh = [];
    if (!items.length || !document.hidden || !("Notification" in window) || Notification.permission !== "granted") return;
    const title = items.length === 1 ? items[0].title : `${items.length} things need you`;
    const body = items.length === 1 ? (items[0].detail || "").slice(0, 160) : items.slice(0, 3).map((i) => i.title).join("\n");
    try { new Notification(title, { body, tag: "claude-peers-needs-you" }); } catch { /* not allowed here */ }
  }, COALESCE_MS);
}

/** Ask for notification permission: only ever from a click. */
export function askPermission() {
  if (!("Notification" in window)) { toast("This browser has no notifications", "err"); return; }
  if (Notification.permission === "default") Notification.requestPermission().then((p) => { toast(`Notifications ${p}`, "info"); emit("needs"); }).catch(() => {});
  else toast(`Notifications are ${Notification.permission}`, "info");
}

async function act(label, fn) {
  try { await fn(); toast(`✓ ${label}`, "ok"); reloadNeedsSoon(); }
  catch (e) { toast(`✗ ${e.message}`, "err", 4000); reloadNeedsSoon(); }
}

/** What the person typed in a card's field, by item: kept while the lane reloads. */
const drafts = new Map();

/** A one-line text field sent with the card's answer (the requester reads it). */
function note(i, placeholder, aria) {
  const k = key(i);
  const field = h("input", { type: "text", class: "needs-note", placeholder, "aria-label": aria, maxlength: "2000", dataset: { keep: k } });
  field.value = drafts.get(k) || "";
  field.addEventListener("input", () => { if (field.value) drafts.set(k, field.value); else drafts.delete(k); });
  return field;
}

/** Answer an item with the text of its field; the draft goes once answered. */
const answered = (i, fn) => async (...args) => { await fn(...args); drafts.delete(key(i)); };

const btn = (cls, label, aria, fn) => h("button", { type: "button", class: `btn ${cls}`, "aria-label": aria, onclick: fn, text: label });

function actions(i) {
  const id = encodeURIComponent(i.id);
  switch (i.kind) {
    case "permission":
      return [
        btn("ok", "Allow", `Allow ${i.title}`, () => act("Allowed", () => post(`/v1/permissions/${id}`, { behavior: "allow" }))),
        btn("danger", "Deny", `Deny ${i.title}`, () => act("Denied", () => post(`/v1/permissions/${id}`, { behavior: "deny" }))),
      ];
    case "approval": {
      const reason = note(i, "Reason (optional)", `Reason for ${i.title}`);
      const answer = answered(i, (approved) => post(`/v1/approvals/${id}/respond`, { approved, reason: reason.value.trim() || undefined }));
      return [
        reason,
        btn("ok", "Approve", `Approve ${i.title}`, () => act("Approved", () => answer(true))),
        btn("danger", "Reject", `Reject ${i.title}`, () => act("Rejected", () => answer(false))),
      ];
    }
    case "verification": {
      const notes = note(i, "Notes (optional)", `Notes on ${i.title}`);
      const answer = answered(i, (status, fallback) => post(`/v1/verifications/${id}/respond`, { status, response: notes.value.trim() || fallback }));
      return [
        notes,
        btn("ok", "Verified", `Verified: ${i.title}`, () => act("Answered", () => answer("verified", "verified by the operator"))),
        btn("danger", "Failed", `Failed: ${i.title}`, () => act("Answered", () => answer("failed", "failed the operator's check"))),
      ];
    }
    case "proposal":
      return [
        btn("ok", "Approve", `Vote approve on ${i.title}`, () => act("Voted", () => post(`/v1/proposals/${id}/votes`, { vote: "approve", reason: "" }))),
        btn("danger", "Reject", `Vote reject on ${i.title}`, () => act("Voted", () => post(`/v1/proposals/${id}/votes`, { vote: "reject", reason: "" }))),
      ];
    case "message":
      return [btn("", "Mark read", `Mark read: ${i.title}`, () => act("Marked read", () => post("/v1/needs-you/read", { upto: Number(i.id) })))];
    case "unreachable_mail":
      return [btn("", "Dismiss", `Dismiss: ${i.title}`, () => act("Dismissed", () => post("/v1/needs-you/dismiss", { message_id: Number(i.id), recipient: i.to?.id || "" })))];
    case "blocked_task":
      return [
        btn("", "Reply…", `Reply to ${partyName(i.from)}: ${i.title}`, () => {
          const text = window.prompt(`Message to ${partyName(i.from)} (${i.title})`);
          if (text && text.trim()) act("Sent", () => post("/v1/messages", { to: i.from.id, text }));
        }),
        btn("ok", "Complete", `Complete the task: ${i.title}`, () => act("Completed", () => post(`/v1/tasks/${id}/complete`, { result: "completed by the operator from the needs-you lane" }))),
      ];
    case "held_loop":
      return [btn("primary", "Release", `Release: ${i.title}`, () => act("Released", () => post(`/v1/chains/${id}/release`, {})))];
    default:
      return [];
  }
}

const LABEL = { permission: "🔐 Permission", approval: "✋ Approval", verification: "🔍 Verify", proposal: "🗳 Proposal", message: "✉️ Message", unreachable_mail: "📭 Unreachable", blocked_task: "⛔ Blocked", held_loop: "🔁 Held loop" };

/** The panel's content. */
export function needsPanel() {
  const out = [];
  if ("Notification" in window && Notification.permission === "default") {
    out.push(h("button", { type: "button", class: "btn notify-btn", id: "notify-btn", onclick: askPermission, text: "🔔 Notify me when something needs me" }));
  }
  if (S.needs == null) return [...out, h("p", { class: "empty", text: "Loading…" })];
  if (!S.needs.length) return [...out, h("p", { class: "empty", text: "Nothing needs you." })];
  for (const i of S.needs) {
    out.push(h("div", { class: `card needs needs-${i.kind}`, dataset: { kind: i.kind, id: String(i.id) } },
      h("div", { class: "needs-top" }, h("span", { class: "pill", text: LABEL[i.kind] || i.kind }), h("span", { class: "muted small", title: fullTime(i.at), text: `${partyName(i.from)} · ${ago(i.at)}` })),
      h("div", { class: "needs-title", text: i.title }),
      i.detail && i.detail !== i.title ? h("div", { class: "muted small needs-detail", text: i.detail.slice(0, 400) }) : null,
      h("div", { class: "needs-actions" }, ...actions(i))));
  }
  return out;
}

/** The rail badge. */
export const needsCount = () => (S.needs || []).length;
