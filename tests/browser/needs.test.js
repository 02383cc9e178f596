// The "needs you" lane and the permission relay in the dashboard: a session's
// permission prompt shows in the lane at once and is allowed with one click
// (the MCP server writes the matching answer for Claude Code); messages to the
// person are marked read; a loop the loop guard holds is released from the lane
// with one click; an approval addressed to the person is rejected with a reason
// and a verification request answered from the lane, the requesting agent told
// at once; browser notifications are asked for only on a click and a
// burst of new items becomes one notification.

import { test, before, after, describe } from "node:test";
import assert from "node:assert/strict";
import { World, until, sleep } from "./harness.js";

const REQUEST = "notifications/claude/channel/permission_request";
const ANSWER = "notifications/claude/channel/permission";

// Records notifications and permission requests; the page counts as hidden.
const FAKE_NOTIFICATIONS = () => {
  window.__notes = [];
  window.__asked = 0;
  class FakeNotification {
    constructor(title, opts) { window.__notes.push({ title, body: opts?.body || "" }); }
    static requestPermission() { window.__asked++; FakeNotification.permission = "granted"; return Promise.resolve("granted"); }
  }
  FakeNotification.permission = "default";
  window.Notification = FakeNotification;
  Object.defineProperty(Document.prototype, "hidden", { get: () => true, configurable: true });
};

