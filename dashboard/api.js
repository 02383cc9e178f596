// Talking to the broker: JSON calls (always with a JSON body on changes, as the
// broker refuses anything else), sign-in, and the operator WebSocket stream
// with reconnect back-off.

export class ApiError extends Error {
  constructor(status, message, body) { super(message); this.status = status; this.body = body; }
}

let onUnauthorized = () => {};
export function setUnauthorizedHandler(fn) { onUnauthorized = fn; }

/** Call the API. Throws ApiError with the broker's message on failure. */
export async function api(method, path, body) {
  const opts = { method, headers: { Accept: "application/json" }, credentials: "same-origin" };
  if (method !== "GET") {
    opts.headers["Content-Type"] = "application/json";
    opts.body = JSON.stringify(body ?? {});
  }
  let r;
  try { r = await fetch(path, opts); } catch (e) { throw new ApiError(0, "the broker is not reachable"); }
  if (r.status === 204) return null;
  const text = await r.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = null; }
  if (!r.ok) {
    if (r.status === 401) onUnauthorized();
    const msg = data?.error?.message || data?.message || text || r.statusText;
    throw new ApiError(r.status, msg, data);
  }
  return data;
}

export const get = (p) => api("GET", p);

/** GET a text (non-JSON) answer, such as the session report's markdown. */
export async function getText(path) {
  let r;
  try { r = await fetch(path, { credentials: "same-origin" }); } catch { throw new ApiError(0, "the broker is not reachable"); }
  const text = await r.text();
  if (!r.ok) {
    if (r.status === 401) onUnauthorized();
    let msg = text;
    try { msg = JSON.parse(text)?.error?.message || text; } catch { /* plain text */ }
    throw new ApiError(r.status, msg);
  }
  return text;
}
export const post = (p, b) => api("POST", p, b);
export const put = (p, b) => api("PUT", p, b);
export const del = (p) => api("DELETE", p, {});

/** Sign in: with no token works on a loopback broker; otherwise the admin token. */
export async function signIn(token) {
  try {
    await post("/v1/signin", token ? { token } : {});
    return true;
  } catch (e) {
    if (e.status === 401) return false;
    throw e;
  }
}

/**
 * Keep a WebSocket to /v1/stream open. handlers: open(), frame(obj), close().
 * Back-off 1 s ×1.5 up to 10 s, reset on open.
 */
export function openStream(handlers) {
  let delay = 1000;
  let ws = null;
  let stopped = false;
  const connect = () => {
    if (stopped) return;
    const url = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/v1/stream`;
    ws = new WebSocket(url);
    ws.onopen = () => { delay = 1000; handlers.open(); };
    ws.onmessage = (e) => {
      let f;
      try { f = JSON.parse(e.data); } catch { return; }
      handlers.frame(f);
    };
    ws.onerror = () => { try { ws.close(); } catch { /* closing anyway */ } };
    ws.onclose = () => {
      handlers.close();
      if (stopped) return;
      setTimeout(connect, delay);
      delay = Math.min(10000, Math.round(delay * 1.5));
    };
  };
  connect();
  return {
    isOpen: () => ws && ws.readyState === WebSocket.OPEN,
    reconnectNow: () => { delay = 1000; if (ws) ws.close(); },
    stop: () => { stopped = true; if (ws) ws.close(); },
  };
}
