// Test harness for the dashboard: a real broker on a free port with a temp
// database, real MCP peers (`claude-peers mcp` over stdio JSON-RPC, as Claude
// Code drives it), and the system Chromium driven by playwright-core.

import { spawn } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import http from "node:http";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const ROOT = path.resolve(HERE, "../..");
export const BIN = path.resolve(ROOT, process.env.CLAUDE_PEERS_BIN || "target/debug/claude-peers");
export const ARTIFACTS = path.join(HERE, "artifacts");
export const WAIT = 15000;

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, "127.0.0.1", () => { const { port } = s.address(); s.close(() => resolve(port)); });
    s.on("error", reject);
  });
}

export async function until(what, fn, ms = WAIT) {
  const end = Date.now() + ms;
  let last;
  while (Date.now() < end) {
    try { last = await fn(); if (last) return last; } catch (e) { last = e; }
    await sleep(50);
  }
  throw new Error(`timed out waiting for: ${what} (last: ${last instanceof Error ? last.message : JSON.stringify(last)})`);
}

/** One test's world: temp HOME, port, database, broker, peers, browser. */
export class World {
  constructor() {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), "cp-browser-"));
    this.db = path.join(this.dir, "peers.db");
    this.peers = [];
    this.broker = null;
    this.brokerArgs = [];
  }

  env(extra = {}) {
    const env = { ...process.env };
    for (const k of Object.keys(env)) if (k.startsWith("CLAUDE_PEERS_")) delete env[k];
    return {
      ...env,
      HOME: this.dir,
      CLAUDE_PEERS_PORT: String(this.port),
      CLAUDE_PEERS_DB: this.db,
      CLAUDE_PEERS_SETTLE_MS: "50",
      ...extra,
    };
  }

  url(p = "/") { return `http://127.0.0.1:${this.port}${p}`; }

  async startBroker(args = this.brokerArgs, env = {}) {
    if (!this.port) this.port = await freePort();
    this.brokerArgs = args;
    const log = fs.openSync(path.join(this.dir, "broker.log"), "a");
    this.broker = spawn(BIN, ["--port", String(this.port), "--db", this.db, "broker", "--auto-group", "off", ...args], {
      env: this.env(env), stdio: ["ignore", log, log],
    });
    this.brokerExit = new Promise((r) => this.broker.once("exit", r));
    await until("broker healthy", async () => (await fetch(this.url("/health"))).ok);
    return this.broker;
  }

  async stopBroker(signal = "SIGTERM") {
    if (!this.broker) return;
    this.broker.kill(signal);
    await Promise.race([this.brokerExit, sleep(5000)]);
    this.broker = null;
  }

  adminToken() { return fs.readFileSync(this.db.replace(/\.db$/, ".admin-token"), "utf8").trim(); }

  /** Call the API as the operator (CLI, admin token). */
  async admin(method, p, body) {
    const r = await fetch(this.url(p), {
      method,
      headers: { Authorization: `Bearer ${this.adminToken()}`, "Content-Type": "application/json" },
      body: method === "GET" ? undefined : JSON.stringify(body ?? {}),
    });
    const text = await r.text();
    if (!r.ok) throw new Error(`${method} ${p}: ${r.status} ${text}`);
    return text ? JSON.parse(text) : null;
  }

  /** Start an MCP peer named `name` and wait until it is registered. */
  async peer(name) {
    const cwd = path.join(this.dir, name);
    fs.mkdirSync(cwd, { recursive: true });
    const p = new Peer(this, name, cwd);
    this.peers.push(p);
    await p.start();
    return p;
  }

  async browser() {
    // playwright-core gives every launch a fresh temporary profile.
    this.chromium = await chromium.launch({
      executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
      args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"],
    });
    return this.chromium;
  }

  /** A fresh page on the dashboard, with console errors collected. */
  async page(opts = {}) {
    if (!this.chromium) await this.browser();
    const ctx = await this.chromium.newContext({ viewport: opts.viewport || { width: 1440, height: 900 }, deviceScaleFactor: 1 });
    const page = await ctx.newPage();
    page.errors = [];
    page.on("pageerror", (e) => page.errors.push(String(e)));
    page.on("console", (m) => { if (m.type() === "error") page.errors.push(m.text()); });
    page.on("dialog", (d) => { page.errors.push(`unexpected dialog: ${d.message()}`); d.dismiss(); });
    if (opts.init) await page.addInitScript(opts.init);
    if (opts.setup) await opts.setup(page);
    await page.goto(this.url("/"));
    if (opts.wait !== false) await page.locator("#conn.ok").waitFor({ timeout: WAIT });
    return page;
  }

  async close() {
    for (const p of this.peers) p.stop();
    if (this.chromium) await this.chromium.close().catch(() => {});
    await this.stopBroker("SIGKILL");
    if (this.fake) this.fake.close();
    fs.rmSync(this.dir, { recursive: true, force: true });
  }

  /** A fake LibreTranslate server: POST /translate → "[<target>] <q>" reversed word order. */
  async fakeTranslator() {
    this.translations = [];
    this.fake = http.createServer((req, res) => {
      let body = "";
      req.on("data", (c) => (body += c));
      req.on("end", () => {
        const j = JSON.parse(body || "{}");
        this.translations.push(j);
        res.setHeader("Content-Type", "application/json");
        res.end(JSON.stringify({ translatedText: `مرحبا [${j.target}] ${j.q}` }));
      });
    });
    await new Promise((r) => this.fake.listen(0, "127.0.0.1", r));
    return `http://127.0.0.1:${this.fake.address().port}/translate`;
  }
}

