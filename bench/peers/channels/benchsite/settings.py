"""Django settings of the Channels peer (no database, no apps of its own).

BENCH_LAYER picks the channel layer: "core" (RedisChannelLayer, the
default of most Channels apps) or "pubsub" (RedisPubSubChannelLayer).
Both keep channels_redis's defaults except a prefix of their own, so
that runs do not see each other's groups.
"""

import os

SECRET_KEY = "rxd-bench-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["*"]
INSTALLED_APPS = ["channels"]
DATABASES = {}
ROOT_URLCONF = None
USE_TZ = True
ASGI_APPLICATION = "benchsite.asgi.application"

_REDIS = os.environ.get("BENCH_REDIS", "redis://127.0.0.1:6379/0")
_PREFIX = os.environ.get("BENCH_PREFIX", "rxdbench")

if os.environ.get("BENCH_LAYER", "core") == "pubsub":
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": [_REDIS], "prefix": _PREFIX},
        }
    }
else:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [_REDIS], "prefix": _PREFIX},
        }
    }
