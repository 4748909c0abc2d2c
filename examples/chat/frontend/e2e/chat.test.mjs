// The chat in a real browser: headless Chromium against a real `chat serve`,
// which serves the built front end (dist/) and the room channel. Grace's
// window reaches the server through a TCP proxy that the test can cut, so
// her connection really drops (no test hook in the app).
//
//   cargo build -p chat && npm run build
//   CHAT_BIN=target/debug/chat node --test e2e/
//
// CHAT_SCREENSHOT overrides where the screenshots go (default
// /tmp/chat-e2e.png); CHROMIUM overrides the browser (default
// /usr/bin/chromium).
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import net from "node:net";
import { createInterface } from "node:readline";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const DIST = fileURLToPath(new URL("../dist", import.meta.url));
const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";
const SCREENSHOT = process.env.CHAT_SCREENSHOT ?? "/tmp/chat-e2e.png";
/** How long the test waits for something to show up before it fails. */
const WAIT_MS = 10_000;

let server = null;
let serverLog = "";
let baseUrl = "";
let proxy = null;
let browser = null;
/** Uncaught exceptions in any page; the last test fails if there is one. */
const pageErrors = [];

/** Starts `$CHAT_BIN serve` on a free port; resolves with its base URL. */
async function startServer() {
  const bin = process.env.CHAT_BIN;
  if (!bin) throw new Error("set CHAT_BIN to the `chat` binary (cargo build -p chat; target/debug/chat)");
  if (!existsSync(`${DIST}/index.html`)) throw new Error(`${DIST}/index.html is missing: run \`npm run build\` first`);
  const args = ["serve", "--addr", "127.0.0.1:0", "--db", "sqlite::memory:", "--frontend", DIST];
  server = spawn(bin, [...args, "--presence-heartbeat-ms", "500", "--presence-timeout-ms", "2000"], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, RUST_LOG: process.env.RUST_LOG ?? "warn" },
  });
  server.stderr.setEncoding("utf8");
  server.stderr.on("data", (chunk) => {
    serverLog += chunk;
  });
  const lines = createInterface({ input: server.stdout });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the server printed no address within 30 s\n${serverLog}`)), 30_000);
    server.once("exit", (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`the server exited (${code ?? signal}) before listening\n${serverLog}`));
    });
    lines.once("line", (line) => {
      clearTimeout(timer);
      const match = /^listening on (http:\/\/127\.0\.0\.1:(\d+))$/.exec(line.trim());
      if (match) resolve(match[1]);
      else reject(new Error(`unexpected first line from the server: ${line}`));
    });
  });
}

async function stopServer() {
  if (server === null || server.exitCode !== null || server.signalCode !== null) return;
  const exited = new Promise((resolve) => server.once("exit", resolve));
  server.kill("SIGTERM");
  const timer = setTimeout(() => server.kill("SIGKILL"), 5_000);
  await exited;
  clearTimeout(timer);
}

process.on("exit", () => {
  if (server !== null && server.exitCode === null) server.kill("SIGKILL");
});

/**
 * A TCP proxy in front of the server. `cut()` closes every connection through
 * it and refuses new ones until `mend()`; `swallow()` keeps forwarding what
 * the browser sends but drops what the server answers, as a network that
 * fails between a request and its reply does.
 */
function startProxy(target) {
  const pairs = new Set();
  let down = false;
  let swallowing = false;
  const listener = net.createServer((client) => {
    if (down) {
      client.destroy();
      return;
    }
    const upstream = net.connect(target.port, target.hostname);
    const pair = { client, upstream };
    pairs.add(pair);
    client.on("data", (data) => upstream.write(data));
    upstream.on("data", (data) => {
      if (!swallowing) client.write(data);
    });
    const close = () => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on("close", close);
    upstream.on("close", close);
    client.on("error", close);
    upstream.on("error", close);
  });
  return new Promise((resolve) => {
    listener.listen(0, "127.0.0.1", () => {
      resolve({
        url: `http://127.0.0.1:${listener.address().port}`,
        swallow() {
          swallowing = true;
        },
        cut() {
          down = true;
          swallowing = false;
          for (const { client, upstream } of pairs) {
            client.destroy();
            upstream.destroy();
          }
          pairs.clear();
        },
        mend() {
          down = false;
        },
        close: () => new Promise((done) => listener.close(done)),
      });
    });
  });
}

/** A window in its own browser context (own sessionStorage, own socket). */
async function openRoom(origin, token, room) {
  const context = await browser.newContext({ viewport: { width: 900, height: 700 } });
  context.setDefaultTimeout(WAIT_MS);
  const page = await context.newPage();
  page.on("pageerror", (error) => pageErrors.push(`${token}: ${error.message}`));
  await page.goto(`${origin}/?token=${encodeURIComponent(token)}&room=${room}`);
  await page.getByTestId("status").filter({ hasText: "live" }).waitFor();
  return page;
}

/** What a window shows: its messages (body, status) and who is here. */
function readRoom(page) {
  return page.evaluate(() => ({
    messages: [...document.querySelectorAll('[data-testid="message"]')].map((li) => ({
      body: li.querySelector(".body")?.textContent ?? "",
      status: li.dataset.status,
      key: li.dataset.clientId,
    })),
    here: [...document.querySelectorAll('[data-testid="present"]')].map((li) => ({
      name: li.dataset.name,
      typing: li.dataset.typing === "true",
    })),
    status: document.querySelector('[data-testid="status"]')?.textContent ?? null,
  }));
}

