"""Offline checks of rxd_client.py: a fake socket feeds protocol messages.

Run by tests/tests/python_client.rs with `rxd_client.py` importable.
"""

import asyncio
import json
from typing import Any

from websockets.exceptions import ConnectionClosed
from websockets.frames import Close

import rxd_client

MODEL: rxd_client.Model = {
    "anchor": "Board",
    "types": {
        "Board": {"key": "id", "relations": {"columns": {"type": "Column", "cardinality": "many"},
                                               "owner": {"type": "User", "cardinality": "one"}}},
        "Column": {"key": "id", "relations": {"cards": {"type": "Card", "cardinality": "many"}}},
        "Card": {"key": "id", "relations": {"assignee": {"type": "User", "cardinality": "optional"}}},
        "User": {"key": "id", "relations": {}},
    },
}


class FakeSocket:
    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []
        self.inbox: asyncio.Queue[str | Exception] = asyncio.Queue()

    async def send(self, text: str) -> None:
        self.sent.append(json.loads(text))

    async def recv(self) -> str:
        item = await self.inbox.get()
        if isinstance(item, Exception):
            raise item
        return item

    async def close(self, code: int = 1000, reason: str = "") -> None:
        self.server_close(code, reason)

    def push(self, message: dict[str, Any]) -> None:
        self.inbox.put_nowait(json.dumps(message))

    def server_close(self, code: int, reason: str) -> None:
        self.inbox.put_nowait(ConnectionClosed(Close(code, reason), None))


def board(v: int, title: str, columns: list[int]) -> dict[str, Any]:
    return {"_type": "Board", "_v": v, "id": 1, "title": title, "columns": columns, "owner": 7}


def column(v: int, id: int, cards: list[int]) -> dict[str, Any]:
    return {"_type": "Column", "_v": v, "id": id, "board_id": 1, "name": f"c{id}", "cards": cards}


def card(v: int, id: int, assignee: int | None) -> dict[str, Any]:
    return {"_type": "Card", "_v": v, "id": id, "column_id": 3, "title": f"t{id}", "assignee": assignee}


USER = {"_type": "User", "_v": 1, "id": 7, "name": "Ada"}


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def single_anchor() -> None:
    ws = FakeSocket()
    channel = rxd_client.Channel(ws, MODEL)
    ws.push({"type": "instances", "instances": [board(40, "Launch", [3, 4]), column(12, 3, [10, 99]), USER]})
    ws.push({"type": "instances", "instances": [card(9, 10, 7), column(12, 4, [])]})
    ws.push({"type": "ready", "v": 41, "anchor": {"_type": "Board", "key": 1}})
    while channel.version is None:
        await channel._receive_one()
    reader = asyncio.create_task(channel._read_loop())
    state = channel.state
    assert state["title"] == "Launch" and state["owner"] == {"id": 7, "name": "Ada"}, state
    # Card 99 is not held: skipped.
    assert [c["id"] for c in state["columns"][0]["cards"]] == [10], state
    assert state["columns"][0]["cards"][0]["assignee"]["name"] == "Ada"

    # A delta not newer than the held version is ignored.
    ws.push({"type": "delta", "v": 41, "instances": [board(41, "Stale", [3, 4])], "deleted": []})
    # A newer one replaces instances and removes the deleted.
    ws.push({"type": "delta", "v": 45, "instances": [board(45, "New", [3, 4]), column(45, 3, [10, 11]), card(45, 11, None)],
             "deleted": [{"_type": "Card", "key": 10}]})
    state = await channel.wait_for(lambda s: s["title"] != "Launch", timeout=2)
    assert state["title"] == "New" and channel.version == 45, (state, channel.version)
    assert [c["id"] for c in state["columns"][0]["cards"]] == [11], state
    assert channel.instance("Card", 10) is None

    # A call: its reply, then an error reply.
    call = asyncio.create_task(channel.call("rename", 1, "x"))
    await settle()
    assert ws.sent[-1] == {"type": "call", "id": 1, "action": "rename", "args": [1, "x"]}, ws.sent
    ws.push({"type": "reply", "id": 1, "result": {"ok": True}})
    assert await call == {"ok": True}
    failing = asyncio.create_task(channel.call("rename", 1, ""))
    await settle()
    ws.push({"type": "reply", "id": 2, "error": {"code": "invalid", "message": "invalid input", "details": {"f": 1}}})
    try:
        await failing
    except rxd_client.ActionError as error:
        assert (error.code, error.message, error.details) == ("invalid", "invalid input", {"f": 1})
    else:
        raise AssertionError("no ActionError")

    # A resync: new instances, swapped in at ready.
    ws.push({"type": "instances", "instances": [board(50, "Resynced", []), USER]})
    ws.push({"type": "ready", "v": 50, "anchor": {"_type": "Board", "key": 1}})
    state = await channel.wait_for(lambda s: s["title"] == "Resynced", timeout=2)
    assert state["columns"] == [] and channel.instance("Column", 3) is None

    # The anchor deleted: the state is None.
    ws.push({"type": "delta", "v": 51, "instances": [], "deleted": [{"_type": "Board", "key": 1}]})
    assert await channel.wait_for(lambda s: s is None, timeout=2) is None

    # A server close ends pending calls and waiters with its code and reason.
    pending = asyncio.create_task(channel.call("slow"))
    await settle()
    ws.server_close(4030, "revoked")
    try:
        await pending
    except rxd_client.ActionError as error:
        assert error.code == "disconnected" and error.details == {"close_code": 4030, "reason": "revoked"}, error
    else:
        raise AssertionError("the pending call succeeded")
    await reader
    try:
        await channel.wait_for(lambda s: False, timeout=2)
    except rxd_client.ChannelClosed as error:
        assert (error.code, error.reason) == (4030, "revoked") and "revoked" in str(error), error
    else:
        raise AssertionError("wait_for after a close")


async def list_channel() -> None:
    model: rxd_client.Model = {"anchor": "Board", "list": True, "types": MODEL["types"]}
    ws = FakeSocket()
    channel = rxd_client.Channel(ws, model)
    other = {"_type": "Board", "_v": 3, "id": 2, "title": "B", "columns": [], "owner": 7}
    ws.push({"type": "instances", "instances": [board(1, "A", [3]), column(1, 3, []), other, USER]})
    ws.push({"type": "ready", "v": 5, "anchors": [{"_type": "Board", "key": 2}, {"_type": "Board", "key": 1}]})
    while channel.version is None:
        await channel._receive_one()
    reader = asyncio.create_task(channel._read_loop())
    assert [b["title"] for b in channel.state] == ["B", "A"], channel.state
    # Every delta applies in a list channel, even with a seen `v`; a
    # deleted instance still referenced stays.
    ws.push({"type": "delta", "v": 5, "instances": [other | {"title": "B2"}], "deleted": [{"_type": "User", "key": 7}]})
    state = await channel.wait_for(lambda s: s[0]["title"] == "B2", timeout=2)
    assert state[0]["owner"] == {"id": 7, "name": "Ada"}, state
    # The list shrinks: what no anchor reaches is dropped.
    ws.push({"type": "anchors", "anchors": [{"_type": "Board", "key": 2}], "instances": []})
    state = await channel.wait_for(lambda s: len(s) == 1, timeout=2)
    assert channel.instance("Column", 3) is None and channel.instance("User", 7) is not None
    await channel.close()
    await reader
    assert channel.closed is not None and channel.closed.code == 1000


async def main() -> None:
    await single_anchor()
    await list_channel()
    print("rxd_client unit checks passed")


asyncio.run(main())
