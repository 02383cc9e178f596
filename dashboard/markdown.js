// A small, safe Markdown renderer for agent text. It builds DOM nodes directly
// (text nodes only, never HTML parsing), so no tag or script in a message can
// run. Supported: fenced code, headings, rules, quotes, lists, simple tables,
// paragraphs; inline code, bold, italic, strikethrough, links and bare URLs.
// Links are kept only for http, https and mailto; anything else stays text.

import { h } from "./dom.js";

const SAFE_SCHEMES = ["http:", "https:", "mailto:"];

/** The URL if it is safe to link to, else null. */
export function safeUrl(raw) {
  const s = String(raw || "").trim();
  if (!/^(https?:\/\/|mailto:)/i.test(s)) return null;
  try {
    const u = new URL(s);
    return SAFE_SCHEMES.includes(u.protocol) ? u.href : null;
  } catch { return null; }
}

function link(url, children) {
  const href = safeUrl(url);
  if (!href) return null;
  return h("a", { href, target: "_blank", rel: "noopener noreferrer nofollow" }, children);
}

// Inline patterns, tried at every position; the earliest match wins.
const INLINE = [
  ["code", /`([^`\n]+)`/],
  ["link", /\[([^\]\n]+)\]\(([^()\s]+)\)/],
  ["url", /\bhttps?:\/\/[^\s<>"')\]]*[^\s<>"')\].,;:!?]/],
  ["bold", /\*\*(?=\S)([\s\S]+?)\*\*|__(?=\S)([\s\S]+?)__/],
  ["strike", /~~(?=\S)([\s\S]+?)~~/],
  ["em", /\*(?=[^\s*])([^*\n]+?)\*|(?<![\w])_(?=[^\s_])([^_\n]+?)_(?![\w])/],
];

/** Inline Markdown → array of nodes. */
export function inline(text) {
  const out = [];
  let rest = text;
  while (rest) {
    let best = null;
    for (const [kind, re] of INLINE) {
      const m = re.exec(rest);
      if (m && (!best || m.index < best.m.index)) best = { kind, m };
    }
    if (!best) { out.push(rest); break; }
    const { kind, m } = best;
    if (m.index > 0) out.push(rest.slice(0, m.index));
    let node = null;
    switch (kind) {
      case "code": node = h("code", { text: m[1] }); break;
      case "link": node = link(m[2], inline(m[1])) || m[0]; break;
      case "url": node = link(m[0], m[0]) || m[0]; break;
      case "bold": node = h("strong", null, inline(m[1] ?? m[2])); break;
      case "strike": node = h("del", null, inline(m[1])); break;
      case "em": node = h("em", null, inline(m[1] ?? m[2])); break;
    }
    out.push(node);
    rest = rest.slice(m.index + m[0].length);
  }
  return out;
}

const TABLE_SEP = /^\s*\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*$/;
const cells = (line) => line.trim().replace(/^\|/, "").replace(/\|$/, "").split("|").map((c) => c.trim());

/** Block Markdown → a DocumentFragment. */
export function render(text) {
  const frag = document.createDocumentFragment();
  const lines = String(text ?? "").replace(/\r\n?/g, "\n").split("\n");
  let i = 0;
  let para = [];
  const flush = () => {
    if (!para.length) return;
    const p = h("p");
    para.forEach((l, j) => { if (j) p.append(h("br")); p.append(...inline(l).map((n) => (n instanceof Node ? n : document.createTextNode(n)))); });
    frag.append(p);
    para = [];
  };
  while (i < lines.length) {
    const line = lines[i];
    const fence = /^\s*(```+|~~~+)\s*([\w+-]*)\s*$/.exec(line);
    if (fence) {
      flush();
      const body = [];
      i++;
      while (i < lines.length && !lines[i].trim().startsWith(fence[1])) body.push(lines[i++]);
      i++;
      const code = h("code", { text: body.join("\n") });
      if (fence[2]) code.dataset.lang = fence[2];
      frag.append(h("pre", null, code));
      continue;
    }
    const heading = /^(#{1,6})\s+(.*)$/.exec(line);
    if (heading) {
      flush();
      const level = Math.min(6, heading[1].length + 2);
      frag.append(h(`h${level}`, null, inline(heading[2])));
      i++;
      continue;
    }
    if (/^\s*([-*_])(\s*\1){2,}\s*$/.test(line)) { flush(); frag.append(h("hr")); i++; continue; }
    if (/^\s*>/.test(line)) {
      flush();
      const body = [];
      while (i < lines.length && /^\s*>/.test(lines[i])) body.push(lines[i++].replace(/^\s*>\s?/, ""));
      frag.append(h("blockquote", null, render(body.join("\n"))));
      continue;
    }
    const bullet = /^(\s*)([-*+]|\d{1,9}[.)])\s+(.*)$/.exec(line);
    if (bullet) {
      flush();
      const ordered = /\d/.test(bullet[2]);
      const list = h(ordered ? "ol" : "ul");
      if (ordered && parseInt(bullet[2], 10) !== 1) list.setAttribute("start", String(parseInt(bullet[2], 10)));
      while (i < lines.length) {
        const b = /^(\s*)([-*+]|\d{1,9}[.)])\s+(.*)$/.exec(lines[i]);
        if (b && /\d/.test(b[2]) === ordered) {
          const task = /^\[([ xX])\]\s+(.*)$/.exec(b[3]);
          const item = h("li", null);
          if (b[1].length >= 2) item.className = "nested";
          if (task) item.append(h("span", { class: "md-check", text: task[1] === " " ? "☐ " : "☑ " }), ...inline(task[2]));
          else item.append(...inline(b[3]));
          list.append(item);
          i++;
        } else if (!b && lines[i].trim() && /^\s{2,}/.test(lines[i]) && list.lastChild) {
          list.lastChild.append(" ", ...inline(lines[i].trim()));
          i++;
        } else break;
      }
      frag.append(list);
      continue;
    }
    if (line.includes("|") && i + 1 < lines.length && TABLE_SEP.test(lines[i + 1])) {
      flush();
      const head = cells(line);
      const table = h("table", null, h("thead", null, h("tr", null, head.map((c) => h("th", null, inline(c))))));
      const tbody = h("tbody");
      i += 2;
      while (i < lines.length && lines[i].includes("|") && lines[i].trim()) {
        tbody.append(h("tr", null, cells(lines[i]).map((c) => h("td", null, inline(c)))));
        i++;
      }
      table.append(tbody);
      frag.append(h("div", { class: "table-wrap" }, table));
      continue;
    }
    if (!line.trim()) { flush(); i++; continue; }
    para.push(line);
    i++;
  }
  flush();
  return frag;
}

/** Plain text of Markdown (for search, previews, notifications). */
export function plain(text) {
  return String(text ?? "")
    .replace(/```[\s\S]*?```/g, " [code] ")
    .replace(/^\s*\|?\s*:?-{2,}.*$/gm, "")
    .replace(/[*_~`#>|]/g, " ")
    .replace(/\s+/g, " ")
    .trim();
}