describe("needs you", () => {
  const w = new World();
  let alice, page;
  const lane = () => w.admin("GET", "/v1/needs-you");
  // Show the lane (a click on the active panel's rail button would fold the sidebar).
  const openLane = async () => {
    const shown = await page.evaluate(() => document.getElementById("panel-needs").classList.contains("active")
      && document.getElementById("sidebar").dataset.state === "expanded");
    if (!shown) await page.click('.rail-btn[data-panel="needs"]');
  };

  before(async () => {
    await w.startBroker(["--permission-relay", "--chain-limit", "2"]);
    alice = await w.peer("alice");
    page = await w.page({ init: FAKE_NOTIFICATIONS });
  });
  after(() => w.close());

  test("notification permission is not asked for on load, only on a click", async () => {
    await page.locator('.rail-btn[data-panel="needs"]').waitFor();
    await sleep(300);
    assert.equal(await page.evaluate(() => window.__asked), 0, "asked on load");
    await openLane();
    await page.click("#notify-btn");
    await until("asked after the click", async () => (await page.evaluate(() => window.__asked)) >= 1);
    await until("granted", async () => page.evaluate(() => Notification.permission === "granted"));
  });

  test("a permission prompt is allowed from the dashboard with one click", async () => {
    await openLane();
    alice.notify(REQUEST, { request_id: "qwert", tool_name: "Bash", description: "Run the tests", input_preview: '{"command":"cargo test"}' });
    const card = page.locator('#panel-needs .needs[data-kind="permission"]', { hasText: "alice asks to use Bash" });
    await card.waitFor({ timeout: 15000 });
    assert.match(await card.textContent(), /cargo test/);
    assert.equal(await page.locator('.rail-btn[data-panel="needs"] .rail-badge').textContent(), "1");
    await card.getByRole("button", { name: /^Allow/ }).click();
    const n = await alice.waitNote(ANSWER, (p) => p.request_id === "qwert");
    assert.deepEqual(n.params, { request_id: "qwert", behavior: "allow" });
    await card.waitFor({ state: "detached" });
    const audit = await w.admin("GET", "/v1/audit?action=permission.allow");
    assert.equal(audit[0].actor.id, "dashboard", "the audit log says who answered, and how");
    assert.equal((await lane()).items.length, 0);
  });

  test("a burst of new items becomes one browser notification", async () => {
    const before = await page.evaluate(() => window.__notes.length);
    for (const id of ["b0001", "b0002", "b0003"]) alice.notify(REQUEST, { request_id: id, tool_name: "Write", description: "Write a file", input_preview: id });
    await until("three in the lane", async () => (await lane()).items.length === 3);
    await until("a notification", async () => (await page.evaluate(() => window.__notes.length)) > before);
    await sleep(3500); // a whole coalescing window: no second notification
    const notes = await page.evaluate(() => window.__notes);
    assert.equal(notes.length - before, 1, JSON.stringify(notes));
    assert.match(notes.at(-1).title, /3 things need you/);
    // Deny them all from the page.
    const cards = page.locator('#panel-needs .needs[data-kind="permission"]');
    for (let left = 3; left > 0; left--) {
      await cards.first().getByRole("button", { name: /^Deny/ }).click();
      await until(`${left - 1} cards left`, async () => (await cards.count()) === left - 1);
    }
    await until("lane empty", async () => (await lane()).items.length === 0);
    await until("three denials written", () => alice.notes.filter((n) => n.method === ANSWER && n.params.behavior === "deny").length === 3);
  });

  test("a held loop is released from the lane with one click", async () => {
    await openLane();
    const bob = await w.peer("bob");
    for (const [from, to, text] of [[alice, "bob", "ping 0"], [bob, "alice", "ping 1"], [alice, "bob", "ping 2"]]) {
      const r = await from.call("send_message", { to_id: to, message: text });
      assert.ok(!r.isError, r.text);
    }
    const card = page.locator('#panel-needs .needs[data-kind="held_loop"]');
    await card.waitFor({ timeout: 15000 });
    assert.match(await card.textContent(), /ping 2/);
    await card.getByRole("button", { name: /^Release/ }).click();
    await card.waitFor({ state: "detached" });
    assert.equal((await w.admin("GET", "/v1/chains/held")).chains.length, 0);
    assert.equal((await lane()).items.length, 0);
  });

  test("an approval to the person is rejected with a reason, a verification answered, from the lane", async () => {
    await openLane();
    const r = await alice.call("request_approval", { approver: "dashboard", action: "Force-push the release branch" });
    assert.ok(!r.isError, r.text);
    const card = page.locator('#panel-needs .needs[data-kind="approval"]', { hasText: "alice asks your approval" });
    await card.waitFor({ timeout: 15000 });
    assert.match(await card.textContent(), /Force-push the release branch/);
    // A new item of the lane: the browser notification is raised for it too.
    await until("a browser notification", async () => (await page.evaluate(() => window.__notes)).some((n) => /alice asks your approval: Force-push/.test(n.title)));
    const reason = card.getByRole("textbox", { name: /^Reason for/ });
    await reason.fill("rebase it");
    // The lane reloads while the person types: the text, focus and caret stay.
    const reloads = await page.evaluate(() => performance.getEntriesByType("resource").filter((e) => e.name.endsWith("/v1/needs-you")).length);
    assert.ok(!(await alice.call("create_task", { title: "Tidy the changelog" })).isError);
    await until("the lane reloaded", async () => (await page.evaluate(() => performance.getEntriesByType("resource").filter((e) => e.name.endsWith("/v1/needs-you")).length)) > reloads);
    assert.equal(await reason.inputValue(), "rebase it");
    assert.ok(await reason.evaluate((el) => document.activeElement === el), "focus kept");
    await page.keyboard.type(" instead");
    await card.getByRole("button", { name: /^Reject/ }).click();
    const told = await alice.waitChannel((p) => p.meta?.msg_type === "approval_response", "the answer");
    assert.equal(told.meta.meta_status, "rejected");
    assert.match(told.content, /Approval rejected\*\* by dashboard/);
    assert.match(told.content, /\*\*Reason:\*\* rebase it instead/);
    await card.waitFor({ state: "detached" });
    const audit = await w.admin("GET", "/v1/audit?action=approval.rejected");
    assert.equal(audit[0].actor.id, "dashboard", "the audit log says who answered");

    const v = await alice.call("request_verification", { to_id: "dashboard", claim: "The changelog lists every fix", evidence_needed: "" });
    assert.ok(!v.isError, v.text);
    const vcard = page.locator('#panel-needs .needs[data-kind="verification"]', { hasText: "The changelog lists every fix" });
    await vcard.waitFor({ timeout: 15000 });
    await vcard.getByRole("button", { name: /^Verified/ }).click();
    const vtold = await alice.waitChannel((p) => p.meta?.msg_type === "verification_response", "the verdict");
    assert.equal(vtold.meta.meta_status, "verified");
    assert.match(vtold.content, /verified by the operator/);
    await vcard.waitFor({ state: "detached" });
    assert.equal((await lane()).items.length, 0);
  });

  test("a message to the person is in the lane until marked read", async () => {
    const r = await alice.call("send_message", { to_id: "dashboard", message: "Need a decision on the schema" });
    assert.ok(!r.isError, r.text);
    const card = page.locator('#panel-needs .needs[data-kind="message"]', { hasText: "Need a decision on the schema" });
    await card.waitFor();
    await card.getByRole("button", { name: /^Mark read/ }).click();
    await card.waitFor({ state: "detached" });
    assert.equal((await lane()).items.length, 0);
    assert.deepEqual(page.errors, []);
  });
});
