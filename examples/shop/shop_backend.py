"""The shop's order system, as the agent's tools see it in production.

The traffic generator (generate.py) runs every tool call of the example agent
against this backend; plugins/simulator-orders models the same semantics in
Rust for replay (its tests and this module's tests hold the two together).

The world is a JSON document, the shape the simulator keeps too:

    {"orders": {"O-48213": {"order_id", "email", "placed_at", "status",
                            "items": [{"sku", "name", "qty", "unit_price"}],
                            "total", "refunded_total", "returned": {"<sku>": qty},
                            "returns": [...], "refunds": [...],
                            "shipment": {...}, "return_window_ends": "..."}},
     "handoffs": [...]}

`status` is processing | shipped | delivered | cancelled. Tools:

* list_orders(email) -> {"orders": [summary, ...]}, newest first; a summary is
  the order without returns/refunds/shipment/return window, each item with its
  `returned_qty`;
* get_order(order_id) -> the summary plus `returns`, `refunds`, and `shipment`
  and `return_window_ends` when the order has them; unknown id: error;
* create_return(order_id, items: [{sku, qty, ...}], reason) -> a return of
  delivered items not yet returned (extra keys in items are ignored);
* refund_order(order_id, amount) -> a refund of at most the unrefunded balance;
* cancel_order(order_id) -> processing or shipped orders become cancelled and
  their balance is refunded (a shipped parcel is recalled: the production
  behaviour that lets an agent cancel what already left the warehouse);
  delivered or cancelled orders: error;
* calculate(expression) -> the number (+ - * / and parentheses on decimals,
  rounded to 6 decimal places);
* handoff_to_human(reason) -> a ticket in the customer-care queue.

Money is rounded to cents half away from zero after every operation.
"""

import copy
import json
import math
import re

#: The error of a transient failure (the agent should retry once).
TRANSIENT = {"error": "order service timeout (504): please retry", "retryable": True}


def round_to(x, places):
    """Half away from zero at `places` decimals: the same float operations as the
    simulator's Rust (`(x.abs() * 10^p + 0.5).floor() / 10^p`, signed)."""
    scale = 10.0 ** places
    r = int(abs(x) * scale + 0.5) / scale
    return -r if x < 0 else r


def cents(x):
    return round_to(x, 2)


class CalcError(ValueError):
    pass


def calculate(expression):
    """Evaluates + - * / and parentheses over decimal numbers (unary minus
    allowed); the result rounded to 6 decimal places. Raises CalcError."""
    if not isinstance(expression, str) or len(expression) > 200:
        raise CalcError("expression must be a string of at most 200 characters")
    tokens = re.findall(r"\d+(?:\.\d+)?|\.\d+|[-+*/()]|\S", expression, re.ASCII)
    pos = 0

    def peek():
        return tokens[pos] if pos < len(tokens) else None

    def take():
        nonlocal pos
        pos += 1
        return tokens[pos - 1]

    def expr(depth):
        v = term(depth)
        while peek() in ("+", "-"):
            v = v + term(depth) if take() == "+" else v - term(depth)
        return v

    def term(depth):
        v = factor(depth)
        while peek() in ("*", "/"):
            op = take()
            rhs = factor(depth)
            if op == "*":
                v = v * rhs
            else:
                if rhs == 0:
                    raise CalcError("division by zero")
                v = v / rhs
        return v

    def factor(depth):
        if depth > 32:
            raise CalcError("too deeply nested")
        t = peek()
        if t is None:
            raise CalcError("unexpected end of expression")
        if t == "-":
            take()
            return -factor(depth + 1)
        if t == "(":
            take()
            v = expr(depth + 1)
            if peek() != ")":
                raise CalcError("missing )")
            take()
            return v
        if re.fullmatch(r"\d+(?:\.\d+)?|\.\d+", t, re.ASCII):
            take()
            return float(t)
        raise CalcError("unexpected %r" % t)

    value = expr(0)
    if peek() is not None:
        raise CalcError("unexpected %r" % peek())
    if not math.isfinite(value):
        raise CalcError("result is not a finite number")
    return round_to(value, 6)


def summary(order):
    """An order as list_orders shows it."""
    returned = order.get("returned", {})
    return {
        "order_id": order["order_id"],
        "email": order["email"],
        "placed_at": order["placed_at"],
        "status": order["status"],
        "items": [dict(i, returned_qty=returned.get(i["sku"], 0)) for i in order["items"]],
        "total": order["total"],
        "refunded_total": order["refunded_total"],
    }


def detail(order):
    """An order as get_order shows it."""
    d = summary(order)
    d["returns"] = copy.deepcopy(order.get("returns", []))
    d["refunds"] = copy.deepcopy(order.get("refunds", []))
    for key in ("shipment", "return_window_ends"):
        if key in order:
            d[key] = copy.deepcopy(order[key])
    return d


