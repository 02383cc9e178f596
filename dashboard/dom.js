// DOM helpers shared by every module: an element builder that only ever sets
// text (never HTML), inline SVG icons, toasts, a confirm dialog, time formats.
// Agent text reaches the page only through text nodes and vetted attributes.

/** Build an element. attrs: class, text, dataset, on<event>, or plain attributes. */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  if (attrs) {
    for (const [k, v] of Object.entries(attrs)) {
      if (v == null || v === false) continue;
      if (k === "class") el.className = v;
      else if (k === "text") el.textContent = v;
      else if (k === "dataset") Object.assign(el.dataset, v);
      else if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v);
      else if (v === true) el.setAttribute(k, "");
      else el.setAttribute(k, String(v));
    }
  }
  add(el, children);
  return el;
}

/** Append children (nodes, strings, arrays; null/false skipped) as nodes or text. */
export function add(el, children) {
  for (const c of [children].flat(Infinity)) {
    if (c == null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

export const $ = (id) => document.getElementById(id);

// Icons: 24×24 stroke paths in the style of Feather/Lucide (MIT/ISC licensed shapes).
const ICONS = {
  needs: ["M18 8A6 6 0 0 0 6 8c0 7-3 9-3 9h18s-3-2-3-9", "M13.73 21a2 2 0 0 1-3.46 0"],
  peers: ["M17 21v-2a4 4 0 0 0-4-4H5a4 4 0 0 0-4 4v2", ["c", 9, 7, 4], "M23 21v-2a4 4 0 0 0-3-3.87", "M16 3.13a4 4 0 0 1 0 7.75"],
  groups: ["M12 2 2 7l10 5 10-5-10-5z", "M2 17l10 5 10-5", "M2 12l10 5 10-5"],
  tasks: ["M9 11l3 3L22 4", "M21 12v7a2 2 0 0 1-2 2H5a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2h11"],
  files: ["M14 2H6a2 2 0 0 0-2 2v16a2 2 0 0 0 2 2h12a2 2 0 0 0 2-2V8z", "M14 2v6h6", "M16 13H8", "M16 17H8"],
  activity: ["M22 12h-4l-3 9L9 3l-3 9H2"],
  decisions: ["M2 3h6a4 4 0 0 1 4 4v14a3 3 0 0 0-3-3H2z", "M22 3h-6a4 4 0 0 0-4 4v14a3 3 0 0 1 3-3h7z"],
  verifications: ["M12 22s8-4 8-10V5l-8-3-8 3v7c0 6 8 10 8 10z", "M9 12l2 2 4-4"],
  proposals: ["M12 20V10", "M18 20V4", "M6 20v-4"],
  menu: ["M3 12h18", "M3 6h18", "M3 18h18"],
  moon: ["M21 12.79A9 9 0 1 1 11.21 3 7 7 0 0 0 21 12.79z"],
  sun: [["c", 12, 12, 4], "M12 2v2", "M12 20v2", "M4.93 4.93l1.41 1.41", "M17.66 17.66l1.41 1.41", "M2 12h2", "M20 12h2", "M6.34 17.66l-1.41 1.41", "M19.07 4.93l-1.41 1.41"],
  download: ["M21 15v4a2 2 0 0 1-2 2H5a2 2 0 0 1-2-2v-4", "M7 10l5 5 5-5", "M12 15V3"],
  send: ["M22 2 11 13", "M22 2l-7 20-4-9-9-4 20-7z"],
  pin: ["M12 17v5", "M9 10.76a2 2 0 0 1-1.11 1.79l-1.78.9A2 2 0 0 0 5 15.24V16a1 1 0 0 0 1 1h12a1 1 0 0 0 1-1v-.76a2 2 0 0 0-1.11-1.79l-1.78-.9A2 2 0 0 1 15 10.76V7a1 1 0 0 1 1-1 2 2 0 0 0 0-4H8a2 2 0 0 0 0 4 1 1 0 0 1 1 1z"],
  smile: [["c", 12, 12, 10], "M8 14s1.5 2 4 2 4-2 4-2", "M9 9h.01", "M15 9h.01"],
  globe: [["c", 12, 12, 10], "M2 12h20", "M12 2a15.3 15.3 0 0 1 4 10 15.3 15.3 0 0 1-4 10 15.3 15.3 0 0 1-4-10 15.3 15.3 0 0 1 4-10z"],
  copy: [["r", 9, 9, 13, 13, 2], "M5 15H4a2 2 0 0 1-2-2V4a2 2 0 0 1 2-2h9a2 2 0 0 1 2 2v1"],
  x: ["M18 6 6 18", "M6 6l12 12"],
  search: [["c", 11, 11, 8], "M21 21l-4.35-4.35"],
  command: ["M18 3a3 3 0 0 0-3 3v12a3 3 0 0 0 3 3 3 3 0 0 0 3-3 3 3 0 0 0-3-3H6a3 3 0 0 0-3 3 3 3 0 0 0 3 3 3 3 0 0 0 3-3V6a3 3 0 0 0-3-3 3 3 0 0 0-3 3 3 3 0 0 0 3 3h12a3 3 0 0 0 3-3 3 3 0 0 0-3-3z"],
  report: ["M14 2H6a2 2 0 0 0-2 2v16a2 2 0 0 0 2 2h12a2 2 0 0 0 2-2V8z", "M14 2v6h6", "M9 15l2 2 4-4"],
  down: ["M6 9l6 6 6-6"],
};

const SVG = "http://www.w3.org/2000/svg";
export function icon(name, cls = "icon") {
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("class", cls);
  svg.setAttribute("aria-hidden", "true");
  for (const s of ICONS[name] || []) {
    let el;
    if (typeof s === "string") {
      el = document.createElementNS(SVG, "path");
      el.setAttribute("d", s);
    } else if (s[0] === "c") {
      el = document.createElementNS(SVG, "circle");
      el.setAttribute("cx", s[1]); el.setAttribute("cy", s[2]); el.setAttribute("r", s[3]);
    } else {
      el = document.createElementNS(SVG, "rect");
      el.setAttribute("x", s[1]); el.setAttribute("y", s[2]);
      el.setAttribute("width", s[3]); el.setAttribute("height", s[4]); el.setAttribute("rx", s[5]);
    }
    svg.append(el);
  }
  return svg;
}

/** A short-lived message at the bottom of the screen. kind: ok | err | info. */
export function toast(text, kind = "info", ms = 2500) {
  const t = h("div", { class: `toast ${kind}`, role: kind === "err" ? "alert" : "status", text });
  $("toasts").append(t);
  setTimeout(() => t.classList.add("out"), ms);
  setTimeout(() => t.remove(), ms + 300);
}

/** A modal yes/no question; resolves true when confirmed. */
export function confirmBox(question, okLabel = "OK") {
  return new Promise((resolve) => {
    const root = $("modal");
    const done = (v) => { root.hidden = true; root.replaceChildren(); resolve(v); };
    const ok = h("button", { class: "btn danger", type: "button", onclick: () => done(true), text: okLabel });
    const box = h("div", { class: "modal-box", role: "dialog", "aria-modal": "true", "aria-label": question },
      h("p", { text: question }),
      h("div", { class: "modal-actions" },
        h("button", { class: "btn", type: "button", onclick: () => done(false), text: "Cancel" }), ok));
    root.replaceChildren(box);
    root.hidden = false;
    root.onclick = (e) => { if (e.target === root) done(false); };
    root.onkeydown = (e) => { if (e.key === "Escape") { e.stopPropagation(); done(false); } };
    ok.focus();
  });
}

const pad = (n) => String(n).padStart(2, "0");
export function hm(iso) { const d = new Date(iso); return `${pad(d.getHours())}:${pad(d.getMinutes())}`; }
export function hms(iso) { const d = new Date(iso); return `${hm(iso)}:${pad(d.getSeconds())}`; }
export function fullTime(iso) { const d = new Date(iso); return isNaN(d) ? "" : d.toLocaleString(); }
export function ago(iso) {
  const s = Math.max(0, (Date.now() - new Date(iso).getTime()) / 1000);
  if (!isFinite(s)) return "";
  if (s < 60) return "just now";
  if (s < 3600) return `${Math.floor(s / 60)}m ago`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ago`;
  return `${Math.floor(s / 86400)}d ago`;
}
export function duration(ms) {
  const m = Math.floor(ms / 60000), hrs = Math.floor(m / 60);
  return hrs > 0 ? `${hrs}h ${m % 60}m` : `${m}m ${Math.floor(ms / 1000) % 60}s`;
}

/** Two-letter initials for an avatar. */
export function initials(name) { return (name || "?").replace(/[^\p{L}\p{N}]/gu, "").slice(0, 2).toUpperCase() || "?"; }

/** A stable hue for a name, for avatar colours. */
export function hue(s) { let x = 0; for (const c of s || "") x = (x * 31 + c.codePointAt(0)) >>> 0; return x % 360; }

/** An element for an avatar with initials, coloured by id. */
export function avatar(name, id, cls = "avatar") {
  const a = h("span", { class: cls, "aria-hidden": "true", text: initials(name) });
  a.style.setProperty("--h", hue(id || name));
  return a;
}
