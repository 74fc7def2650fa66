"""%%NAME%%: a ratchet tool simulator. It answers an agent's tool calls from a JSON
world during ``ratchet gate`` replay (when no recorded fixture matches), and
reconstructs that world from a recorded conversation's calls at ``ratchet
regenerate``. The example is an order backend::

    {"orders": {"O-1001": {"order_id": "O-1001", "status": "open", "total": 49.0}}}

* ``seed``: each order as the first successful ``get_order`` of it returned it;
* ``get_order`` (``order_id``): the order, or an error result;
* ``cancel_order`` (``order_id``): an ``open`` order becomes ``cancelled``; any other
  status is an error result and changes nothing;
* any other tool: not modelled (``None``), the gate's missing-fixture policy applies.

Pure functions over JSON: the world comes in whole and goes out whole (change a
copy, never the world passed in).
"""

import copy

from ratchet_sdk import PluginError, PluginInfo, Simulated, Simulator


class %%TYPE%%(Simulator):
    def info(self):
        return PluginInfo("%%NAME%%", "0.1.0", "An order backend: get_order and cancel_order")

    def seed(self, observed, params):
        orders = {}
        for o in observed:
            if o.request.tool != "get_order" or o.is_error or not isinstance(o.result, dict):
                continue
            order_id = o.result.get("order_id")
            if isinstance(order_id, str):
                # The first answer is the state before the conversation changed anything.
                orders.setdefault(order_id, o.result)
        return {"orders": orders}

    def call(self, world, request, params):
        orders = world.get("orders") if isinstance(world, dict) else None
        if not isinstance(orders, dict):
            raise PluginError("the world has no `orders` object")
        order_id = request.arg_str("order_id") or ""
        if request.tool not in ("get_order", "cancel_order"):
            return None  # not modelled: the gate applies its missing-fixture policy
        if order_id not in orders:
            return Simulated.error({"error": f"no order {order_id}"}, world)
        order = orders[order_id]
        if request.tool == "get_order":
            return Simulated.ok(order, world)
        status = order.get("status") if isinstance(order, dict) else None
        if status == "open":
            after = copy.deepcopy(world)
            after["orders"][order_id]["status"] = "cancelled"
            return Simulated.ok({"ok": True}, after)
        # A rejected call changes nothing.
        return Simulated.error({"error": f"order {order_id} is {status if isinstance(status, str) else 'unknown'}: it cannot be cancelled"}, world)
