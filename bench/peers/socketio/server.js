// Socket.IO 4 peer for rxd's benchmarks: the same workloads and payloads as
// the rxd bench server (bench/src/server.rs), written the way a Socket.IO
// app is: one room per anchor, state kept in memory, `io.to(room).emit`.
//
// Contract (bench/src/drive.rs):
//   GET  /bench/health           -> 200 "ok"
//   POST /bench/drive {DriveSpec} -> {commits, instances, elapsed_ms}
// Clients connect with `?anchor=<id>` and `auth: {token}` (any token);
// they receive `instances` then `ready`, and `delta` events afterwards:
// {type, v, instances: [{_type, _v, id, anchor_id, title, body}], deleted}.
// A `call` event is acknowledged with the echoed arguments.
// BENCH_REDIS_NS: see listen() at the end.

"use strict";

const http = require("http");
const { performance } = require("perf_hooks");
const { Server } = require("socket.io");

const PORT = Number(process.env.BENCH_PORT || 3100);
const CHILDREN = Number(process.env.BENCH_CHILDREN || 10);
const BODY = "x".repeat(Number(process.env.BENCH_BODY || 200));

// CLOCK_REALTIME nanoseconds as a decimal string (sub-microsecond
// precision from the high-resolution timer, anchored at the time origin).
function nowNs() {
  const ms = performance.timeOrigin + performance.now();
  const whole = Math.floor(ms);
  const frac = Math.round((ms - whole) * 1e6);
  return (BigInt(whole) * 1000000n + BigInt(frac)).toString();
}

let version = 0;
const anchors = new Map(); // id -> {title, items: Map(itemId -> item)}

function itemId(anchor, j) {
  return anchor * 10000 + j;
}

function anchorState(id) {
  let state = anchors.get(id);
  if (!state) {
    const items = new Map();
    for (let j = 0; j < CHILDREN; j++) {
      const key = itemId(id, j);
      items.set(key, { _type: "Item", _v: 0, id: key, anchor_id: id, title: `item ${j}`, body: BODY });
    }
    state = { title: `anchor ${id}`, items };
    anchors.set(id, state);
  }
  return state;
}

function commit(io, spec, i) {
  const anchor = spec.anchor_lo + (i % Math.max(1, spec.anchor_count));
  const k = Math.min(spec.k_min + (i % (spec.k_max - spec.k_min + 1)), CHILDREN);
  const state = anchorState(anchor);
  const title = `@T${nowNs()}#${spec.seq_start + i}`;
  version += 1;
  const changed = [];
  for (let m = 0; m < k; m++) {
    const j = (i * 7919 + m) % CHILDREN;
    const item = { _type: "Item", _v: version, id: itemId(anchor, j), anchor_id: anchor, title, body: BODY };
    state.items.set(item.id, item);
    changed.push(item);
  }
  io.to(`a${anchor}`).emit("delta", { type: "delta", v: version, instances: changed, deleted: [] });
  return k;
}

function drive(io, spec) {
  return new Promise((resolve) => {
    const started = performance.now();
    let commits = 0;
    let instances = 0;
    const finish = () =>
      resolve({ commits, instances, elapsed_ms: performance.now() - started });
    if (spec.mode === "rate") {
      const total = Math.round((spec.rate * spec.duration_ms) / 1000);
      const tick = () => {
        const due = Math.min(total, Math.floor(((performance.now() - started) / 1000) * spec.rate) + 1);
        while (commits < due && performance.now() - started < spec.duration_ms + 1000) {
          instances += commit(io, spec, commits);
          commits += 1;
        }
        // Stop GRACE_MS (bench/src/drive.rs) after the duration if behind.
        if (commits >= total || performance.now() - started >= spec.duration_ms + 1000) finish();
        else setTimeout(tick, 1);
      };
      tick();
    } else if (spec.mode === "max") {
      const step = () => {
        if (performance.now() - started >= spec.duration_ms) return finish();
        instances += commit(io, spec, commits);
        commits += 1;
        setImmediate(step);
      };
      step();
    } else {
      resolve(null);
    }
  });
}

const httpServer = http.createServer((req, res) => {
  if (req.method === "GET" && req.url === "/bench/health") {
    res.writeHead(200, { "content-type": "text/plain", "content-length": "2" });
    res.end("ok");
    return;
  }
  if (req.method === "POST" && req.url === "/bench/drive") {
    let body = "";
    req.on("data", (chunk) => (body += chunk));
    req.on("end", async () => {
      const result = await drive(io, JSON.parse(body));
      const text = result ? JSON.stringify(result) : "unsupported mode";
      res.writeHead(result ? 200 : 400, {
        "content-type": "application/json",
        "content-length": Buffer.byteLength(text),
      });
      res.end(text);
    });
    return;
  }
  // Socket.IO answers its own path before this handler runs.
  res.writeHead(404, { "content-length": "0" });
  res.end();
});

const io = new Server(httpServer, {
  transports: ["websocket"],
  serveClient: false,
  perMessageDeflate: false,
  httpCompression: false,
  maxHttpBufferSize: 1e6,
});

io.use((socket, next) => {
  const token = socket.handshake.auth && socket.handshake.auth.token;
  if (typeof token === "string" && token.length > 0) next();
  else next(new Error("unauthorized"));
});

io.on("connection", (socket) => {
  const anchor = Number(socket.handshake.query.anchor);
  if (!Number.isInteger(anchor)) {
    socket.disconnect(true);
    return;
  }
  const state = anchorState(anchor);
  socket.join(`a${anchor}`);
  const instances = [{ _type: "Anchor", _v: 0, id: anchor, title: state.title, items: [...state.items.keys()] }];
  for (const item of state.items.values()) instances.push(item);
  socket.emit("instances", { type: "instances", instances });
  socket.emit("ready", { type: "ready", v: version, anchor: { _type: "Anchor", key: anchor } });
  socket.on("call", (message, ack) => {
    if (typeof ack === "function") ack({ type: "reply", result: message && message.args });
  });
});

// Workload 6: with BENCH_REDIS_NS, rooms span every server started alike,
// through the official Redis adapter (one publisher, one subscriber per
// process).
async function listen() {
  const namespace = process.env.BENCH_REDIS_NS;
  if (namespace) {
    const { createAdapter } = require("@socket.io/redis-adapter");
    const { createClient } = require("redis");
    const pub = createClient({ url: process.env.BENCH_REDIS_URL || "redis://127.0.0.1:6379" });
    const sub = pub.duplicate();
    await Promise.all([pub.connect(), sub.connect()]);
    io.adapter(createAdapter(pub, sub, { key: namespace }));
  }
  httpServer.listen({ host: "127.0.0.1", port: PORT, backlog: 4096 }, () => {
    console.log(`socket.io peer listening on 127.0.0.1:${PORT}`);
  });
}

listen().catch((error) => {
  console.error(error);
  process.exit(1);
});
