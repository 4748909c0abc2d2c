"""The bench driver (bench/src/drive.rs): POST /bench/drive runs commits
in this process, each one a `group_send` to the anchor's group."""

import asyncio
import itertools
import json
import time

from channels.layers import get_channel_layer

from benchsite import store


async def drive(spec):
    layer = get_channel_layer()
    started = time.perf_counter()
    issued = None
    commits = 0
    instances = 0

    async def one(i):
        group, delta, k = store.save(spec, i)
        await layer.group_send(group, {"type": "anchor.delta", "delta": delta})
        return k

    if spec["mode"] == "rate":
        # Commits happen at the asked rate whatever a broadcast costs, as
        # saves from concurrent requests would: each group_send runs as a
        # task of its own.
        total = round(spec["rate"] * spec["duration_ms"] / 1000)
        # Stop GRACE_MS (bench/src/drive.rs) after the duration if behind.
        limit = (spec["duration_ms"] + 1000) / 1000
        tasks = []

        def in_time():
            return time.perf_counter() - started < limit

        while commits < total and in_time():
            elapsed = time.perf_counter() - started
            due = min(total, int(elapsed * spec["rate"]) + 1)
            while commits < due and in_time():
                group, delta, k = store.save(spec, commits)
                tasks.append(
                    asyncio.ensure_future(
                        layer.group_send(group, {"type": "anchor.delta", "delta": delta})
                    )
                )
                instances += k
                commits += 1
            await asyncio.sleep(0.001)
        issued = time.perf_counter()
        # Broadcasts still running after a second more are the backlog that
        # the load generator sees arrive late (or never).
        if tasks:
            await asyncio.wait(tasks, timeout=1.0)
    elif spec["mode"] == "max":
        # `writers` coroutines commit at once, sharing one commit counter.
        counter = itertools.count()

        async def writer():
            nonlocal commits, instances
            while (time.perf_counter() - started) * 1000 < spec["duration_ms"]:
                instances += await one(next(counter))
                commits += 1
                await asyncio.sleep(0)

        await asyncio.gather(*(writer() for _ in range(max(1, spec.get("writers", 1)))))
    else:
        return None
    return {
        "commits": commits,
        "instances": instances,
        "elapsed_ms": ((issued or time.perf_counter()) - started) * 1000,
    }


async def _respond(send, status, body, content_type=b"application/json"):
    data = body.encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", content_type),
                (b"content-length", str(len(data)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": data})


async def http_app(scope, receive, send):
    path = scope.get("path", "")
    if scope["method"] == "GET" and path == "/bench/health":
        await _respond(send, 200, "ok", b"text/plain")
        return
    if scope["method"] == "POST" and path == "/bench/drive":
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        result = await drive(json.loads(body))
        if result is None:
            await _respond(send, 400, "unsupported mode", b"text/plain")
        else:
            await _respond(send, 200, json.dumps(result))
        return
    await _respond(send, 404, "not found", b"text/plain")