class Backend:
    """One customer's slice of production: the world, the ids production hands
    out (drawn from `rng`), and transient failures to inject:
    `transient = {tool: n}` fails the first n calls of `tool`."""

    def __init__(self, world, rng, transient=None):
        self.world = copy.deepcopy(world)
        self.rng = rng
        self.transient = dict(transient or {})
        self.log = []  # (tool, arguments, content, is_error)

    def new_id(self, prefix):
        return "%s-%05d" % (prefix, self.rng.randrange(10000, 99999))

    def call(self, tool, arguments):
        """(content, is_error): fresh JSON values, never shared with the world."""
        if self.transient.get(tool, 0) > 0:
            self.transient[tool] -= 1
            content, is_error = dict(TRANSIENT), True
        else:
            content, is_error = self.answer(tool, arguments if isinstance(arguments, dict) else {})
        content = json.loads(json.dumps(content))
        self.log.append((tool, copy.deepcopy(arguments), content, is_error))
        return content, is_error

    def order(self, arguments):
        oid = arguments.get("order_id")
        return self.world["orders"].get(oid) if isinstance(oid, str) else None

    def answer(self, tool, a):
        w = self.world
        if tool == "list_orders":
            mine = [o for o in w["orders"].values() if o["email"] == a.get("email")]
            mine.sort(key=lambda o: o["placed_at"], reverse=True)
            return {"orders": [summary(o) for o in mine]}, False
        if tool == "calculate":
            try:
                return calculate(a.get("expression")), False
            except CalcError as e:
                return {"error": "cannot evaluate: %s" % e}, True
        if tool == "handoff_to_human":
            ticket = self.new_id("H")
            w.setdefault("handoffs", []).append({"ticket": ticket, "reason": a.get("reason")})
            return {"ok": True, "ticket": ticket, "queue": "customer-care", "estimated_wait_minutes": 4}, False
        if tool not in ("get_order", "create_return", "refund_order", "cancel_order"):
            return {"error": "unknown tool %s" % tool}, True
        o = self.order(a)
        if o is None:
            return {"error": "order not found"}, True
        if tool == "get_order":
            return detail(o), False
        if tool == "cancel_order":
            if o["status"] == "cancelled":
                return {"error": "order %s is already cancelled" % o["order_id"]}, True
            if o["status"] == "delivered":
                return {"error": "order %s was delivered: it cannot be cancelled, start a return instead" % o["order_id"]}, True
            refunded = cents(o["total"] - o["refunded_total"])
            o["status"] = "cancelled"
            o["refunded_total"] = o["total"]
            return {"ok": True, "order_id": o["order_id"], "status": "cancelled", "refunded": refunded}, False
        if tool == "refund_order":
            amount = a.get("amount")
            if isinstance(amount, bool) or not isinstance(amount, (int, float)) or amount <= 0:
                return {"error": "amount must be a positive number"}, True
            balance = cents(o["total"] - o["refunded_total"])
            if amount > balance + 1e-9:
                return {"error": "amount exceeds the refundable balance of %.2f" % balance}, True
            o["refunded_total"] = cents(o["refunded_total"] + amount)
            refund = {"refund_id": self.new_id("RF"), "amount": amount}
            o.setdefault("refunds", []).append(refund)
            return {"refund_id": refund["refund_id"], "order_id": o["order_id"], "amount": amount,
                    "refunded_total": o["refunded_total"]}, False
        # create_return
        if o["status"] != "delivered":
            return {"error": "order %s is %s: returns open once it is delivered" % (o["order_id"], o["status"])}, True
        items = a.get("items")
        if not isinstance(items, list) or not items:
            return {"error": "items must be a non-empty list of {sku, qty}"}, True
        lines = []
        for it in items:
            sku = it.get("sku") if isinstance(it, dict) else None
            qty = it.get("qty") if isinstance(it, dict) else None
            line = next((i for i in o["items"] if i["sku"] == sku), None)
            if line is None:
                return {"error": "item %s is not on order %s" % (sku, o["order_id"])}, True
            if isinstance(qty, bool) or not isinstance(qty, int) or qty < 1:
                return {"error": "qty of %s must be a positive integer" % sku}, True
            left = line["qty"] - o["returned"].get(sku, 0) - sum(q for s, q in lines if s == sku)
            if qty > left:
                return {"error": "cannot return %d × %s: %d left to return" % (qty, sku, left)}, True
            lines.append((sku, qty))
        for sku, qty in lines:
            o["returned"][sku] = o["returned"].get(sku, 0) + qty
        ret = {"return_id": self.new_id("R"), "items": [{"sku": s, "qty": q} for s, q in lines],
               "reason": a.get("reason"), "status": "label_sent"}
        o.setdefault("returns", []).append(ret)
        return {"return_id": ret["return_id"], "order_id": o["order_id"], "items": ret["items"], "status": "label_sent",
                "label": "emailed"}, False
