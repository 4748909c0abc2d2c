"""A small client for the rxd wire protocol (version 1, docs/PROTOCOL.md).

One `Channel` is one WebSocket on one channel URL. It authenticates with an
`auth` first message, holds the flat instances keyed by ``(_type, key)``,
applies deltas, rebuilds the nested state from the anchor with the channel's
model, and calls actions. Generated modules (``<app>_channels.py``) wrap it
with dataclasses; it also works on its own with a hand-written model::

    channel = await Channel.connect("ws://127.0.0.1:3000/ws/boards/1", token, model)
    print(channel.state["title"])
    await channel.call("rename_card", 10, "New title")
    await channel.wait_for(lambda s: s is not None and s["title"] == "x", timeout=5)
    await channel.close()

Python 3.11+, one dependency: ``websockets``. This client does not reconnect:
a closed socket ends the channel with `ChannelClosed` (code and reason).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from typing import Any, Literal, NotRequired, TypedDict

import websockets
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI

__all__ = [
    "ActionError",
    "Channel",
    "ChannelClosed",
    "Model",
    "ProtocolError",
    "RelationModel",
    "RxdError",
    "TypeModel",
]


class RelationModel(TypedDict):
    """One relation field: its target type and how many it holds."""

    type: str
    cardinality: Literal["many", "one", "optional"]


class TypeModel(TypedDict):
    """One instance type: its key field and its relation fields."""

    key: str
    relations: dict[str, RelationModel]


class Model(TypedDict):
    """What the client needs to nest flat instances (the generated
    ``model`` of a channel class, as in ``<app>.channels.ts``)."""

    anchor: str
    types: dict[str, TypeModel]
    list: NotRequired[bool]


class RxdError(Exception):
    """Base class of this module's errors."""


class ProtocolError(RxdError):
    """The server sent something this client cannot read."""


# The close codes of docs/PROTOCOL.md, "Close codes".
CLOSE_CODES: dict[int, str] = {
    1000: "normal",
    1001: "going away",
    1006: "abnormal closure (no close frame)",
    4001: "unauthorized",
    4002: "protocol error",
    4003: "forbidden",
    4004: "not found",
    4008: "too slow",
    4009: "message too big",
    4010: "timed out",
    4011: "server error",
    4029: "too many connections",
    4030: "revoked",
}


class ChannelClosed(RxdError):
    """The socket closed: `code` and `reason` are the close frame's."""

    def __init__(self, code: int, reason: str) -> None:
        self.code = code
        self.reason = reason
        name = CLOSE_CODES.get(code, "unknown close code")
        text = f"channel closed with {code} ({name})"
        if reason:
            text += f": {reason}"
        super().__init__(text)


class ActionError(RxdError):
    """An action's error reply: ``code``, ``message`` and ``details``.

    A call still running when the socket closes fails with code
    ``disconnected`` (details: the close code and reason): the client cannot
    know whether it took effect.
    """

    def __init__(self, code: str, message: str, details: Any = None) -> None:
        self.code = code
        self.message = message
        self.details = details
        super().__init__(f"{code}: {message}" if message else code)


InstanceKey = tuple[str, Any]


