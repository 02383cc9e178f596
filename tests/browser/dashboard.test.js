// The dashboard in a real browser (system Chromium via playwright-core),
// against a real broker and real MCP peers. Run: node --test tests/browser/
// (after `cargo build -p claude-peers`), or tests/browser/run.sh.

import { test, before, after, describe } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import { World, until, sleep, WAIT, rawPeer } from "./harness.js";

const msgWith = (page, text) => page.locator(".msg", { hasText: text }).last();
async function idOf(loc) { return Number(await loc.getAttribute("data-id")); }
async function peerId(w, name) { return (await w.admin("GET", "/v1/state")).peers.find((p) => p.name === name).id; }

describe("dashboard with live peers", () => {
  const w = new World();
  let alice, bob, page;

  before(async () => {
    await w.startBroker();
    [alice, bob] = [await w.peer("alice"), await w.peer("bob")];
    await alice.call("set_summary", { summary: "Refactoring the store" });
    page = await w.page();
  });
  after(() => w.close());

  test("loads, connects, lists peers with their status", async () => {
    await page.locator('#panel-peers .peer-card[data-name="alice"]').waitFor();
    await page.locator('#panel-peers .peer-card[data-name="bob"]').waitFor();
    assert.equal(await page.locator("#conn").textContent(), "connected");
    assert.match(await page.locator('.peer-card[data-name="alice"] .peer-summary').textContent(), /Refactoring the store/);
    assert.equal(await page.locator('.peer-card[data-name="alice"] .status-pill').textContent(), "online");
    assert.ok(await page.locator('.peer-card[data-name="alice"] .avatar.ring-g').count(), "live ring");
    assert.equal(await page.locator('.rail-btn[data-panel="peers"] .rail-badge').textContent(), "2");
  });

  test("a message sent by a peer appears without reload, with its delivery state", async () => {
    const r = await alice.call("send_message", { to_id: "bob", message: "Hello **bob**: see `src/store.rs`" });
    assert.ok(!r.isError, r.text);
    const m = msgWith(page, "Hello bob");
    await m.waitFor();
    assert.equal(await m.locator("strong").textContent(), "bob");
    assert.equal(await m.locator("code").textContent(), "src/store.rs");
    await m.locator('.ticks[data-state="delivered"]').waitFor();
    // bob reads it: the page shows ✓✓
    const id = await idOf(m);
    await bob.call("ack_message", { message_id: id });
    await m.locator('.ticks[data-state="read"]').waitFor();
    assert.equal((await m.locator(".ticks").textContent()).trim(), "✓✓");
    assert.match(await m.locator(".ticks").getAttribute("title"), /bob: read/);
  });

  test("a message sent from the page reaches the peer's MCP server as a channel notification", async () => {
    await page.selectOption("#to-peer", `p:${await peerId(w, "bob")}`);
    await page.fill("#msg-text", "Please review PR 12\nthanks");
    await page.press("#msg-text", "Enter");
    const n = await bob.waitChannel((p) => p.content.includes("Please review PR 12"), "the page's message");
    assert.match(n.content, /thanks/);
    assert.equal(n.meta.from, "dashboard");
    await msgWith(page, "Please review PR 12").locator(".bubble").waitFor();
    assert.ok(await page.locator(".msg.mine", { hasText: "Please review PR 12" }).count(), "shown as mine");
    // The feed may show it (stream event) before the send's answer clears the compose bar.
    await until("compose cleared", async () => (await page.inputValue("#msg-text")) === "");
  });

  test("Shift+Enter makes a new line; broadcast reaches every peer", async () => {
    await page.selectOption("#to-peer", "b:machine");
    await page.focus("#msg-text");
    await page.keyboard.type("line one");
    await page.keyboard.press("Shift+Enter");
    await page.keyboard.type("line two");
    assert.equal(await page.inputValue("#msg-text"), "line one\nline two");
    await page.keyboard.press("Enter");
    await alice.waitChannel((p) => p.content.includes("line two"));
    await bob.waitChannel((p) => p.content.includes("line two"));
    await msgWith(page, "line two").locator(".to", { hasText: "everyone" }).first().waitFor();
  });

  test("groups: create, assign a peer, write to the group, delete", async () => {
    await page.click('.rail-btn[data-panel="groups"]');
    await page.fill("#group-name", "team-x");
    await page.click('#panel-groups button[type="submit"]');
    const chip = page.locator('.group-chip[data-name="team-x"]');
    await chip.waitFor();
    const gid = await chip.getAttribute("data-id");
    await page.click('.rail-btn[data-panel="peers"]');
    await page.selectOption('.peer-card[data-name="alice"] select', gid);
    await until("alice in team-x", async () => (await w.admin("GET", "/v1/state")).peers.find((p) => p.name === "alice").group?.name === "team-x");
    await page.locator(`#panel-peers .sec-head[data-group="${gid}"]`).waitFor();
    await until("card moved", async () => (await page.locator('.peer-card[data-name="alice"] select').inputValue()) === gid);
    assert.equal(await chip.locator(".count").textContent(), "1");
    // The compose bar offers the group; a group message reaches its member only.
    await page.selectOption("#to-peer", `g:${gid}`);
    await page.fill("#msg-text", "team-x only: standup at 3");
    await page.press("#msg-text", "Enter");
    await alice.waitChannel((p) => p.content.includes("standup at 3"));
    await msgWith(page, "standup at 3").locator(".to", { hasText: "group team-x" }).first().waitFor();
    await sleep(300);
    assert.ok(!bob.channel.some((p) => p.content.includes("standup at 3")), "bob is not in the group");
    // Delete from the Groups panel, confirming in the page's dialog.
    await page.click('.rail-btn[data-panel="groups"]');
    await chip.locator("button.del").click();
    await page.locator("#modal .modal-box", { hasText: 'Delete group "team-x"?' }).waitFor();
    await page.click('#modal button:has-text("Delete")');
    await chip.waitFor({ state: "detached" });
    await until("alice back in lobby", async () => !(await w.admin("GET", "/v1/state")).peers.find((p) => p.name === "alice").group);
    await page.click('.rail-btn[data-panel="peers"]');
    await until("card back in lobby", async () => (await page.locator('.peer-card[data-name="alice"] select').inputValue()) === "");
  });

  test("pin and unpin, with the pinned bar", async () => {
    const m = msgWith(page, "Hello bob");
    const id = await idOf(m);
    await m.hover();
    await m.locator(".pin-btn").click();
    await page.locator(`#pinned-bar .pin-item[data-id="${id}"]`).waitFor();
    assert.match(await page.locator("#pinned-bar").textContent(), /alice.*Hello bob/);
    assert.ok((await w.admin("GET", "/v1/state")).pinned.some((x) => x.id === id));
    assert.equal(await m.locator(".pin-btn").getAttribute("aria-pressed"), "true");
    await page.click(`#pinned-bar .pin-item[data-id="${id}"] .pin-x`);
    await page.locator("#pinned-bar").waitFor({ state: "hidden" });
    assert.equal(await msgWith(page, "Hello bob").locator(".pin-btn").getAttribute("aria-pressed"), "false");
  });

  test("reactions: add from the picker, see who reacted, remove your own", async () => {
    const m = msgWith(page, "Hello bob");
    const id = await idOf(m);
    await m.hover();
    await m.locator('button[aria-label="Add reaction"]').click();
    await page.click('.picker button[aria-label="React 👍"]');
    const chip = () => msgWith(page, "Hello bob").locator('.chip[data-emoji="👍"]');
    await until("my reaction", async () => (await chip().locator(".n").textContent()) === "1");
    assert.match(await chip().getAttribute("class"), /mine/);
    await bob.call("react", { message_id: id, emoji: "👍" });
    await until("bob's reaction", async () => (await chip().locator(".n").textContent()) === "2");
    const title = await chip().getAttribute("title");
    assert.match(title, /You/);
    assert.match(title, /bob/);
    await chip().click();
    await until("mine removed", async () => (await chip().locator(".n").textContent()) === "1");
    assert.doesNotMatch(await chip().getAttribute("class"), /mine/);
    assert.equal(await chip().getAttribute("title"), "bob");
  });

  test("agent text cannot run script: HTML, onerror and javascript: links stay text", async () => {
    const evil = [
      'Look <img src=x onerror="window.__xss=1;alert(1)"> here',
      "<script>window.__xss=2</script>",
      "[click me](javascript:window.__xss=3) and [also](JaVaScRiPt:alert(1)) and javascript:alert(4)",
      '<a href="javascript:window.__xss=5">raw anchor</a> [ok link](https://example.com/x)',
      "<svg onload=window.__xss=6></svg> <iframe src=javascript:window.__xss=7></iframe>",
    ].join("\n\n");
    await alice.call("send_message", { to_id: "bob", message: evil });
    const m = msgWith(page, "raw anchor");
    await m.waitFor();
    await sleep(300);
    assert.equal(await page.evaluate(() => window.__xss), undefined);
    assert.equal(await page.locator("#feed img, #feed script, #feed svg:not(.icon), #feed iframe").count(), 0);
    const hrefs = await page.locator("#feed a").evaluateAll((as) => as.map((a) => a.getAttribute("href")));
    assert.ok(hrefs.every((h) => /^https?:|^mailto:/.test(h)), `only safe links: ${hrefs}`);
    assert.ok(hrefs.includes("https://example.com/x"), "the https link is kept");
    const text = await m.locator(".md").textContent();
    assert.match(text, /<img src=x onerror=/);
    assert.match(text, /<script>window.__xss=2<\/script>/);
    assert.match(text, /\[click me\]\(javascript:window.__xss=3\)/);
    // Clicking where the link would be does nothing either.
    await m.locator(".md", { hasText: "click me" }).click();
    assert.equal(await page.evaluate(() => window.__xss), undefined);
    assert.deepEqual(page.errors, []);
  });

  test("search asks the broker and lists its hits; Escape clears it", async () => {
    await page.fill("#search-input", "standup");
    await page.locator("#search-results .search-hit").first().waitFor();
    assert.equal(await page.locator("#search-results .search-hit").count(), 1);
    assert.equal(await page.locator("#search-count").textContent(), "1 found");
    await page.press("#search-input", "Escape");
    await until("results closed", async () => page.locator("#search-results").isHidden());
    assert.equal(await page.inputValue("#search-input"), "");
  });

  test("keyboard: / focuses the input, Ctrl+K palette toggles the theme (persisted)", async () => {
    await page.click(".feed-edge");
    await page.keyboard.press("/");
    assert.equal(await page.evaluate(() => document.activeElement.id), "msg-text");
    await page.keyboard.press("Escape");
    await page.keyboard.press("Control+k");
    await page.locator("#palette").waitFor();
    await page.keyboard.type("theme");
    await page.keyboard.press("Enter");
    await page.locator("#palette").waitFor({ state: "hidden" });
    assert.equal(await page.getAttribute("html", "data-theme"), "light");
    await page.reload();
    await page.locator("#conn.ok").waitFor();
    assert.equal(await page.getAttribute("html", "data-theme"), "light");
    await page.click("#theme-btn");
    assert.equal(await page.getAttribute("html", "data-theme"), "dark");
  });

  test("export .txt and the session report", async () => {
    const [dl] = await Promise.all([page.waitForEvent("download"), page.click("#export-btn")]);
    const text = fs.readFileSync(await dl.path(), "utf8");
    assert.match(dl.suggestedFilename(), /^claude-peers-chat-.*\.txt$/);
    assert.match(text, /alice.*bob.*Hello \*\*bob\*\*/);
    assert.match(text, /Please review PR 12/);
    await page.keyboard.press("Control+k");
    await page.keyboard.type("session report");
    await page.keyboard.press("Enter");
    const report = await page.locator("#report-text").textContent();
    assert.match(report, /# Session Report/);
    assert.match(report, /alice/);
    await page.keyboard.press("Escape");
    await page.locator("#report-text").waitFor({ state: "detached" });
  });

  test("translate button explains how to enable translation when none is available", async () => {
    const p2 = await w.page({ init: () => { delete window.Translator; } });
    const m = msgWith(p2, "Hello bob");
    await m.hover();
    await m.locator(".tr-btn").click();
    await p2.locator(".toast", { hasText: "--translate-url" }).waitFor();
    assert.match(await m.locator(".tr-btn").textContent(), /failed/);
    await p2.context().close();
  });

  test("sidebar: every panel opens, the active one collapses it (persisted)", async () => {
    for (const p of ["groups", "tasks", "files", "activity", "decisions", "verifications", "proposals", "peers"]) {
      await page.click(`.rail-btn[data-panel="${p}"]`);
      await page.locator(`#panel-${p}`).waitFor({ state: "visible" });
    }
    await page.locator("#panel-activity .audit-row").first().waitFor({ state: "attached" });
    await page.click('.rail-btn[data-panel="peers"]');
    assert.equal(await page.getAttribute("#sidebar", "data-state"), "collapsed");
    await page.reload();
    await page.locator("#conn.ok").waitFor();
    assert.equal(await page.getAttribute("#sidebar", "data-state"), "collapsed");
    await page.click('.rail-btn[data-panel="peers"]');
    assert.equal(await page.getAttribute("#sidebar", "data-state"), "expanded");
  });

  test("typing indicator on the peer card and under the feed", async () => {
    const dave = await rawPeer(w, "dave");
    try {
      await page.locator('.peer-card[data-name="dave"]').waitFor();
      dave.typing();
      await page.locator('.peer-card[data-name="dave"] .peer-typing').waitFor();
      await page.locator("#typing-line", { hasText: /dave.*typing/ }).waitFor();
      // It fades after 5 s without another typing frame (other peers may be typing too).
      await page.locator('.peer-card[data-name="dave"] .peer-typing').waitFor({ state: "detached", timeout: 9000 });
      await until("dave no longer typing", async () => !(await page.locator("#typing-line").textContent()).includes("dave"), 9000);
    } finally { dave.close(); }
  });

  test("a browser notification when a message arrives while the tab is hidden", async () => {
    const p2 = await w.page({ init: () => {
      window.__notes = [];
      window.__hidden = false;
      Object.defineProperty(document, "hidden", { get: () => window.__hidden });
      window.Notification = class {
        static permission = "granted";
        static requestPermission() { return Promise.resolve("granted"); }
        constructor(title, opts) { window.__notes.push({ title, body: opts.body, tag: opts.tag }); }
      };
    } });
    await alice.call("send_message", { to_id: "bob", message: "visible tab: no notification" });
    await msgWith(p2, "visible tab").waitFor();
    await p2.evaluate(() => { window.__hidden = true; });
    await alice.call("send_message", { to_id: "bob", message: "hidden tab: **notify** me" });
    await msgWith(p2, "hidden tab").waitFor();
    const notes = await p2.evaluate(() => window.__notes);
    assert.equal(notes.length, 1, JSON.stringify(notes));
    assert.equal(notes[0].title, "alice sent a message");
    assert.equal(notes[0].body, "hidden tab: notify me");
    assert.equal(notes[0].tag, "claude-peers-msg");
    await p2.context().close();
  });

  test("activity panel shows the audit log", async () => {
    await page.click('.rail-btn[data-panel="activity"]');
    await page.locator("#panel-activity .audit-row", { hasText: "group" }).first().waitFor();
    await page.click('.rail-btn[data-panel="peers"]');
  });
});

describe("older messages page in as you scroll (no 200 limit)", () => {
  const w = new World();
  after(() => w.close());
  test("260 messages: 50 first, the rest on scroll", async () => {
    await w.startBroker();
    await w.peer("solo");
    for (let i = 1; i <= 260; i++) await w.admin("POST", "/v1/messages", { to: "solo", text: `numbered message ${i}` });
    const page = await w.page();
    await msgWith(page, "numbered message 260").waitFor();
    assert.equal(await page.locator(".msg").count(), 50);
    await until("all loaded by scrolling up", async () => {
      await page.locator("#feed").evaluate((f) => { f.scrollTop = 0; f.dispatchEvent(new Event("scroll")); });
      return (await page.locator(".msg").count()) === 260;
    }, 30000);
    assert.equal(await page.locator(".feed-edge").textContent(), "Session started");
    // Still scrolled near the messages that were on top, not jumped to the end.
    assert.ok(await msgWith(page, "numbered message 1").isVisible());
  });
});

describe("an event that arrives while the state loads is kept", () => {
  const w = new World();
  after(() => w.close());
  test("a message whose event comes before an older /v1/state answer stays on the page", async () => {
    await w.startBroker();
    const [alice] = [await w.peer("alice"), await w.peer("bob")];
    await alice.call("set_summary", { summary: "before the load" });
    // Hold the state load that follows the stream's opening: read it from the
    // broker now, answer the page only after a newer event reached it.
    let loads = 0;
    let stateRead, release;
    const read = new Promise((r) => (stateRead = r));
    const released = new Promise((r) => (release = r));
    const page = await w.page({
      wait: false,
      setup: (p) => p.route("**/v1/state", async (route) => {
        loads += 1;
        if (loads !== 2) return route.continue();
        const response = await route.fetch();
        const state = await response.json();
        stateRead();
        await released;
        // Mark the stale answer so the test sees when the page has loaded it.
        state.peers.find((x) => x.name === "alice").summary = "the stale state is loaded";
        await route.fulfill({ response, json: state });
      }),
    });
    await read;
    const r = await alice.call("send_message", { to_id: "bob", message: "sent while the state was on its way" });
    assert.ok(!r.isError, r.text);
    await msgWith(page, "sent while the state was on its way").waitFor();
    release();
    await page.locator('.peer-card[data-name="alice"] .peer-summary', { hasText: "the stale state is loaded" }).waitFor();
    await page.locator("#conn.ok").waitFor();
    assert.equal(await page.locator(".msg", { hasText: "sent while the state was on its way" }).count(), 1);
  });
});

describe("reconnects after a broker restart", () => {
  const w = new World();
  after(() => w.close());
  test("pill goes from connected to reconnecting and back; new messages arrive", async () => {
    await w.startBroker();
    const page = await w.page();
    await w.stopBroker("SIGTERM");
    await until("pill down", async () => /stopped|reconnecting|unreachable/.test(await page.locator("#conn").textContent()));
    assert.match(await page.getAttribute("#conn", "class"), /err/);
    await w.startBroker();
    await page.locator("#conn.ok").waitFor({ timeout: WAIT });
    await w.admin("POST", "/v1/broadcasts", { scope: "machine", text: "after the restart" });
    await msgWith(page, "after the restart").waitFor();
  });
});

describe("login when the broker asks for the admin token", () => {
  const w = new World();
  after(() => w.close());
  test("wrong token is refused, the right one signs in", async () => {
    await w.startBroker(["--dashboard-login", "always"]);
    const page = await w.page({ wait: false });
    await page.locator("#login").waitFor();
    await page.fill("#login-token", "not-the-token");
    await page.click('#login button[type="submit"]');
    await page.locator("#login-error", { hasText: "not the admin token" }).waitFor();
    await page.fill("#login-token", w.adminToken());
    await page.click('#login button[type="submit"]');
    await page.locator("#conn.ok").waitFor();
    assert.ok(await page.locator("#login").isHidden());
    // The session cookie keeps the page signed in across a reload.
    await page.reload();
    await page.locator("#conn.ok").waitFor();
    assert.ok(await page.locator("#login").isHidden());
    assert.deepEqual(page.errors.filter((e) => !/401/.test(e)), []);
  });
});

describe("translation through a configured LibreTranslate server", () => {
  const w = new World();
  after(() => w.close());
  test("Arabic by default, right-to-left, code kept; another language on request", async () => {
    const url = await w.fakeTranslator();
    await w.startBroker(["--translate-url", url]);
    const alice = await w.peer("alice");
    await w.peer("bob");
    await alice.call("send_message", { to_id: "bob", message: "Good morning team\n\n```\nkeep_this_code()\n```" });
    const page = await w.page({ init: () => { delete window.Translator; } });
    const m = msgWith(page, "Good morning team");
    await m.hover();
    assert.equal((await m.locator(".tr-btn .lbl").textContent()).trim(), "AR");
    await m.locator(".tr-btn").click();
    const body = msgWith(page, "مرحبا").locator(".md");
    await body.waitFor();
    assert.equal(await body.getAttribute("dir"), "rtl");
    assert.equal(await body.getAttribute("lang"), "ar");
    assert.match(await body.textContent(), /مرحبا \[ar\] Good morning team/);
    assert.equal(await body.locator("pre code").textContent(), "keep_this_code()");
    assert.equal(w.translations.length, 1, "only prose is sent");
    assert.equal(w.translations[0].target, "ar");
    assert.doesNotMatch(w.translations[0].q, /keep_this_code/);
    // Back to the original.
    await msgWith(page, "مرحبا").locator(".tr-btn").click();
    await msgWith(page, "Good morning team").locator(".md:not([dir])").waitFor();
    // Pick French in the palette.
    await page.keyboard.press("Control+k");
    await page.keyboard.type("translation language");
    await page.keyboard.press("Enter");
    await page.keyboard.type("french");
    await page.keyboard.press("Enter");
    const m2 = msgWith(page, "Good morning team");
    await m2.hover();
    assert.equal((await m2.locator(".tr-btn .lbl").textContent()).trim(), "FR");
    await m2.locator(".tr-btn").click();
    const fr = msgWith(page, "[fr]").locator(".md");
    await fr.waitFor();
    assert.equal(await fr.getAttribute("dir"), null, "French is left-to-right");
  });

  test("the browser's on-device translator comes first: nothing goes to the server", async () => {
    const before = w.translations.length;
    const page = await w.page({ init: () => {
      window.Translator = {
        availability: async () => "available",
        create: async ({ targetLanguage }) => ({ translate: async (t) => `on-device(${targetLanguage}): ${t}` }),
      };
    } });
    const m = msgWith(page, "Good morning team");
    await m.hover();
    await m.locator(".tr-btn").click();
    await msgWith(page, "on-device(ar): Good morning team").locator('.md[dir="rtl"]').waitFor();
    assert.equal(w.translations.length, before, "the LibreTranslate server was not asked");
  });
});
