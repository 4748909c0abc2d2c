"""ASGI entry point: WebSockets to the consumer, HTTP to the bench driver."""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benchsite.settings")

import django  # noqa: E402

django.setup()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.urls import path  # noqa: E402

from benchsite.consumers import AnchorConsumer  # noqa: E402
from benchsite.driver import http_app  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": http_app,
        "websocket": URLRouter(
            [path("ws/anchors/<int:anchor>/", AnchorConsumer.as_asgi())]
        ),
    }
)