class Channel:
    """One live channel view. Create it with `Channel.connect`."""

    def __init__(self, ws: Any, model: Model) -> None:
        self._ws = ws
        self._model = model
        self._list = bool(model.get("list", False))
        self._store: dict[InstanceKey, dict[str, Any]] = {}
        # The instances of a snapshot being received, swapped in at `ready`.
        self._pending: dict[InstanceKey, dict[str, Any]] | None = None
        self._anchors: list[InstanceKey] = []
        self._ready = False
        self._state: Any = None
        self.version: int | None = None
        """The `v` of the last `ready` or delta applied."""
        self.runtime: Any = None
        """The channel's runtime state, when it declares one."""
        self.system_messages: list[tuple[str, str]] = []
        """`(level, message)` of every system message received."""
        self.errors: list[dict[str, Any]] = []
        """`error` messages the server sent outside replies."""
        self._next_id = 1
        self._calls: dict[int, asyncio.Future[Any]] = {}
        self._changed = asyncio.Event()
        self._closed: ChannelClosed | None = None
        self._closing = False
        self._reader: asyncio.Task[None] | None = None

    # ---- connecting -----------------------------------------------------

    @classmethod
    async def connect(
        cls,
        url: str,
        token: str,
        model: Model,
        *,
        timeout: float = 10.0,
        max_size: int | None = 16 * 1024 * 1024,
    ) -> Channel:
        """Opens `url`, authenticates with `token` and waits for the
        initial state (`ready`). Raises `ChannelClosed` when the server
        refuses (4001 unauthorized, 4003 forbidden, 4004 not found, ...),
        `TimeoutError` after `timeout` seconds, `OSError` when the server
        cannot be reached."""
        try:
            ws = await websockets.connect(url, open_timeout=timeout, max_size=max_size)
        except (InvalidURI, InvalidHandshake) as error:
            raise RxdError(f"cannot open {url}: {error}") from error
        channel = cls(ws, model)
        try:
            await ws.send(json.dumps({"type": "auth", "token": token}))
            async with asyncio.timeout(timeout):
                while not channel._ready:
                    await channel._receive_one()
        except ConnectionClosed as error:
            await ws.close()
            raise _closed(error) from None
        except BaseException:
            await ws.close()
            raise
        channel._reader = asyncio.create_task(channel._read_loop())
        return channel

    # ---- reading the state ----------------------------------------------

    @property
    def state(self) -> Any:
        """The nested state: a dict for a channel of one anchor (`None`
        once the anchor is deleted), a list of dicts for a list channel."""
        return self._state

    @property
    def closed(self) -> ChannelClosed | None:
        """Why the socket closed, or `None` while it is open."""
        return self._closed

    def instance(self, type_name: str, key: Any) -> dict[str, Any] | None:
        """The flat instance held for `(type_name, key)`, as it travelled."""
        return self._store.get((type_name, key))

    async def wait_for(
        self, predicate: Callable[[Any], bool], timeout: float = 10.0
    ) -> Any:
        """Waits until `predicate(state)` holds and returns the state.
        Raises `TimeoutError`, or `ChannelClosed` if the socket closes
        first."""
        async with asyncio.timeout(timeout):
            while True:
                changed = self._changed
                if predicate(self._state):
                    return self._state
                if self._closed is not None:
                    raise self._closed
                await changed.wait()

    async def changes(self) -> AsyncIterator[Any]:
        """Yields the current state, then the state after each change (a
        slow reader sees the latest state, not every step). Ends after
        `close()`; raises `ChannelClosed` if the server closes the socket."""
        changed = self._changed
        if self._closed is None:
            yield self._state
        while True:
            if self._closed is not None:
                if self._closing:
                    return
                raise self._closed
            await changed.wait()
            changed = self._changed
            if self._closed is None:
                yield self._state

    def __aiter__(self) -> AsyncIterator[Any]:
        return self.changes()

    # ---- actions ----------------------------------------------------------

    async def call(self, action: str, *args: Any) -> Any:
        """Calls `action` with `args` and returns its result. Raises
        `ActionError` on an error reply. The deltas the action caused on
        this anchor are applied before this returns."""
        if self._closed is not None:
            raise _disconnected(self._closed)
        call_id = self._next_id
        self._next_id += 1
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._calls[call_id] = future
        message = {"type": "call", "id": call_id, "action": action, "args": list(args)}
        try:
            await self._ws.send(json.dumps(message))
            return await future
        except ConnectionClosed as error:
            raise _disconnected(_closed(error)) from None
        finally:
            self._calls.pop(call_id, None)

    async def close(self) -> None:
        """Closes the socket (1000) and stops the reader."""
        self._closing = True
        await self._ws.close()
        if self._reader is not None:
            await self._reader
        if self._closed is None:
            self._set_closed(ChannelClosed(1000, "closed by the client"))

    async def __aenter__(self) -> Channel:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # ---- the protocol -------------------------------------------------------

    async def _read_loop(self) -> None:
        try:
            while True:
                await self._receive_one()
        except ConnectionClosed as error:
            self._set_closed(_closed(error))
        except ProtocolError as error:
            await self._ws.close(code=4002, reason=str(error)[:120])
            self._set_closed(ChannelClosed(4002, f"client: {error}"))

    async def _receive_one(self) -> None:
        raw = await self._ws.recv()
        if not isinstance(raw, str):
            raise ProtocolError("the server sent a binary frame")
        try:
            message = json.loads(raw)
        except json.JSONDecodeError as error:
            raise ProtocolError(f"the server sent malformed JSON: {error}") from error
        if not isinstance(message, dict) or not isinstance(message.get("type"), str):
            raise ProtocolError("the server sent a message without a type")
        try:
            self._handle(message)
        except (KeyError, TypeError, AttributeError) as error:
            raise ProtocolError(f"a malformed {message['type']!r} message: {error!r}") from error

    def _handle(self, message: dict[str, Any]) -> None:
        kind = message["type"]
        if kind == "instances":
            if self._pending is None:
                self._pending = {}
            for instance in message.get("instances", []):
                self._pending[self._key_of(instance)] = instance
        elif kind == "resume":
            # Start from what we hold; `ready` swaps the result in.
            self._pending = dict(self._store)
            for deleted in message.get("deleted", []):
                self._pending.pop(self._ref(deleted), None)
        elif kind == "ready":
            self._store = self._pending if self._pending is not None else self._store
            self._pending = None
            version = message.get("v")
            if not isinstance(version, int):
                raise ProtocolError(f"a ready without an integer `v`: {version!r}")
            self.version = version
            if self._list:
                self._anchors = [self._ref(a) for a in message.get("anchors", [])]
            else:
                self._anchors = [self._ref(message["anchor"])]
            self._ready = True
            self._changed_state()
        elif kind == "delta":
            version = message.get("v")
            if not isinstance(version, int):
                raise ProtocolError(f"a delta without an integer `v`: {version!r}")
            if not self._list and self.version is not None and version <= self.version:
                return
            for instance in message.get("instances", []):
                self._store[self._key_of(instance)] = instance
            deleted = [self._ref(d) for d in message.get("deleted", [])]
            referenced = self._referenced() if self._list else set()
            for ref in deleted:
                if ref not in referenced:
                    self._store.pop(ref, None)
            if self.version is None or version > self.version:
                self.version = version
            self._changed_state()
        elif kind == "anchors":
            for instance in message.get("instances", []):
                self._store[self._key_of(instance)] = instance
            self._anchors = [self._ref(a) for a in message.get("anchors", [])]
            self._collect_garbage()
            self._changed_state()
        elif kind == "reply":
            future = self._calls.get(message.get("id"))  # type: ignore[arg-type]
            if future is None or future.done():
                return
            error = message.get("error")
            if error is not None:
                future.set_exception(
                    ActionError(
                        str(error.get("code", "")),
                        str(error.get("message", "")),
                        error.get("details"),
                    )
                )
            else:
                future.set_result(message.get("result"))
        elif kind == "runtime":
            self.runtime = message.get("state")
            self._notify()
        elif kind == "system":
            level, text = message.get("level"), message.get("message")
            if level in ("info", "warning", "maintenance") and isinstance(text, str):
                self.system_messages.append((level, text))
                self._notify()
        elif kind == "error":
            self.errors.append(message)
        # `pong` and unknown types are ignored.

    def _key_of(self, instance: dict[str, Any]) -> InstanceKey:
        type_name = instance.get("_type")
        if not isinstance(type_name, str):
            raise ProtocolError("an instance without `_type`")
        type_model = self._model["types"].get(type_name)
        key_field = type_model["key"] if type_model is not None else "id"
        if key_field not in instance:
            raise ProtocolError(f"a {type_name} instance without its key `{key_field}`")
        return (type_name, instance[key_field])

    @staticmethod
    def _ref(ref: dict[str, Any]) -> InstanceKey:
        try:
            return (ref["_type"], ref["key"])
        except (KeyError, TypeError) as error:
            raise ProtocolError(f"a malformed instance reference: {ref!r}") from error

    def _relations(self, type_name: str) -> dict[str, RelationModel]:
        type_model = self._model["types"].get(type_name)
        return type_model["relations"] if type_model is not None else {}

    def _children(self, ref: InstanceKey) -> list[InstanceKey]:
        instance = self._store.get(ref)
        if instance is None:
            return []
        out: list[InstanceKey] = []
        for field, relation in self._relations(ref[0]).items():
            value = instance.get(field)
            if value is None:
                continue
            keys = value if relation["cardinality"] == "many" else [value]
            out.extend((relation["type"], k) for k in keys)
        return out

    def _referenced(self) -> set[InstanceKey]:
        return {child for ref in self._store for child in self._children(ref)}

    def _collect_garbage(self) -> None:
        reachable: set[InstanceKey] = set()
        stack = list(self._anchors)
        while stack:
            ref = stack.pop()
            if ref in reachable or ref not in self._store:
                continue
            reachable.add(ref)
            stack.extend(self._children(ref))
        self._store = {k: v for k, v in self._store.items() if k in reachable}

    def _nest(self, ref: InstanceKey, depth: int = 0) -> dict[str, Any] | None:
        instance = self._store.get(ref)
        if instance is None:
            return None
        if depth > 256:
            raise ProtocolError("the state nests deeper than 256 levels (a cycle?)")
        out = {k: v for k, v in instance.items() if k not in ("_type", "_v")}
        for field, relation in self._relations(ref[0]).items():
            value = instance.get(field)
            target = relation["type"]
            if relation["cardinality"] == "many":
                children = (self._nest((target, k), depth + 1) for k in value or [])
                out[field] = [c for c in children if c is not None]
            else:
                out[field] = None if value is None else self._nest((target, value), depth + 1)
        return out

    def _changed_state(self) -> None:
        if self._list:
            nested = (self._nest(ref) for ref in self._anchors)
            self._state = [n for n in nested if n is not None]
        else:
            self._state = self._nest(self._anchors[0]) if self._anchors else None
        self._notify()

    def _notify(self) -> None:
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    def _set_closed(self, closed: ChannelClosed) -> None:
        if self._closed is None:
            self._closed = closed
        for future in self._calls.values():
            if not future.done():
                future.set_exception(_disconnected(closed))
        self._notify()


def _closed(error: ConnectionClosed) -> ChannelClosed:
    frame = error.rcvd or error.sent
    if frame is None:
        return ChannelClosed(1006, "the connection dropped without a close frame")
    return ChannelClosed(frame.code, frame.reason)


def _disconnected(closed: ChannelClosed) -> ActionError:
    return ActionError(
        "disconnected",
        f"the call may or may not have taken effect: {closed}",
        {"close_code": closed.code, "reason": closed.reason},
    )
