"""One WebSocket consumer per connection, one group per anchor: the way
Django Channels apps (RxDjango among them) broadcast model changes."""

from channels.generic.websocket import AsyncWebsocketConsumer

from benchsite import store


class AnchorConsumer(AsyncWebsocketConsumer):
    async def connect(self):
        self.anchor = int(self.scope["url_route"]["kwargs"]["anchor"])
        self.group = f"anchor-{self.anchor}"
        self.authenticated = False
        await self.accept()

    async def receive(self, text_data=None, bytes_data=None):
        if text_data is None:
            await self.close(code=4002)
            return
        message = store.json.loads(text_data)
        kind = message.get("type") if isinstance(message, dict) else None
        if not self.authenticated:
            if kind != "auth" or not isinstance(message.get("token"), str):
                await self.close(code=4002)
                return
            self.authenticated = True
            await self.channel_layer.group_add(self.group, self.channel_name)
            await self.send(
                text_data=store.dumps(
                    {
                        "type": "instances",
                        "instances": store.initial_instances(self.anchor),
                    }
                )
            )
            await self.send(
                text_data=store.dumps(
                    {
                        "type": "ready",
                        "v": store.version,
                        "anchor": {"_type": "Anchor", "key": self.anchor},
                    }
                )
            )
            return
        if kind == "call":
            await self.send(
                text_data=store.dumps(
                    {
                        "type": "reply",
                        "id": message.get("id"),
                        "result": message.get("args"),
                    }
                )
            )
        elif kind == "ping":
            await self.send(text_data='{"type":"pong"}')

    async def anchor_delta(self, event):
        # Each recipient encodes the change itself, as Channels apps do.
        await self.send(text_data=store.dumps(event["delta"]))

    async def disconnect(self, code):
        if self.authenticated:
            await self.channel_layer.group_discard(self.group, self.channel_name)
