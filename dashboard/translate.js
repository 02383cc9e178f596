// Translating a message for the reader, without sending it to a third party
// by default: first the browser's on-device Translator API (Chrome's built-in
// AI), else the broker's /v1/translate when the operator configured a
// LibreTranslate server (--translate-url), else nothing (the button explains
// how to enable it). Code blocks and inline code are kept verbatim.

import { get, post } from "./api.js";

export const LANGUAGES = [
  ["ar", "Arabic"], ["zh", "Chinese"], ["nl", "Dutch"], ["en", "English"], ["fr", "French"],
  ["de", "German"], ["he", "Hebrew"], ["hi", "Hindi"], ["id", "Indonesian"], ["it", "Italian"],
  ["ja", "Japanese"], ["ko", "Korean"], ["fa", "Persian"], ["pl", "Polish"], ["pt", "Portuguese"],
  ["ru", "Russian"], ["es", "Spanish"], ["sv", "Swedish"], ["tr", "Turkish"], ["uk", "Ukrainian"],
  ["ur", "Urdu"], ["vi", "Vietnamese"],
];
const RTL = new Set(["ar", "he", "fa", "ur"]);
export const isRtl = (lang) => RTL.has(lang);

let target = localStorage.getItem("translate-target") || "ar";
export const getTarget = () => target;
export function setTarget(lang) { target = lang; localStorage.setItem("translate-target", lang); }

let brokerEnabled = null;
async function brokerOn() {
  if (brokerEnabled === null) {
    try { brokerEnabled = !!(await get("/v1/translate"))?.enabled; } catch { brokerEnabled = false; }
  }
  return brokerEnabled;
}

async function deviceOn(lang) {
  if (!("Translator" in self)) return false;
  try {
    const a = await self.Translator.availability({ sourceLanguage: "en", targetLanguage: lang });
    return a !== "unavailable";
  } catch { return false; }
}

/** Which translator serves `lang`: "device", "broker" or null. */
export async function engine(lang = target) {
  if (await deviceOn(lang)) return "device";
  return (await brokerOn()) ? "broker" : null;
}

export const HOW_TO_ENABLE =
  "Translation is off. Use a browser with on-device translation (Chrome's built-in Translator API), " +
  "or start the broker with --translate-url http://127.0.0.1:5000/translate (a LibreTranslate server you run).";

const cache = new Map();
const translators = new Map();

async function deviceTranslate(text, lang) {
  let tr = translators.get(lang);
  if (!tr) {
    tr = await self.Translator.create({ sourceLanguage: "en", targetLanguage: lang });
    translators.set(lang, tr);
  }
  return tr.translate(text);
}

/** Split into [isCode, text] pieces: fenced blocks and inline code are code. */
export function segments(text) {
  const out = [];
  const re = /```[\s\S]*?(```|$)|`[^`\n]+`/g;
  let last = 0, m;
  while ((m = re.exec(text))) {
    if (m.index > last) out.push([false, text.slice(last, m.index)]);
    out.push([true, m[0]]);
    last = m.index + m[0].length;
  }
  if (last < text.length) out.push([false, text.slice(last)]);
  return out;
}

/** Translate Markdown text into `lang`; throws with a readable message. */
export async function translate(text, lang = target) {
  const key = `${lang}\u0000${text}`;
  if (cache.has(key)) return cache.get(key);
  let how = await engine(lang);
  if (!how) throw new Error(HOW_TO_ENABLE);
  const parts = [];
  for (const [code, s] of segments(text)) {
    if (code || !/\p{L}/u.test(s)) { parts.push(s); continue; }
    const lead = s.match(/^\s*/)[0], trail = s.match(/\s*$/)[0];
    const core = s.trim();
    let out;
    if (how === "device") {
      try { out = await deviceTranslate(core, lang); }
      catch (e) {
        // The on-device model may be missing (or need a download we cannot start): fall back.
        if (!(await brokerOn())) throw new Error(`On-device translation failed (${e.message}). ${HOW_TO_ENABLE}`);
        how = "broker";
      }
    }
    if (how === "broker") out = (await post("/v1/translate", { text: core, target: lang })).translated;
    parts.push(lead + out + trail);
  }
  const result = parts.join("");
  if (cache.size > 500) cache.delete(cache.keys().next().value);
  cache.set(key, result);
  return result;
}
