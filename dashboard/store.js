// The page's model of the broker: loaded from GET /v1/state, then kept current
// by applying the stream's typed events one by one. Views subscribe to topics
// and re-render only what changed.

export const OPERATOR_ID = "dashboard";

/** Lists of the coordination features, when the broker has them (else null). */
export const COORD = ["tasks", "decisions", "verifications", "proposals", "approvals", "active_files"];

export const S = {
  version: "",
  session: "",
  uptimeMs: 0,
  stateAt: Date.now(),
  peers: new Map(),
  groups: new Map(),
  messages: new Map(),
  pinned: new Map(),
  typing: new Map(),
  audit: [],
  coord: Object.fromEntries(COORD.map((k) => [k, null])),
  olderDone: false,
  connected: false,
  /** The "needs you" lane (GET /v1/needs-you), or null before it loads. */
  needs: null,
  relay: false,
};

const subs = new Map();
/** Subscribe fn to a topic: all, peers, groups, message, message-update, pinned, typing, audit, coord, session. */
export function on(topic, fn) {
  if (!subs.has(topic)) subs.set(topic, []);
  subs.get(topic).push(fn);
}
export function emit(topic, detail) {
  for (const fn of subs.get(topic) || []) {
    try { fn(detail); } catch (e) { console.error(topic, e); }
  }
}

/** Replace everything with a fresh /v1/state answer (proto `api::DashboardState`). */
export function loadState(st) {
  S.version = st.version;
  S.session = st.session_id;
  S.uptimeMs = st.uptime_ms;
  S.stateAt = Date.now();
  S.peers = new Map(st.peers.map((p) => [p.id, p]));
  S.groups = new Map(st.groups.groups.map((g) => [g.id, g]));
  S.messages = new Map(st.messages.map((m) => [m.id, m]));
  S.pinned = new Map(st.pinned.map((m) => [m.id, m]));
  S.typing = new Map(st.typing.map((id) => [id, Date.now()]));
  S.audit = st.audit;
  for (const k of COORD) S.coord[k] = st[k];
  S.olderDone = st.messages.length < 50;
  emit("all");
}

/** Messages in time order (oldest first). */
export function orderedMessages() {
  return [...S.messages.values()].sort((a, b) => a.id - b.id);
}

/** Add an older page (from GET /v1/messages?before=). Returns how many were new. */
export function addOlder(list) {
  let n = 0;
  for (const m of list) if (!S.messages.has(m.id)) { S.messages.set(m.id, m); n++; }
  return n;
}

/** The display name of a party: "You" for this dashboard, "CLI" for the command line. */
export function partyName(p) {
  if (!p) return "?";
  if (p.kind === "operator") return p.id === OPERATOR_ID ? "You" : p.id === "cli" ? "CLI" : p.name || p.id;
  const live = S.peers.get(p.id);
  return live?.name || p.name || p.id;
}

export function groupName(id) {
  if (!id) return "Lobby";
  return S.groups.get(id)?.name || id;
}

function updateMessage(id, fn) {
  const m = S.messages.get(id);
  if (m) { fn(m); emit("message-update", id); }
  const p = S.pinned.get(id);
  if (p && p !== m) fn(p);
}

let refetch = () => {};
/** Set how the store asks for a full reload (used for events it cannot apply). */
export function setRefetch(fn) { refetch = fn; }

/** Apply one stream event. */
export function applyEvent(ev) {
  emit("event", ev);
  switch (ev.kind) {
    case "permission":
    case "permission_gone":
    case "needs_you":
      // The lane reloads itself (needs.js).
      break;
    case "peer": {
      const old = S.peers.get(ev.peer.id);
      S.peers.set(ev.peer.id, ev.peer);
      emit("peers");
      if (!old || old.group?.id !== ev.peer.group?.id) emit("groups");
      break;
    }
    case "peer_gone":
      S.peers.delete(ev.id);
      S.typing.delete(ev.id);
      emit("peers");
      emit("groups");
      break;
    case "message": {
      const m = ev.message;
      if (S.messages.has(m.id)) { S.messages.set(m.id, m); emit("message-update", m.id); break; }
      S.messages.set(m.id, m);
      if (m.from.kind === "peer") S.typing.delete(m.from.id);
      emit("message", m.id);
      emit("typing");
      break;
    }
    case "delivery":
      updateMessage(ev.message_id, (m) => {
        const d = m.deliveries.find((x) => x.recipient.id === ev.recipient.id);
        const rank = { queued: 0, delivered: 1, read: 2 };
        if (d) { if (rank[ev.state] > rank[d.state]) d.state = ev.state; }
        else m.deliveries.push({ recipient: ev.recipient, state: ev.state });
      });
      break;
    case "pin": {
      updateMessage(ev.message_id, (m) => { m.pinned = ev.pinned; });
      if (!ev.pinned) S.pinned.delete(ev.message_id);
      else if (S.messages.has(ev.message_id)) S.pinned.set(ev.message_id, S.messages.get(ev.message_id));
      else refetch();
      emit("pinned");
      break;
    }
    case "reaction":
      updateMessage(ev.message_id, (m) => {
        const rs = m.reactions;
        let r = rs.find((x) => x.emoji === ev.emoji);
        if (ev.added) {
          if (!r) { r = { emoji: ev.emoji, by: [] }; rs.push(r); }
          if (!r.by.some((b) => b.id === ev.by.id)) r.by.push(ev.by);
        } else if (r) {
          r.by = r.by.filter((b) => b.id !== ev.by.id);
          if (!r.by.length) rs.splice(rs.indexOf(r), 1);
        }
      });
      break;
    case "group":
      S.groups.set(ev.group.id, ev.group);
      emit("groups");
      emit("peers");
      break;
    case "group_deleted":
      S.groups.delete(ev.id);
      emit("groups");
      emit("peers");
      break;
    case "typing":
      S.typing.set(ev.peer_id, Date.now());
      emit("typing");
      break;
    case "session":
      refetch();
      break;
    case "held":
    case "released":
      emit("held");
      break;
    default:
      if (!applyCoordEvent(ev)) refetch();
      return;
  }
}

/**
 * Coordination events, as proto's `stream::Event` defines them: `task`,
 * `decision`, `verification`, `proposal`, `approval` carry their record under
 * the kind's name and upsert it in the list named in the plural;
 * `active_files` carries the whole list. Any other kind is not one of these.
 */
function applyCoordEvent(ev) {
  if (ev.kind === "active_files") { S.coord.active_files = ev.active_files; emit("coord", "active_files"); return true; }
  const list = COORD.find((k) => k === `${ev.kind}s`);
  if (!list) return false;
  const rec = ev[ev.kind];
  const arr = S.coord[list] || [];
  const i = arr.findIndex((x) => x.id === rec.id);
  if (i >= 0) arr[i] = rec; else arr.unshift(rec);
  S.coord[list] = arr;
  emit("coord", list);
  return true;
}
