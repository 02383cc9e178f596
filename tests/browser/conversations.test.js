// Conversations in the dashboard: replies grouped under their thread
// (collapsed by default) and a thread opened on its own; the search box
// answered by the broker's full-text index; a chain held by the loop guard
// shown with a Release button that delivers it.

import { test, before, after, describe } from "node:test";
import assert from "node:assert/strict";
import { World, until } from "./harness.js";

const msgId = (text) => Number(/#(\d+)/.exec(text)[1]);

describe("threads, search and held chains", () => {
  const w = new World();
  let alice, bob, page;

  before(async () => {
    await w.startBroker(["--chain-limit", "3"]);
    [alice, bob] = [await w.peer("alice"), await w.peer("bob")];
    page = await w.page();
  });
  after(() => w.close());

  test("a reply is grouped under its thread, collapsed, and the thread opens on its own", async () => {
    const r = await alice.call("send_message", { to_id: "bob", message: "Which port does the broker use?" });
    const root = msgId(r.text);
    const q = await bob.waitChannel((p) => p.content.includes("Which port"), "the question");
    const a = await bob.call("send_message", { to_id: "alice", message: "7899 by default", reply_to: q.meta.message_id });
    assert.ok(!a.isError, a.text);
    const bar = page.locator(`.thread-bar[data-thread="${root}"]`);
    await bar.waitFor();
    assert.equal((await bar.locator(".thread-toggle").textContent()).trim(), "▸ 1 reply");
    const replies = page.locator(`.thread-replies[data-thread="${root}"]`);
    assert.ok(await replies.isHidden(), "collapsed by default");
    // The reply is not in the main flow either.
    assert.equal(await page.locator(".feed-list > .msg", { hasText: "7899 by default" }).count(), 0);
    await bar.locator(".thread-toggle").click();
    await replies.locator(".msg", { hasText: "7899 by default" }).waitFor();
    assert.equal(await bar.locator(".thread-toggle").getAttribute("aria-expanded"), "true");

    await bar.locator(".thread-open").click();
    await page.locator("#thread-view .thread-msg").nth(1).waitFor();
    assert.match(await page.locator("#thread-title").textContent(), new RegExp(`Thread #${root} · 2 message`));
    const texts = await page.locator("#thread-view .thread-msg .md").allTextContents();
    assert.deepEqual(texts.map((t) => t.trim()), ["Which port does the broker use?", "7899 by default"]);
    await page.keyboard.press("Escape");
    assert.ok(await page.locator("#thread-view").isHidden());
  });

  test("the search box asks the broker and shows ranked snippets", async () => {
    const asked = page.waitForRequest((req) => req.url().includes("/v1/messages/search?q=port"));
    await page.fill("#search-input", "port");
    await asked;
    const hit = page.locator("#search-results .search-hit").first();
    await hit.waitFor();
    assert.equal(await page.locator("#search-count").textContent(), "1 found");
    assert.equal((await hit.locator("mark").first().textContent()).toLowerCase(), "port");
    await hit.click();
    await page.locator("#thread-view .thread-msg").nth(1).waitFor();
    await page.locator("#thread-close").click();
    await page.fill("#search-input", "nothing-like-this");
    await page.locator("#search-results .empty").waitFor();
    assert.equal(await page.locator("#search-count").textContent(), "0 found");
    await page.press("#search-input", "Escape");
    await until("results closed", async () => page.locator("#search-results").isHidden());
    assert.deepEqual(page.errors, []);
  });

  test("a held chain is shown and released from the page", async () => {
    // The question and the answer above made the chain 2 deep; one more passes, the next is held.
    const ok = await alice.call("send_message", { to_id: "bob", message: "thanks, and the db?" });
    assert.ok(!/held/.test(ok.text), ok.text);
    await bob.waitChannel((p) => p.content.includes("and the db"), "the third message");
    const held = await bob.call("send_message", { to_id: "alice", message: "the db is peers.db" });
    assert.match(held.text, /is held, not delivered/);
    const chain = page.locator(".held-chain");
    await chain.waitFor();
    assert.match(await chain.textContent(), /1 message\(s\) held between bob, alice/);
    await page.locator(".msg", { hasText: "the db is peers.db" }).locator(".held-badge").waitFor();
    await chain.locator(".held-release").click();
    await alice.waitChannel((p) => p.content.includes("the db is peers.db"), "the released message");
    await until("the held bar hides", async () => page.locator("#held-bar").isHidden());
    assert.deepEqual(page.errors, []);
  });
});
