// claude-peers for OpenCode: wakes an idle session when a peer's message
// arrives. Written by `claude-peers install`; `claude-peers uninstall` removes it.
//
// OpenCode has no command hooks. On the server's `session.idle` event this
// plugin runs `claude-peers hook --client opencode session.idle` (the same
// waiter as Claude Code's Stop hook: one per OpenCode process, long-polling the
// broker). When the waiter wakes (exit 2, the text on stderr) the plugin
// prompts the session through OpenCode's SDK client with that text; the turn
// that follows ends idle again, which re-arms the waiter.
import { spawn } from "node:child_process";

const EXE = __CLAUDE_PEERS_EXE__;
const WAKE = 2;

export const ClaudePeers = async ({ client, directory }) => {
  const waiting = new Set();
  const wait = (sessionID) => {
    if (waiting.has(sessionID)) return;
    waiting.add(sessionID);
    let child;
    try {
      child = spawn(EXE, ["hook", "--client", "opencode", "session.idle"], {
        cwd: directory,
        stdio: ["pipe", "ignore", "pipe"],
      });
    } catch (e) {
      waiting.delete(sessionID);
      console.error(`claude-peers: cannot start the waiter (${e}); continuing without it`);
      return;
    }
    let text = "";
    child.stderr.on("data", (d) => {
      text += d;
    });
    child.on("error", (e) => {
      waiting.delete(sessionID);
      console.error(`claude-peers: the waiter failed (${e}); continuing without it`);
    });
    child.on("close", async (code) => {
      waiting.delete(sessionID);
      if (code !== WAKE || !text.trim()) return;
      try {
        await client.session.promptAsync({
          path: { id: sessionID },
          body: { parts: [{ type: "text", text: text.trim() }] },
        });
      } catch (e) {
        console.error(`claude-peers: cannot prompt the session (${e})`);
      }
    });
    child.stdin.end(
      JSON.stringify({ session_id: sessionID, cwd: directory, hook_event_name: "session.idle" }),
    );
  };
  return {
    event: async ({ event }) => {
      const id = event?.properties?.sessionID;
      if (event?.type === "session.idle" && typeof id === "string" && id) wait(id);
    },
  };
};
