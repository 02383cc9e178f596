// Screenshots of a realistic session at phone, laptop and 4K widths (dark and
// light), saved under tests/browser/artifacts/. Set UPDATE_DOCS=1 to copy the
// ones the README uses into docs/screenshots/.

import { test, after, describe } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { World, until, sleep, rawPeer, screenshotPath, ROOT } from "./harness.js";

const SIZES = [["phone", 390, 844], ["tablet", 820, 1180], ["laptop", 1440, 900], ["4k", 3840, 2160]];
const DOCS = ["laptop-dark.png", "laptop-light.png", "phone-dark.png", "phone-panels.png"];

describe("screenshots", () => {
  const w = new World();
  after(() => w.close());

  test("a realistic session at phone, laptop and 4K widths", async () => {
    await w.startBroker();
    const alice = await w.peer("alice");
    const bob = await w.peer("bob");
    const carol = await w.peer("carol");
    await alice.call("set_summary", { summary: "Refactoring the SQLite store: paged feed queries" });
    await bob.call("set_summary", { summary: "Writing browser tests for the dashboard" });
    await carol.call("set_summary", { summary: "Reviewing docs/API.md" });
    await carol.call("set_status", { status: "busy" });
    const g = await w.admin("POST", "/v1/groups", { name: "frontend" });
    const ids = Object.fromEntries((await w.admin("GET", "/v1/state")).peers.map((p) => [p.name, p.id]));
    await w.admin("PUT", `/v1/peers/${ids.bob}/group`, { group: g.id });
    await w.admin("PUT", `/v1/peers/${ids.carol}/group`, { group: g.id });
    await w.admin("POST", "/v1/groups", { name: "backend" });
    await w.admin("PUT", `/v1/peers/${ids.alice}/group`, { group: "backend" });

    const page = await w.page();
    const send = async (to, text) => {
      await page.selectOption("#to-peer", to);
      await page.fill("#msg-text", text);
      await page.press("#msg-text", "Enter");
      await sleep(120);
    };
    await send(`p:${ids.alice}`, "Morning! Where are we on the **paged feed**?");
    await alice.call("send_message", { to_id: "dashboard", message: "The feed now pages with `before=<id>`:\n\n```rust\npub fn feed(conn: &Connection, session: &str, limit: u32, before: Option<i64>)\n```\n\nNo more 200-message cap." });
    await send(`g:${g.id}`, "Frontend team: please check that scrolling up loads older messages.");
    await bob.call("send_message", { to_id: "carol", message: "Checked in Chromium:\n- 50 per page\n- stops at *Session started*\n- no jumps while loading" });
    await carol.call("send_message", { to_id: "dashboard", message: "Routes I reviewed:\n\n| route | who |\n|---|---|\n| `GET /v1/state` | operator |\n| `POST /v1/messages` | anyone |\n\nLooks good — see https://example.com/api" });
    await send("b:machine", "Heads up: broker restart at 14:00 UTC. Your sessions reconnect by themselves.");
    await until("6 messages", async () => (await page.locator(".msg").count()) >= 6);
    const st = await w.admin("GET", "/v1/state");
    const byText = (t) => st.messages.find((m) => m.text.includes(t)).id;
    await bob.call("react", { message_id: byText("paged"), emoji: "👍" });
    await carol.call("react", { message_id: byText("paged"), emoji: "👍" });
    await bob.call("react", { message_id: byText("restart"), emoji: "👀" });
    await w.admin("POST", `/v1/messages/${byText("Routes I reviewed")}/pin`, { pinned: true });
    await bob.call("ack_message", { message_id: byText("check that scrolling") });
    const coord = "tasks" in st;
    if (coord) {
      await alice.call("create_task", { title: "Page the feed query", assignee: "alice" });
      await bob.call("create_task", { title: "Browser tests for every panel", assignee: "bob" });
      await alice.call("post_decision", { key: "database", value: "SQLite (WAL)", rationale: "embedded, no server to run", category: "architecture" });
      await alice.call("post_decision", { key: "page size", value: "50", rationale: "fast first paint" });
      await alice.call("create_proposal", { title: "Ship the dashboard in 0.2", description: "All panels done and tested", required_votes: 2 });
      await alice.call("set_active_files", { files: [`${w.dir}/repo/src/store.rs`, `${w.dir}/repo/src/feed.rs`] });
      await alice.call("send_structured", { to_id: "dashboard", msg_type: "question", question: "Keep the 200-message export limit?", expected_format: "yes or no" });
    }
    const dave = await rawPeer(w, "dave");
    dave.typing();
    await page.locator("#typing-line:not([hidden])").waitFor();
    await page.locator("#pinned-bar:not([hidden])").waitFor();
    await page.evaluate(() => document.activeElement?.blur());
    await page.locator(".toast").first().waitFor({ state: "detached" });

    const shots = [];
    for (const [name, width, height] of SIZES) {
      await page.setViewportSize({ width, height });
      await sleep(250);
      const file = `${name}-dark.png`;
      await page.screenshot({ path: screenshotPath(file) });
      shots.push(file);
    }
    // Light theme at laptop size.
    await page.setViewportSize({ width: 1440, height: 900 });
    await page.click("#theme-btn");
    await page.click('.rail-btn[data-panel="groups"]');
    await sleep(250);
    await page.screenshot({ path: screenshotPath("laptop-light.png") });
    shots.push("laptop-light.png");
    await page.click("#theme-btn");
    await page.click('.rail-btn[data-panel="peers"]');
    // Phone with the slide-over panels open.
    await page.setViewportSize({ width: 390, height: 844 });
    await page.click("#menu-btn");
    await sleep(300);
    await page.screenshot({ path: screenshotPath("phone-panels.png") });
    shots.push("phone-panels.png");
    await page.keyboard.press("Escape");
    if (coord) {
      await page.setViewportSize({ width: 1440, height: 900 });
      for (const p of ["tasks", "proposals", "decisions"]) {
        await page.click(`.rail-btn[data-panel="${p}"]`);
        await sleep(150);
        await page.screenshot({ path: screenshotPath(`laptop-${p}.png`) });
        shots.push(`laptop-${p}.png`);
      }
      await page.click('.rail-btn[data-panel="peers"]');
    }
    // The command palette at laptop size.
    await page.setViewportSize({ width: 1440, height: 900 });
    await page.keyboard.press("Control+k");
    await sleep(200);
    await page.screenshot({ path: screenshotPath("laptop-palette.png") });
    shots.push("laptop-palette.png");
    dave.close();
    assert.deepEqual(page.errors, []);
    for (const f of shots) assert.ok(fs.statSync(screenshotPath(f)).size > 10000, f);
    if (process.env.UPDATE_DOCS) {
      const dir = path.join(ROOT, "docs", "screenshots");
      fs.mkdirSync(dir, { recursive: true });
      for (const f of DOCS) fs.copyFileSync(screenshotPath(f), path.join(dir, f));
    }
  });
});
