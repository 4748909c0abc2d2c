// The board example in a real browser: headless Chromium against a real
// `board serve`, which serves the built front end (dist/) and the channels.
//
//   cargo build -p board && npm run build
//   BOARD_BIN=/work/main/target/debug/board node --test e2e/
//
// BOARD_SCREENSHOT overrides where the screenshot goes (default /tmp/board-e2e.png);
// CHROMIUM overrides the browser (default /usr/bin/chromium).
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { createInterface } from "node:readline";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const DIST = fileURLToPath(new URL("../dist", import.meta.url));
const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";
const SCREENSHOT = process.env.BOARD_SCREENSHOT ?? "/tmp/board-e2e.png";
/** How long a change may take to show up in a page. */
const LIVE_TIMEOUT_MS = 5_000;

/** The seeded board 1 as the page shows it: columns in order, cards in order. */
const SEEDED = {
  title: "Launch",
  owner: "owned by Ada",
  columns: [
    {
      id: 1,
      name: "Todo",
      cards: [
        { id: 1, title: "Write the press release", assignee: "Grace" },
        { id: 2, title: "Book the venue", assignee: "unassigned" },
      ],
    },
    { id: 2, name: "Doing", cards: [{ id: 3, title: "Fix the signup bug", assignee: "Ada" }] },
    { id: 3, name: "Done", cards: [{ id: 4, title: "Pick a name", assignee: "Ada" }] },
  ],
};

let server = null;
let serverLog = "";
let baseUrl = "";
let browser = null;
/** Uncaught exceptions in any page; the test fails if there is one. */
const pageErrors = [];

