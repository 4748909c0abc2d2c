"""The anchors' state, in memory, and the JSON every message carries.

The same shapes as the rxd bench server (bench/src/server.rs): an anchor
with CHILDREN items of about 300 bytes each.
"""

import json
import os
import time

CHILDREN = int(os.environ.get("BENCH_CHILDREN", "10"))
BODY = "x" * int(os.environ.get("BENCH_BODY", "200"))

_anchors = {}
version = 0


def dumps(value):
    return json.dumps(value, separators=(",", ":"))


def item_id(anchor, j):
    return anchor * 10000 + j


def anchor_state(anchor):
    state = _anchors.get(anchor)
    if state is None:
        items = {}
        for j in range(CHILDREN):
            key = item_id(anchor, j)
            items[key] = {
                "_type": "Item",
                "_v": 0,
                "id": key,
                "anchor_id": anchor,
                "title": f"item {j}",
                "body": BODY,
            }
        state = {"title": f"anchor {anchor}", "items": items}
        _anchors[anchor] = state
    return state


def initial_instances(anchor):
    state = anchor_state(anchor)
    instances = [
        {
            "_type": "Anchor",
            "_v": 0,
            "id": anchor,
            "title": state["title"],
            "items": list(state["items"].keys()),
        }
    ]
    instances.extend(state["items"].values())
    return instances


def save(spec, i):
    """Commit `i` of a drive: returns (group, delta message, items changed)."""
    global version
    anchor = spec["anchor_lo"] + i % max(1, spec["anchor_count"])
    k = min(spec["k_min"] + i % (spec["k_max"] - spec["k_min"] + 1), CHILDREN)
    state = anchor_state(anchor)
    title = f"@T{time.time_ns()}#{spec['seq_start'] + i}"
    version += 1
    changed = []
    for m in range(k):
        j = (i * 7919 + m) % CHILDREN
        item = {
            "_type": "Item",
            "_v": version,
            "id": item_id(anchor, j),
            "anchor_id": anchor,
            "title": title,
            "body": BODY,
        }
        state["items"][item["id"]] = item
        changed.append(item)
    delta = {"type": "delta", "v": version, "instances": changed, "deleted": []}
    return f"anchor-{anchor}", delta, k
