// The IoT dashboard in a real browser: headless Chromium against a real
// `iot serve`, fed by real `iot simulate` device processes (header auth),
// with an operator changing grants and deleting a token over REST.
//
//   cargo build -p iot && npm run build
//   IOT_BIN=target/debug/iot node --test e2e/
//
// IOT_SCREENSHOT overrides where the screenshot goes (default
// /tmp/iot-e2e.png); CHROMIUM overrides the browser (default
// /usr/bin/chromium).
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { createInterface } from "node:readline";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const DIST = fileURLToPath(new URL("../dist", import.meta.url));
const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";
const SCREENSHOT = process.env.IOT_SCREENSHOT ?? "/tmp/iot-e2e.png";
const WAIT_MS = 10_000;

let server = null;
let serverLog = "";
let baseUrl = "";
let browser = null;
const devices = [];
const pageErrors = [];

function bin() {
  const path = process.env.IOT_BIN;
  if (!path) throw new Error("set IOT_BIN to the `iot` binary (cargo build -p iot; target/debug/iot)");
  return path;
}

async function startServer() {
  if (!existsSync(`${DIST}/index.html`)) throw new Error(`${DIST}/index.html is missing: run \`npm run build\` first`);
  server = spawn(bin(), ["serve", "--addr", "127.0.0.1:0", "--db", "sqlite::memory:", "--frontend", DIST], {
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
      const match = /^listening on (http:\/\/127\.0\.0\.1:\d+)$/.exec(line.trim());
      if (match) resolve(match[1]);
      else reject(new Error(`unexpected first line from the server: ${line}`));
    });
  });
}

/** Starts `iot simulate` for a device; resolves its exit (code, stderr) when it ends. */
function simulate(token, number) {
  const child = spawn(bin(), ["simulate", "--url", baseUrl.replace("http", "ws"), "--token", token, "--device", String(number), "--every-ms", "100"], {
    stdio: ["ignore", "ignore", "pipe"],
    env: { ...process.env, RUST_LOG: "warn" },
  });
  let stderr = "";
  child.stderr.setEncoding("utf8");
  child.stderr.on("data", (chunk) => {
    stderr += chunk;
  });
  const exited = new Promise((resolve) => child.once("exit", (code) => resolve({ code, stderr })));
  devices.push(child);
  return { child, exited };
}

async function operator(method, path, body) {
  const response = await fetch(`${baseUrl}${path}`, {
    method,
    headers: { Authorization: "Bearer operator-token", ...(body === undefined ? {} : { "Content-Type": "application/json" }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return response.status;
}

function readPage(page) {
  return page.evaluate(() => {
    const all = (id, attr) => [...document.querySelectorAll(`[data-testid="${id}"]`)].map((el) => el.dataset[attr]);
    return {
      readings: all("reading", "topic").sort(),
      subscriptions: all("subscription", "pattern"),
      grants: all("grant", "pattern"),
      dropped: all("dropped", "pattern"),
      problem: document.querySelector('[data-testid="problem"]')?.textContent ?? null,
    };
  });
}

async function until(page, check, what) {
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    const shown = await readPage(page);
    if (check(shown)) return shown;
    if (Date.now() > deadline) assert.fail(`${what} (after ${WAIT_MS} ms); the page shows ${JSON.stringify(shown)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

before(async () => {
  baseUrl = await startServer();
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
});

after(async () => {
  for (const device of devices) if (device.exitCode === null) device.kill("SIGKILL");
  await browser?.close();
  if (server !== null && server.exitCode === null) {
    const exited = new Promise((resolve) => server.once("exit", resolve));
    server.kill("SIGINT");
    const timer = setTimeout(() => server.kill("SIGKILL"), 5_000);
    await exited;
    clearTimeout(timer);
  }
});

process.on("exit", () => {
  for (const child of [server, ...devices]) if (child !== null && child.exitCode === null) child.kill("SIGKILL");
});

describe("a dashboard on sensors/+/temperature, fed by two devices", () => {
  let page;
  let device2;

  before(async () => {
    const context = await browser.newContext({ viewport: { width: 800, height: 700 } });
    context.setDefaultTimeout(WAIT_MS);
    page = await context.newPage();
    page.on("pageerror", (error) => pageErrors.push(error.message));
    await page.goto(`${baseUrl}/?token=dashboard-token`);
  });

  test("the dashboard subscribes and shows each device's temperature, not its humidity", async () => {
    await until(page, (s) => s.subscriptions.join() === "sensors/+/temperature", "the default subscription");
    simulate("device-1-token", 1);
    device2 = simulate("device-2-token", 2);
    const shown = await until(page, (s) => s.readings.length === 2, "both temperatures");
    assert.deepEqual(shown.readings, ["sensors/1/temperature", "sensors/2/temperature"]);
    assert.deepEqual(shown.grants, ["sensors/#"]);
  });

  test("a second device on a token capped at one socket is refused", async () => {
    const { exited } = simulate("device-1-token", 1);
    const { code, stderr } = await exited;
    assert.notEqual(code, 0);
    assert.match(stderr, /4029/);
  });

  test("a subscription outside the grants is refused with its code", async () => {
    await page.getByTestId("pattern").fill("commands/#");
    await page.getByTestId("subscribe").click();
    const shown = await until(page, (s) => s.problem !== null, "the refusal");
    assert.match(shown.problem, /^not_granted/);
  });

  test("an operator narrows the grants: the subscription drops at once, the page says so", async () => {
    assert.equal(await operator("PUT", "/api/tokens/1/grants", [{ pattern: "sensors/2/#", access: "read" }]), 200);
    const shown = await until(
      page,
      (s) => s.dropped.join() === "sensors/+/temperature" && s.subscriptions.length === 0 && s.grants.join() === "sensors/2/#",
      "the dropped subscription and the new grant",
    );
    assert.deepEqual(shown.readings, [], "what no subscription matches is forgotten");
    await page.getByTestId("pattern").fill("sensors/2/humidity");
    await page.getByTestId("subscribe").click();
    await until(page, (s) => s.readings.join() === "sensors/2/humidity", "device 2's humidity, within the new grant");
  });

  test("a deleted token's device is closed", async () => {
    assert.equal(await operator("DELETE", "/api/tokens/3"), 204);
    const { code, stderr } = await device2.exited;
    assert.notEqual(code, 0);
    assert.match(stderr, /4030/);
  });

  test("no page threw", async () => {
    await page.screenshot({ path: SCREENSHOT });
    assert.deepEqual(pageErrors, []);
  });
});
