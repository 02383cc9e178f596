// Conversations: one thread on its own (GET /v1/threads/{id}), the search box
// answered by the broker's full-text index (GET /v1/messages/search), and the
// chains the loop guard holds, with a Release button for each.

import { h, $, toast, hm, fullTime } from "./dom.js";
import { get, post } from "./api.js";
import { on, partyName } from "./store.js";
import { render as markdown } from "./markdown.js";

const SEARCH_DELAY_MS = 250;
let searchTimer = null;
let searchSeq = 0;

export function initThreads() {
  $("thread-close").addEventListener("click", closeThread);
  $("search-results-close").addEventListener("click", () => { $("search-results").hidden = true; });
  on("held", refreshHeld);
  on("all", refreshHeld);
}

// ---- one thread ----

function threadLine(m) {
  return h("article", { class: "thread-msg", dataset: { id: String(m.id) } },
    h("div", { class: "thread-head" },
      h("b", { text: partyName(m.from) }),
      h("span", { class: "to", text: ` → ${m.to ? partyName(m.to) : m.scope ? "everyone" : "group"}` }),
      m.reply_to ? h("span", { class: "reply-to", text: ` ↩ #${m.reply_to}` }) : null,
      h("time", { datetime: m.sent_at, title: fullTime(m.sent_at), text: ` ${hm(m.sent_at)}` }),
      m.held ? h("span", { class: "badge held-badge", text: "held" }) : null),
    h("div", { class: "md" }, markdown(m.text)));
}

/** Open thread `id` on its own, as the broker has it. */
export async function openThread(id) {
  const view = $("thread-view");
  try {
    const r = await get(`/v1/threads/${id}`);
    $("thread-title").textContent = `Thread #${id} · ${r.messages.length} message(s)`;
    $("thread-list").replaceChildren(...r.messages.map(threadLine));
    view.hidden = false;
    $("thread-close").focus();
  } catch (e) {
    toast(`✗ ${e.message}`, "err");
  }
}

export function closeThread() { $("thread-view").hidden = true; }
export const threadOpen = () => !$("thread-view").hidden;

// ---- search, by the broker ----

/** Ask the broker (debounced); show its ranked hits with their snippets. */
export function searchServer(q) {
  clearTimeout(searchTimer);
  const query = q.trim();
  const panel = $("search-results");
  if (!query) { panel.hidden = true; $("search-count").textContent = ""; return; }
  searchTimer = setTimeout(() => runSearch(query), SEARCH_DELAY_MS);
}

async function runSearch(query) {
  const seq = ++searchSeq;
  const panel = $("search-results");
  try {
    const r = await get(`/v1/messages/search?q=${encodeURIComponent(query)}&limit=50`);
    if (seq !== searchSeq) return;
    $("search-count").textContent = `${r.hits.length} found`;
    $("search-results-list").replaceChildren(...(r.hits.length ? r.hits.map(hitItem)
      : [h("p", { class: "empty", text: `Nothing matches “${query}”.` })]));
    panel.hidden = false;
  } catch (e) {
    if (seq !== searchSeq) return;
    $("search-count").textContent = "";
    $("search-results-list").replaceChildren(h("p", { class: "empty err", text: e.message }));
    panel.hidden = false;
  }
}

/** A snippet with the broker's [matched] words as <mark>. */
function snippet(s) {
  const out = [];
  const re = /\[([^\]]*)\]/g;
  let last = 0, m;
  while ((m = re.exec(s))) {
    if (m.index > last) out.push(s.slice(last, m.index));
    out.push(h("mark", { text: m[1] }));
    last = re.lastIndex;
  }
  if (last < s.length) out.push(s.slice(last));
  return out;
}

function hitItem(hit) {
  const m = hit.message;
  return h("button", { type: "button", class: "search-hit", dataset: { id: String(m.id) }, onclick: () => openThread(m.thread_id) },
    h("span", { class: "hit-head" }, h("b", { text: partyName(m.from) }), ` #${m.id} · ${hm(m.sent_at)}`),
    h("span", { class: "hit-snippet" }, ...snippet(hit.snippet)));
}

// ---- held chains ----

async function refreshHeld() {
  let chains = [];
  try { chains = (await get("/v1/chains/held")).chains || []; } catch { return; }
  const bar = $("held-bar");
  bar.hidden = !chains.length;
  bar.replaceChildren(...chains.map((c) => h("div", { class: "held-chain", dataset: { chain: String(c.chain_id) } },
    h("span", { class: "held-text", text: `Loop guard: ${c.held} message(s) held between ${c.peers.map(partyName).join(", ")} (${c.depth} in a row without a person, limit ${c.limit}). Last: ${c.preview}` }),
    h("button", { type: "button", class: "btn primary held-release", onclick: () => release(c.chain_id) }, "Release"))));
}

async function release(chain) {
  try {
    const r = await post(`/v1/chains/${chain}/release`, {});
    toast(`Released ${r.released.length} message(s)`, "ok");
  } catch (e) {
    toast(`✗ ${e.message}`, "err");
  }
  refreshHeld();
}