/** Starts `$BOARD_BIN serve` on a free port; resolves with its base URL. */
async function startServer() {
  const bin = process.env.BOARD_BIN;
  if (!bin) throw new Error("set BOARD_BIN to the `board` binary (cargo build -p board; target/debug/board)");
  if (!existsSync(`${DIST}/index.html`)) throw new Error(`${DIST}/index.html is missing: run \`npm run build\` first`);
  server = spawn(bin, ["serve", "--addr", "127.0.0.1:0", "--db", "sqlite::memory:", "--frontend", DIST], {
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
    server.once("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    lines.once("line", (line) => {
      clearTimeout(timer);
      const match = /^listening on (http:\/\/127\.0\.0\.1:\d+)$/.exec(line.trim());
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

// Also when the test process itself is torn down.
process.on("exit", () => {
  if (server !== null && server.exitCode === null) server.kill("SIGKILL");
});

/** A page in its own browser context (own sessionStorage), opened on `?token=&board=`. */
async function openBoard(token, boardId) {
  const context = await browser.newContext({ viewport: { width: 1100, height: 700 } });
  // Locator actions fail after the same time a live change may take, not after 30 s.
  context.setDefaultTimeout(LIVE_TIMEOUT_MS);
  const page = await context.newPage();
  page.on("pageerror", (error) => pageErrors.push(`${token} board ${boardId}: ${error.message}`));
  page.sockets = [];
  page.on("websocket", (socket) => page.sockets.push(new URL(socket.url()).pathname));
  await page.goto(`${baseUrl}/?token=${encodeURIComponent(token)}&board=${boardId}`);
  return page;
}

/** What the board page shows, read from its data-testids. */
function readBoard(page) {
  return page.evaluate(() => {
    const byId = (id, root = document) => root.querySelector(`[data-testid="${id}"]`);
    const text = (id, root) => byId(id, root)?.textContent?.trim() ?? null;
    const numbered = (prefix) =>
      [...document.querySelectorAll(`[data-testid^="${prefix}-"]`)].filter((el) =>
        new RegExp(`^${prefix}-\\d+$`).test(el.dataset.testid),
      );
    return {
      title: text("board-title"),
      owner: text("board-owner"),
      columns: numbered("column").map((column) => {
        const id = Number(column.dataset.testid.slice("column-".length));
        return {
          id,
          name: text(`column-name-${id}`, column),
          cards: [...column.querySelectorAll('[data-testid^="card-"]')]
            .filter((el) => /^card-\d+$/.test(el.dataset.testid))
            .map((card) => {
              const cardId = Number(card.dataset.testid.slice("card-".length));
              return {
                id: cardId,
                title: text(`card-title-${cardId}`, card),
                assignee: text(`card-assignee-${cardId}`, card),
              };
            }),
        };
      }),
    };
  });
}

/** Polls `read` until it deep-equals `expected`; on timeout, fails with the last difference. */
async function eventually(read, expected, message, timeoutMs = LIVE_TIMEOUT_MS) {
  const deadline = Date.now() + timeoutMs;
  let actual;
  for (;;) {
    actual = await read();
    try {
      assert.deepStrictEqual(actual, expected);
      return;
    } catch (error) {
      if (Date.now() > deadline) {
        error.message = `${message} (after ${timeoutMs} ms)\n${error.message}`;
        throw error;
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function textOf(page, testId, timeoutMs = LIVE_TIMEOUT_MS) {
  const locator = page.getByTestId(testId);
  await locator.waitFor({ timeout: timeoutMs });
  return (await locator.textContent()).trim();
}

/** A REST call from the test process, as Ada unless told otherwise. */
async function rest(method, path, body, token = "ada-token") {
  const response = await fetch(`${baseUrl}${path}`, {
    method,
    headers: {
      Authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { "Content-Type": "application/json" }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  assert.ok(response.ok, `${method} ${path}: HTTP ${response.status} ${text}`);
  return text === "" ? null : JSON.parse(text);
}

const clone = (value) => structuredClone(value);
const column = (board, id) => board.columns.find((c) => c.id === id);
const renders = (page, name) => page.evaluate((key) => window.__boardRenders?.[key] ?? 0, name);

before(async () => {
  baseUrl = await startServer();
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
  } finally {
    await stopServer();
  }
});

describe("board 1, open as Ada and as Grace", () => {
  let ada;
  let grace;
  /** What both pages must show; every step changes it, then waits for both pages. */
  let expected = clone(SEEDED);

  const bothShow = async (what) => {
    await Promise.all([
      eventually(() => readBoard(ada), expected, `Ada's page: ${what}`),
      eventually(() => readBoard(grace), expected, `Grace's page: ${what}`),
    ]);
  };

  before(async () => {
    [ada, grace] = await Promise.all([openBoard("ada-token", 1), openBoard("grace-token", 1)]);
  });

  test("both pages show the seeded board and are connected", async () => {
    await bothShow("the seeded board");
    assert.equal(await textOf(ada, "connection-status"), "connected");
    assert.equal(await textOf(grace, "connection-status"), "connected");
    assert.equal(await ada.getByTestId("channel-error").count(), 0);
    // The token left the address bar; the board stayed.
    assert.equal(new URL(ada.url()).search, "?board=1");
    // Marks the documents: a reload would lose the mark.
    await Promise.all([ada, grace].map((page) => page.evaluate(() => (window.__noReload = true))));
  });

  test("the board picker is a live list channel of each user's boards", async () => {
    const options = (page) =>
      page.evaluate(() =>
        [...document.querySelectorAll('[data-testid="board-picker"] option')]
          .filter((option) => option.value !== "")
          .map((option) => option.textContent),
      );
    await eventually(() => options(ada), ["Launch", "Research"], "Ada's picker");
    await eventually(() => options(grace), ["Launch"], "Grace's picker");
    // A new board of Ada's joins her list by auto-update; Grace's list is unchanged.
    const board = await rest("POST", "/api/boards", { title: "Roadmap" });
    await eventually(() => options(ada), ["Launch", "Research", "Roadmap"], `Ada's picker after board ${board.id}`);
    assert.deepEqual(await options(grace), ["Launch"]);
  });

  test("a renamed card shows up in both pages, and other cards do not re-render", async () => {
    const before = await Promise.all([renders(ada, "card-3"), renders(ada, "column-2"), renders(ada, "card-1")]);
    await rest("PATCH", "/api/cards/1", { title: "Write the launch post" });
    column(expected, 1).cards[0].title = "Write the launch post";
    await bothShow("card 1 renamed");
    const afterRename = await Promise.all([renders(ada, "card-3"), renders(ada, "column-2"), renders(ada, "card-1")]);
    assert.ok(afterRename[2] > before[2], "card 1 re-rendered with its new title");
    assert.deepEqual(afterRename.slice(0, 2), before.slice(0, 2), "card 3 and column 2 did not re-render");
  });

  test("a created card shows up in both pages", async () => {
    const card = await rest("POST", "/api/cards", { column_id: 2, title: "Draft the FAQ", assignee_id: 2 });
    assert.equal(typeof card.id, "number");
    column(expected, 2).cards.push({ id: card.id, title: "Draft the FAQ", assignee: "Grace" });
    await bothShow(`card ${card.id} created in column 2`);
  });

  test("a moved card shows up in its new column in both pages", async () => {
    await rest("PATCH", "/api/cards/2", { column_id: 3 });
    const [moved] = column(expected, 1).cards.splice(1, 1);
    column(expected, 3).cards.push(moved);
    await bothShow("card 2 moved to column 3");
  });

  test("a deleted card disappears from both pages", async () => {
    await rest("DELETE", "/api/cards/4");
    column(expected, 3).cards = column(expected, 3).cards.filter((card) => card.id !== 4);
    await bothShow("card 4 deleted");
  });

  test("the page's own controls write optimistically through the channel", async () => {
    // Ada adds a card to Todo.
    await ada.getByTestId("new-card-title-1").fill("Order stickers");
    await ada.getByTestId("add-card-1").click();
    const added = await ada.waitForFunction(
      () =>
        // Only a card the server confirmed has a numeric id; the optimistic one is pending.
        [...document.querySelectorAll('[data-testid="column-1"] [data-testid^="card-title-"]')].find(
          (el) => el.textContent === "Order stickers" && /^card-title-\d+$/.test(el.dataset.testid),
        )?.dataset.testid,
      null,
      { timeout: LIVE_TIMEOUT_MS },
    );
    const id = Number((await added.jsonValue()).slice("card-title-".length));
    column(expected, 1).cards.push({ id, title: "Order stickers", assignee: "unassigned" });
    await bothShow(`card ${id} added from Ada's page`);
    assert.equal(await ada.getByTestId("new-card-title-1").inputValue(), "", "the input was cleared");

    // Grace renames it inline.
    await grace.getByTestId(`card-rename-${id}`).click();
    await grace.getByTestId(`card-rename-input-${id}`).fill("Order 500 stickers");
    await grace.getByTestId(`card-rename-input-${id}`).press("Enter");
    column(expected, 1).cards.at(-1).title = "Order 500 stickers";
    await bothShow(`card ${id} renamed from Grace's page`);

    // Grace moves it to Doing.
    await grace.getByTestId(`card-move-${id}`).selectOption("2");
    column(expected, 2).cards.push(column(expected, 1).cards.pop());
    await bothShow(`card ${id} moved from Grace's page`);

    // Ada deletes it.
    await ada.getByTestId(`card-delete-${id}`).click();
    column(expected, 2).cards.pop();
    await bothShow(`card ${id} deleted from Ada's page`);

    // A write the server refuses shows its error.
    await ada.getByTestId("new-card-title-2").fill("x".repeat(201));
    await ada.getByTestId("add-card-2").click();
    assert.match(await textOf(ada, "rest-error"), /invalid/);
    await bothShow("nothing changed after a refused write");
  });

  test("a read-only viewer's writes are refused and rolled back on screen", async () => {
    const vera = await openBoard("viewer-token", 1);
    await eventually(() => readBoard(vera), expected, "Vera's page: the board");
    const refused = async (what) => {
      await vera.getByTestId("rest-error").waitFor({ timeout: LIVE_TIMEOUT_MS });
      assert.match(await textOf(vera, "rest-error"), /not allowed/, what);
      // Back to the server's value, everywhere; the other pages never saw the write.
      await eventually(() => readBoard(vera), expected, `Vera's page after a refused ${what}`);
      await bothShow(`nothing changed after Vera's ${what}`);
      await vera.getByTestId("rest-error").getByRole("button").click();
    };
    const first = column(expected, 1).cards[0];

    await vera.getByTestId(`card-rename-${first.id}`).click();
    await vera.getByTestId(`card-rename-input-${first.id}`).fill("Vera was here");
    await vera.getByTestId(`card-rename-input-${first.id}`).press("Enter");
    await refused("rename");

    await vera.getByTestId(`card-move-${first.id}`).selectOption("3");
    await refused("move");

    // A deleted card comes back at its original position (first in Todo).
    await vera.getByTestId(`card-delete-${first.id}`).click();
    await refused("delete");

    await vera.getByTestId("new-card-title-1").fill("Vera's card");
    await vera.getByTestId("add-card-1").click();
    await refused("create");
    assert.equal(await vera.getByText("Vera's card").count(), 0, "the refused card is gone");
    await vera.context().close();
  });

  test("neither page reloaded, and the page looks like a board", async () => {
    for (const page of [ada, grace]) {
      assert.equal(await page.evaluate(() => window.__noReload), true);
      assert.equal(await textOf(page, "connection-status"), "connected");
    }
    // One socket per channel for the whole run (the picker's list and the board):
    // no reconnect, no doubled connection.
    assert.deepEqual(ada.sockets.toSorted(), ["/ws/boards/1", "/ws/my-boards"]);
    assert.deepEqual(grace.sockets.toSorted(), ["/ws/boards/1", "/ws/my-boards"]);
    await ada.getByTestId("rest-error").getByRole("button").click();
    await ada.getByTestId("new-card-title-2").fill("");
    await ada.screenshot({ path: SCREENSHOT, fullPage: true });
  });
});

describe("channel errors", () => {
  test("Grace may not open board 2: forbidden", async () => {
    const page = await openBoard("grace-token", 2);
    await page.getByTestId("channel-error").waitFor({ timeout: LIVE_TIMEOUT_MS });
    assert.equal(await page.getByTestId("channel-error").getAttribute("data-kind"), "forbidden");
    assert.match(await textOf(page, "channel-error"), /forbidden/);
    assert.equal(await textOf(page, "connection-status"), "disconnected");
    assert.equal(await page.getByTestId("column-4").count(), 0, "no column of board 2 leaked");
    await page.screenshot({ path: SCREENSHOT.replace(/(\.png)?$/, "-forbidden.png") });
    await page.context().close();
  });

  test("a bad token: unauthorized", async () => {
    const page = await openBoard("not-a-token", 1);
    assert.match(await textOf(page, "channel-error"), /unauthorized/);
    assert.match(await textOf(page, "boards-error"), /unauthorized/);
    await page.context().close();
  });

  test("a board that does not exist: not_found", async () => {
    const page = await openBoard("ada-token", 999);
    assert.match(await textOf(page, "channel-error"), /not_found/);
    await page.context().close();
  });

  test("no page threw", () => {
    assert.deepEqual(pageErrors, []);
  });
});
