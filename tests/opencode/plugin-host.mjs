// Plays the OpenCode server for claude-peers' plugin, as OpenCode 1.18.33 runs
// it: the process that starts the MCP server (`claude-peers mcp`, handshake as
// clientInfo "opencode") is the one that loads the plugin and gives it an SDK
// client (`client.session.promptAsync({path: {id}, body: {parts}})`, recorded
// here) and `session.idle` events. After each prompt the session goes idle
// again, as OpenCode's would once the woken turn ends.
// Usage: node plugin-host.mjs PLUGIN EXE SESSION_ID DIRECTORY
// Prints `READY <whoami>` then one `PROMPT <json>` line per prompt.
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { pathToFileURL } from "node:url";

const [plugin, exe, sessionID, directory] = process.argv.slice(2);

const mcp = spawn(exe, ["mcp"], { cwd: directory, stdio: ["pipe", "pipe", "inherit"] });
const lines = createInterface({ input: mcp.stdout });
const waiting = new Map();
lines.on("line", (l) => {
  let v;
  try { v = JSON.parse(l); } catch { return; }
  const done = waiting.get(v.id);
  if (done) { waiting.delete(v.id); done(v); }
});
let next = 1;
const request = (method, params) => new Promise((resolve) => {
  const id = next++;
  waiting.set(id, resolve);
  mcp.stdin.write(JSON.stringify({ jsonrpc: "2.0", id, method, params }) + "\n");
});
await request("initialize", {
  protocolVersion: "2025-11-25", capabilities: {},
  clientInfo: { name: "opencode", version: "1.18.33" },
});
mcp.stdin.write(JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" }) + "\n");
const who = await request("tools/call", { name: "whoami", arguments: {} });
console.log(`READY ${who.result.content[0].text.split("\n")[0]}`);

const mod = await import(pathToFileURL(plugin).href);
let hooks;
const client = {
  session: {
    promptAsync: async (args) => {
      console.log(`PROMPT ${JSON.stringify(args)}`);
      setTimeout(() => idle(), 0);
      return { data: undefined };
    },
  },
};
hooks = await mod.ClaudePeers({ client, directory, project: {}, worktree: directory, $: undefined });
const idle = () => hooks.event({ event: { type: "session.idle", properties: { sessionID } } });
idle();
process.stdin.on("end", () => { mcp.kill(); process.exit(0); });
process.stdin.resume();