/** `claude-peers mcp` driven over stdio JSON-RPC. */
export class Peer {
  constructor(world, name, cwd) {
    this.world = world; this.name = name; this.cwd = cwd;
    this.nextId = 1; this.pending = new Map(); this.channel = []; this.notes = []; this.buf = "";
  }

  async start() {
    const log = fs.openSync(path.join(this.world.dir, `mcp-${this.name}.log`), "a");
    this.proc = spawn(BIN, ["mcp"], { cwd: this.cwd, env: this.world.env({ CLAUDE_PEERS_NAME: this.name }), stdio: ["pipe", "pipe", log] });
    this.proc.stdout.on("data", (d) => {
      this.buf += d;
      let i;
      while ((i = this.buf.indexOf("\n")) >= 0) {
        const line = this.buf.slice(0, i); this.buf = this.buf.slice(i + 1);
        if (!line.trim()) continue;
        const msg = JSON.parse(line);
        if (msg.id != null && this.pending.has(msg.id)) { this.pending.get(msg.id)(msg); this.pending.delete(msg.id); }
        else if (msg.method === "notifications/claude/channel") this.channel.push(msg.params);
        else if (msg.method) this.notes.push(msg);
      }
    });
    await this.request("initialize", { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "claude-code", version: "2.1.80" } });
    this.write({ jsonrpc: "2.0", method: "notifications/initialized", params: {} });
    const who = await this.call("whoami");
    if (who.isError) throw new Error(`whoami: ${who.text}`);
    await until(`${this.name} connected`, async () => {
      const st = await this.world.admin("GET", "/v1/state");
      return st.peers.some((p) => p.name === this.name && p.connected);
    });
  }

  write(obj) { this.proc.stdin.write(`${JSON.stringify(obj)}\n`); }

  request(method, params) {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`${this.name}: ${method} timed out`)), WAIT);
      this.pending.set(id, (m) => { clearTimeout(t); m.error ? reject(new Error(JSON.stringify(m.error))) : resolve(m.result); });
      this.write({ jsonrpc: "2.0", id, method, params });
    });
  }

  async call(tool, args = {}) {
    const r = await this.request("tools/call", { name: tool, arguments: args });
    return { text: (r.content || []).map((c) => c.text || "").join("\n"), isError: !!r.isError, raw: r };
  }

  /** Wait for a channel notification whose content matches. */
  waitChannel(pred, what = "a channel notification") {
    return until(`${this.name} gets ${what}`, () => this.channel.find((p) => pred(p)));
  }

  /** Send a notification, as Claude Code does (e.g. a permission request). */
  notify(method, params) { this.write({ jsonrpc: "2.0", method, params }); }

  /** Wait for a notification with `method` (other than channel messages). */
  waitNote(method, pred = () => true) {
    return until(`${this.name} gets ${method}`, () => this.notes.find((n) => n.method === method && pred(n.params)));
  }

  stop() { try { this.proc.kill("SIGKILL"); } catch { /* gone */ } }
}

export function screenshotPath(name) {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  return path.join(ARTIFACTS, name);
}

/**
 * A bare peer: registered over HTTP, holding its own WebSocket stream (a tiny
 * RFC 6455 client, since Node 20 has no WebSocket), so a test can send frames
 * no MCP server sends, such as `typing`.
 */
export async function rawPeer(world, name) {
  const reg = await fetch(world.url("/v1/peers"), {
    method: "POST", headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ pid: process.pid, cwd: world.dir, name }),
  }).then((r) => r.json());
  const token = reg.token;
  const sock = net.connect(world.port, "127.0.0.1");
  await new Promise((r) => sock.once("connect", r));
  const key = Buffer.from(Array.from({ length: 16 }, () => Math.floor(Math.random() * 256))).toString("base64");
  sock.write(`GET /v1/stream HTTP/1.1\r\nHost: 127.0.0.1:${world.port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
    `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\nAuthorization: Bearer ${token}\r\n\r\n`);
  await new Promise((resolve, reject) => {
    let head = "";
    const onData = (d) => {
      head += d.toString("latin1");
      if (head.includes("\r\n\r\n")) {
        sock.off("data", onData);
        head.startsWith("HTTP/1.1 101") ? resolve() : reject(new Error(head.split("\r\n")[0]));
      }
    };
    sock.on("data", onData);
  });
  const sendText = (text) => {
    const payload = Buffer.from(text);
    const mask = Buffer.from([1, 2, 3, 4]);
    const headLen = payload.length < 126 ? 2 : 4;
    const frame = Buffer.alloc(headLen + 4 + payload.length);
    frame[0] = 0x81;
    if (headLen === 2) frame[1] = 0x80 | payload.length;
    else { frame[1] = 0x80 | 126; frame.writeUInt16BE(payload.length, 2); }
    mask.copy(frame, headLen);
    for (let i = 0; i < payload.length; i++) frame[headLen + 4 + i] = payload[i] ^ mask[i % 4];
    sock.write(frame);
  };
  return { id: reg.peer.id, name: reg.peer.name, token, typing: () => sendText('{"type":"typing"}'), close: () => sock.destroy() };
}