/** Polls `page` until `check(room)` holds; on timeout, fails with what it showed. */
async function until(page, check, what) {
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    const room = await readRoom(page);
    if (check(room)) return room;
    if (Date.now() > deadline) assert.fail(`${what} (after ${WAIT_MS} ms); the window shows ${JSON.stringify(room, null, 1)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const names = (room) => room.here.map((p) => p.name);
const bodies = (room) => room.messages.map((m) => m.body);
const count = (room, body) => room.messages.filter((m) => m.body === body).length;

async function send(page, body) {
  await page.getByTestId("composer").fill(body);
  await page.getByTestId("send").click();
}

before(async () => {
  baseUrl = await startServer();
  proxy = await startProxy(new URL(baseUrl));
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
});

after(async () => {
  try {
    await browser?.close();
    await proxy?.close();
  } finally {
    await stopServer();
  }
});

describe("Ada and Grace in #general; Grace's network drops", () => {
  let ada;
  let grace;

  before(async () => {
    [ada, grace] = await Promise.all([openRoom(baseUrl, "ada-token", 1), openRoom(proxy.url, "grace-token", 1)]);
  });

  test("each sees the room's latest messages and the other one here", async () => {
    for (const page of [ada, grace]) {
      const room = await until(page, (r) => names(r).join() === "Ada,Grace", "both are here");
      assert.equal(room.messages.length, 50, "the state's window");
      assert.equal(room.messages.at(-1).body, "Earlier message #80");
    }
    await Promise.all([ada, grace].map((page) => page.evaluate(() => (window.__noReload = true))));
  });

  test("a message and a typing indicator reach the other window", async () => {
    await send(ada, "hello Grace");
    await until(grace, (r) => r.messages.at(-1)?.body === "hello Grace", "Grace sees Ada's message");
    await grace.getByTestId("composer").pressSequentially("hi");
    await until(ada, (r) => r.here.some((p) => p.name === "Grace" && p.typing), "Ada sees Grace typing");
    await grace.getByTestId("send").click();
    await until(ada, (r) => r.messages.at(-1)?.body === "hi" && r.here.every((p) => !p.typing), "Grace's message, typing off");
  });

  test("a send whose reply is lost, then a drop: one message, once reconnected", async () => {
    // The server gets the call and stores the message, but its reply never
    // reaches Grace; then her connection drops.
    proxy.swallow();
    await send(grace, "are you there?");
    await until(ada, (r) => count(r, "are you there?") === 1, "Ada gets Grace's message");
    const unanswered = await readRoom(grace);
    assert.equal(unanswered.messages.find((m) => m.body === "are you there?")?.status, "sending", "no reply, no delta reached Grace");
    proxy.cut();
    await until(grace, (r) => r.status === "reconnecting…", "Grace's window knows it is offline");
    await until(ada, (r) => names(r).join() === "Ada", "Grace leaves Ada's presence");

    // Meanwhile Ada writes, and Grace writes offline.
    await send(ada, "while you were away 1");
    await send(ada, "while you were away 2");
    await send(grace, "written offline");
    const offline = await until(grace, (r) => r.messages.some((m) => m.body === "written offline"), "Grace's message shows at once");
    assert.equal(offline.messages.find((m) => m.body === "written offline").status, "sending");

    proxy.mend();
    const back = await until(
      grace,
      (r) =>
        r.status === "live" &&
        count(r, "while you were away 2") === 1 &&
        r.messages.every((m) => m.status === "sent") &&
        count(r, "written offline") === 1,
      "Grace reconnects: Ada's messages arrive, hers are sent",
    );
    assert.equal(count(back, "are you there?"), 1, "the retried send is one message");
    assert.equal(count(back, "while you were away 1"), 1);
    // Typed offline, then sent: the indicator's on and off, queued together,
    // must not land as "typing".
    const seen = await until(
      ada,
      (r) => names(r).join() === "Ada,Grace" && count(r, "written offline") === 1 && r.here.every((p) => !p.typing),
      "Grace is back for Ada, not typing",
    );
    assert.equal(count(seen, "are you there?"), 1, "Ada has one copy too");
    // Both windows agree on the order of everything sent today.
    const today = (r) => bodies(r).filter((b) => !b.startsWith("Earlier message"));
    assert.deepEqual(today(back), today(seen));
  });

  test("older messages page in from the database down to the beginning", async () => {
    // While a page loads the button stays, disabled, reading "loading…"; so
    // a page has loaded once the enabled button is back or the beginning
    // shows. Waiting for the button alone would pass at once, and the next
    // click could then chase a button that the last page removes.
    const ready = ada.getByRole("button", { name: "load older messages" });
    const beginning = ada.getByText("the beginning of #general");
    for (let page = 0; page < 10; page += 1) {
      await ready.or(beginning).first().waitFor();
      if (await beginning.isVisible()) break;
      await ready.click();
    }
    await beginning.waitFor();
    const room = await readRoom(ada);
    const earlier = bodies(room).filter((b) => b.startsWith("Earlier message"));
    assert.deepEqual(earlier, Array.from({ length: 80 }, (_, n) => `Earlier message #${n + 1}`));
  });

  test("neither window reloaded, and no page threw", async () => {
    for (const page of [ada, grace]) assert.equal(await page.evaluate(() => window.__noReload), true);
    await ada.screenshot({ path: SCREENSHOT });
    await grace.screenshot({ path: SCREENSHOT.replace(/(\.png)?$/, "-grace.png") });
    assert.deepEqual(pageErrors, []);
  });
});
