#!/usr/bin/env python3
"""Example agent of the shop domain: orders, cancellations, returns, refunds.

A deterministic, rule-based STAND-IN FOR AN LLM AGENT, speaking the exec
JSON-lines protocol of docs/agent-protocol.md on stdin/stdout (Python 3 standard
library only). It exists to measure replay fidelity (issue 15): its two versions
serve the same customers with the same tools, and the fixed one takes other
paths than the buggy one, the way a real prompt fix does.

  --version buggy    the production prompt ("shop-v1"): acts on the most recent
                     order when the customer has several; refunds the whole order
                     after a partial return; cancels orders that already shipped;
                     never hands off to a person; gives up after a tool error;
                     "sets up" exchanges without creating the return.
  --version correct  the fix ("shop-v2"), which also takes other paths:
                     - extra lookups: list_orders, then get_order on the order it
                       is about to change;
                     - asks a confirmation before a change when it picked the
                       order from an item among several orders, or when more than
                       $100 moves;
                     - asks which order when it cannot tell;
                     - retries a call once after a transient error;
                     - sends return items as {"sku", "qty", "reason"};
                     - uses the `calculate` tool for amounts over several units;
                     - hands off through the `handoff_to_human` tool;
                     - hence longer conversations.

Tools (name@version, as in the state's tool_registry): list_orders(email),
get_order(order_id), create_return(order_id, items, reason),
refund_order(order_id, amount), cancel_order(order_id), calculate(expression),
handoff_to_human(reason). Their production semantics are in shop_backend.py.

Everything the agent says comes from the templates below; `decide()` is a pure
function of the version, the memory snapshot and the transcript, which the
traffic generator (generate.py) imports.

Usage: shop_agent.py [--version buggy|correct]
"""

import argparse
import json
import re
import sys

PROTOCOL = 1
AGENT_NAME = "shop-agent"

#: Agent version -> the prompt version production records in the state snapshot.
PROMPT_VERSIONS = {"buggy": "shop-v1", "correct": "shop-v2"}

LIST_ORDERS = "list_orders"
GET_ORDER = "get_order"
CREATE_RETURN = "create_return"
REFUND_ORDER = "refund_order"
CANCEL_ORDER = "cancel_order"
CALCULATE = "calculate"
HANDOFF = "handoff_to_human"
#: The tools and their versions (the state's tool_registry).
TOOL_VERSIONS = {
    LIST_ORDERS: "2.3.0",
    GET_ORDER: "2.3.0",
    CREATE_RETURN: "1.4.0",
    REFUND_ORDER: "1.2.0",
    CANCEL_ORDER: "1.1.0",
    CALCULATE: "1.0.0",
    HANDOFF: "1.0.0",
}
MUTATIONS = (CREATE_RETURN, REFUND_ORDER, CANCEL_ORDER)

#: The correct version confirms before moving more than this much money.
CONFIRM_ABOVE = 100.0

# ---------------------------------------------------------------------------
# What the agent says. Replies are (text, kind): the kind is for the traffic
# generator's customers (who react to what the agent did); the protocol sends
# the text only. Confirmation and "which order" questions start with fixed
# words, so the agent recognises its own question in the transcript.
# ---------------------------------------------------------------------------

GREETING = "Hi! I can help with your orders: tracking, cancellations, returns and refunds. What can I do for you?"
HELP = "I can help you track, cancel or return an order, or sort out a refund. What would you like to do?"
WELCOME = "You're welcome! Is there anything else I can help you with?"
ASK_EMAIL = "Could you tell me the email address you used for the order?"
ASK_WHICH = "Which order do you mean? I can see "
CONFIRM = "Just to confirm: "
NO_HUMAN = "There's no need to wait for a person, I can help you with that myself. What's going on with your order?"
HANDED_OFF = "I've passed your conversation to a colleague from our customer care team (ticket %s); they'll take it from here in about %d minutes."
AFTER_HANDOFF = "A colleague from our customer care team will be with you shortly and can see everything you've told me."
GIVE_UP = "I'm sorry, I can't %s right now: our order system isn't responding. Please try again later."
STILL_FAILING = ("I'm sorry, our order system still isn't responding, so I couldn't %s. Nothing has been changed; "
                 "please try again in a little while.")
FAILED = "I'm sorry, I couldn't %s: %s."
NO_ORDERS = "I couldn't find any orders under your email address."
NOT_FOUND = "I couldn't find order %s on your account."
WHICH_ITEM = "Which item would you like to %s? Order %s has %s."
DECLINED = "Okay, I haven't changed anything. Is there anything else I can help you with?"
APOLOGY = "I'm sorry about that. Is there anything else I can help you with?"
CANCELLED = "Order %s (%s) is cancelled, and %s will go back to your original payment method."
ALREADY_CANCELLED = "Order %s is already cancelled."
SHIPPED_NO_CANCEL = ("Order %s (%s) has already shipped, so I can't cancel it any more. Once it arrives you can return it "
                     "within 30 days for a full refund: just get back in touch and I'll set the return up.")
DELIVERED_NO_CANCEL = ("Order %s (%s) was already delivered, so it can't be cancelled, but you can return it within 30 days "
                       "for a refund.")
RETURNED = "I've created return %s for %s from order %s; a prepaid return label is on its way to your email."
REFUNDED_AFTER_RETURN = " I've also refunded %s to your original payment method."
REFUNDED = "I've refunded %s for %s on order %s to your original payment method."
EXCHANGE_STARTED = ("I've created return %s for %s from order %s (reason: exchange); a prepaid label is on its way. "
                    "Once we receive it, you can order the %s you need and we'll refund the original.")
EXCHANGE_CLAIMED = "All set! I've set up the exchange for your %s and emailed you a prepaid return label."
NOT_RETURNABLE = "Order %s is %s, so it can't be returned yet: returns open once it has been delivered."
NOTHING_LEFT = "Everything you mention from order %s has already been returned."
NOT_ON_ORDERS = "I couldn't find %s on your orders."
STATUS = "Here's what I see: %s."
ALREADY_DONE = "That's taken care of: %s"


def money(x):
    return "$%.2f" % x


# ---------------------------------------------------------------------------
# Reading the customer (the stand-in for the model's understanding).
# ---------------------------------------------------------------------------

ORDER_ID = re.compile(r"\bO-\d{5}\b")
EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}|\[EMAIL_\d+\]")  # a scrubbed one reads as an email too
NUMBER_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "both": 2, "a": 1, "an": 1}

INTENT_PATTERNS = [  # (intent, regex on the lower-cased text); a line may carry several
    ("human", r"\b(human|real person|a person|manager|supervisor|representative|speak to someone|talk to someone)\b"),
    ("exchange", r"\b(exchange|swap|bigger size|smaller size|different size|different colou?r)\b"),
    ("return", r"\b(return|send (it|them|this|these) back|send back)\b"),
    ("cancel", r"\bcancel"),
    ("refund", r"\b(refund|money back|broken|damaged|cracked|stopped working|defective|faulty)\b"),
    ("status", r"\b(where is|where's|status|track|tracking|arrived|shipped|when will)\b"),
    ("complaint", r"\b(wrong order|wrong one|didn't ask|did not ask|not that one|that's not the one|mistake)\b"),
    ("retry", r"\b(try again|retry|one more time|try once more)\b"),
    ("no", r"^\W*(no|nope|nah)\b|\b(don't|do not|wait|hold on|wrong)\b"),
    ("yes", r"^\W*(yes|yeah|yep|yup|sure|ok|okay|please|go ahead|do it|correct|right|sounds good|great|perfect|fine|thanks|thank you)\b"),
    ("thanks", r"\b(thanks|thank you|thx|cheers|bye|that's all|that is all|never mind)\b"),
    ("later", r"\b(when it arrives|when it comes|later|i'll wait)\b"),
]
INTENTS = [(name, re.compile(rx)) for name, rx in INTENT_PATTERNS]
#: Goal intents, strongest first: a line asking for a person is about that.
GOALS = ["human", "exchange", "return", "cancel", "refund", "status"]


def intents(text):
    """The set of intents a customer line carries."""
    low = text.lower()
    return {name for name, rx in INTENTS if rx.search(low)}


def goal_of(text):
    """The goal a customer line states, or None (a reply, thanks, small talk, or
    something for later: "I'll return it when it arrives")."""
    found = intents(text)
    if "later" in found and "human" not in found:
        return None
    return next((g for g in GOALS if g in found), None)


def mention_pattern(name):
    """Regex finding a product by name in lower-cased text: the whole name or a
    tail of its words ("Wireless Headphones" -> "wireless headphones",
    "headphones"), tails of 4+ letters only, whole words, plural allowed.
    The shop scorecard (plugins/scorecard-shop) matches products the same way."""
    words = name.lower().split()
    tails = [" ".join(words[i:]) for i in range(len(words))]
    tails = [re.escape(t) for t in tails if len(t) >= 4]
    return re.compile(r"\b(?:%s)(?:e?s)?\b" % "|".join(tails)) if tails else None


def mentioned_qty(low, match_start):
    """A quantity said just before a product mention ("2 wine glasses", "two of
    the wine glasses"), else None."""
    before = re.findall(r"[a-z0-9']+", low[:match_start])[-4:]
    for w in reversed(before):
        if w.isdigit() and 0 < int(w) < 100:
            return int(w)
        if w in NUMBER_WORDS and w not in ("a", "an"):
            return NUMBER_WORDS[w]
    return None


def mentioned_items(texts, orders):
    """{sku: qty} of the products of `orders` that `texts` name. The quantity is
    the number said before the name, else all of the line when the name is said
    in the plural ("the wine glasses"), else 1 ("the t-shirt")."""
    found = {}
    for text in texts:
        low = text.lower()
        for order in orders:
            for item in order.get("items", []):
                rx = mention_pattern(item.get("name", ""))
                m = rx.search(low) if rx else None
                if m is None or item["sku"] in found:
                    continue
                said = mentioned_qty(low, m.start())
                plural = not m.group(0).endswith(item["name"].lower().split()[-1])
                found[item["sku"]] = said or (int(item.get("qty", 1)) if plural else 1)
    return found


def reason_of(texts):
    low = " ".join(texts).lower()
    if re.search(r"\b(broken|damaged|cracked|stopped working|defective|faulty)\b", low):
        return "damaged"
    if re.search(r"\b(size|fit|small|big|large|tight)\b", low):
        return "wrong size"
    if re.search(r"\b(colou?r)\b", low):
        return "wrong colour"
    return "no longer needed"


def round2(x):
    """Half away from zero to cents (the same arithmetic as the backend and the simulator)."""
    return (1 if x >= 0 else -1) * int(abs(x) * 100 + 0.5) / 100


def is_transient(result):
    """A tool error worth one retry: the backend says so (`retryable`) or it reads like a timeout."""
    content = result.get("content")
    if isinstance(content, dict) and content.get("retryable") is True:
        return True
    text = json.dumps(content).lower()
    return any(w in text for w in ("timeout", "timed out", "temporarily", "unavailable", "try again"))


def error_text(result):
    content = result.get("content")
    if isinstance(content, dict) and isinstance(content.get("error"), str):
        return content["error"]
    return "the system returned an error"


# ---------------------------------------------------------------------------
# The decision logic.
# ---------------------------------------------------------------------------

class Episode:
    """The conversation since the customer line that set the current goal: the
    calls made and their results, and the customer lines."""

    def __init__(self, transcript, start):
        self.start = start
        self.calls = []  # [call, result or None, made before the latest customer line], in order
        by_id = {}
        last = max(i for i, t in enumerate(transcript) if t["role"] == "customer")
        for n, t in enumerate(transcript[start:], start):
            for c in t.get("tool_calls", []) or []:
                entry = [c, None, n < last]
                by_id[c["id"]] = entry
                self.calls.append(entry)
            r = t.get("tool_result")
            if r and r.get("call_id") in by_id:
                by_id[r["call_id"]][1] = r
        self.customer = [t["text"] for t in transcript[start:] if t["role"] == "customer"]

    def attempts(self, tool, arguments):
        """[(call, result)] of `tool` with exactly `arguments`."""
        return [(c, r) for c, r, _ in self.calls if c["name"] == tool and c.get("arguments") == arguments]

    def ok(self, tool, pred=lambda args: True, before_last=False):
        """The content of the latest successful result of `tool` whose arguments
        satisfy `pred` (only calls made before the latest customer line, if asked)."""
        for c, r, early in reversed(self.calls):
            if c["name"] == tool and r is not None and not r.get("is_error") and pred(c.get("arguments") or {}):
                if early or not before_last:
                    return r.get("content")
        return None

    def ok_before_last(self, tool, pred):
        return self.ok(tool, pred, before_last=True)


class Decision(Exception):
    """Raised with the next action, to leave the goal flow from any depth."""

    def __init__(self, action):
        super().__init__(action[0])
        self.action = action


class Turn:
    """One decision: the version's rules over the transcript."""

    def __init__(self, version, memory, transcript):
        if version not in PROMPT_VERSIONS:
            raise ValueError("unknown version %r" % version)
        self.correct = version == "correct"
        self.memory = memory
        self.transcript = transcript
        self.call_count = sum(len(t.get("tool_calls", []) or []) for t in transcript)

    # -- actions ------------------------------------------------------------
    def call(self, tool, arguments):
        raise Decision(("call", "call-%d" % (self.call_count + 1), tool, arguments))

    def reply(self, text, kind):
        raise Decision(("reply", text, kind))

    def need(self, ep, tool, arguments, what):
        """The successful result of `tool(arguments)` in this episode, calling it
        when it has not been made; after an error: the correct version retries a
        transient one once, the buggy one gives up."""
        tries = ep.attempts(tool, arguments)
        if not tries:
            self.call(tool, arguments)
        call, result = tries[-1]
        if result is None:
            raise RuntimeError("a tool call is still pending")
        if not result.get("is_error"):
            return result.get("content")
        if not self.correct:
            if is_transient(result):
                self.reply(GIVE_UP % what, "gave-up")
            self.reply(FAILED % (what, error_text(result)), "failed")
        if is_transient(result):
            if len(tries) < 2:
                self.call(tool, arguments)
            self.reply(STILL_FAILING % what, "failed")
        self.reply(FAILED % (what, error_text(result)), "failed")

    # -- the conversation ---------------------------------------------------
    def decide(self):
        try:
            self.run()
        except Decision as d:
            return d.action
        raise AssertionError("no decision")  # pragma: no cover

    def run(self):
        tr = self.transcript
        customer = [i for i, t in enumerate(tr) if t["role"] == "customer"]
        if not customer:
            self.reply(GREETING, "greeting")
        last = customer[-1]
        if any(t["role"] == "agent" and t.get("text") for t in tr[last + 1:]):
            raise RuntimeError("the customer's latest message has already been answered")
        text = tr[last]["text"]
        said = intents(text)
        if self.correct and self.handed_off(tr[:last]):
            self.reply(AFTER_HANDOFF, "after-handoff")
        asked = self.last_question(tr, last)
        goal = goal_of(text)
        if asked == "confirm" and goal in (None, "cancel", "return", "refund", "exchange") and "human" not in said:
            # An answer to "Just to confirm ...": no wins over yes ("no wait, that's wrong").
            if "no" in said or "complaint" in said:
                self.reply(DECLINED, "declined")
            g = self.goal_line(tr, last)
            if g is not None and "yes" in said:
                self.goal(g, confirmed=True)
            if g is not None and goal is None:
                self.goal(g)  # neither yes nor no: ask again
        if goal is not None:
            self.goal(last)
        if asked in ("which", "email") or "retry" in said:
            g = self.goal_line(tr, last)
            if g is not None:
                self.goal(g)
        if "complaint" in said:
            self.reply(APOLOGY, "apology")
        if "thanks" in said or "yes" in said or "later" in said:
            self.reply(WELCOME, "welcome")
        self.reply(HELP, "help")

    def handed_off(self, tr):
        return any(t.get("tool_result") and t["tool_result"].get("name") == HANDOFF and not t["tool_result"].get("is_error")
                   for t in tr)

    def last_question(self, tr, before):
        for t in reversed(tr[:before]):
            if t["role"] == "agent" and t.get("text"):
                if t["text"].startswith(CONFIRM):
                    return "confirm"
                if t["text"].startswith(ASK_WHICH) or t["text"].startswith("Which item"):
                    return "which"
                if t["text"] == ASK_EMAIL:
                    return "email"
                return None
        return None

    def goal_line(self, tr, before):
        """Index of the latest customer line before `before` that states a goal."""
        for i in range(before - 1, -1, -1):
            if tr[i]["role"] == "customer" and goal_of(tr[i]["text"]) is not None:
                return i
        return None

    # -- goals --------------------------------------------------------------
    def goal(self, start, confirmed=False):
        ep = Episode(self.transcript, start)
        goal = goal_of(self.transcript[start]["text"])
        if goal == "human":
            if not self.correct:
                self.reply(NO_HUMAN, "no-human")
            r = self.need(ep, HANDOFF, {"reason": "the customer asked for a person"}, "reach a colleague")
            self.reply(HANDED_OFF % (r.get("ticket", "?"), int(r.get("estimated_wait_minutes", 5))), "handed-off")
        flow = getattr(self, ("correct_" if self.correct else "buggy_") + goal)
        flow(ep, confirmed)

    def email(self):
        email = self.memory.get("customer.email")
        if email:
            return email
        for t in self.transcript:
            if t["role"] == "customer":
                m = EMAIL.search(t["text"])
                if m:
                    return m.group(0)
        self.reply(ASK_EMAIL, "ask-email")

    def texts(self, ep):
        """Customer lines that describe the goal: this episode's and the one just
        before it (a vague opener, then the request)."""
        before = [t["text"] for t in self.transcript[:ep.start] if t["role"] == "customer"][-1:]
        return before + ep.customer

    def order_id(self, ep):
        """The first order id the customer gave for this goal, if any."""
        for text in self.texts(ep):
            m = ORDER_ID.search(text)
            if m:
                return m.group(0)
        return None

    def listed(self, ep):
        """The customer's orders, newest first (list_orders)."""
        r = self.need(ep, LIST_ORDERS, {"email": self.email()}, "look up your orders")
        orders = list((r or {}).get("orders") or [])
        if not orders:
            self.reply(NO_ORDERS, "no-orders")
        return orders

    def wanted(self, ep, orders):
        return mentioned_items(self.texts(ep), orders)

    # -- the buggy version ("shop-v1") ----------------------------------------
    def buggy_orders(self, ep):
        """With an order id: just that order (get_order); else the list."""
        oid = self.order_id(ep)
        if oid:
            return [self.need(ep, GET_ORDER, {"order_id": oid}, "look up order %s" % oid)], oid
        return self.listed(ep), None

    def buggy_status(self, ep, confirmed):
        orders, _ = self.buggy_orders(ep)
        self.reply(STATUS % "; ".join("order %s (%s) is %s" % (o["order_id"], describe(o), o["status"]) for o in orders[:3]),
                   "status")

    def buggy_cancel(self, ep, confirmed):
        orders, oid = self.buggy_orders(ep)
        # The bug: the newest open order, whatever the customer said about it; no status check.
        order = orders[0] if oid else next((o for o in orders if o["status"] != "cancelled"), None)
        if order is None:
            self.reply(NO_ORDERS, "no-orders")
        r = self.need(ep, CANCEL_ORDER, {"order_id": order["order_id"]}, "cancel your order")
        self.reply(CANCELLED % (order["order_id"], describe(order), money(float(r.get("refunded", 0)))), "cancelled")

    def buggy_exchange(self, ep, confirmed):
        orders, _ = self.buggy_orders(ep)
        wanted = self.wanted(ep, orders)
        names = [i["name"] for o in orders for i in o.get("items", []) if i["sku"] in wanted]
        # The bug: says the exchange is set up; no return is ever created.
        self.reply(EXCHANGE_CLAIMED % (names[0] if names else "item"), "exchange-claimed")

    def buggy_return(self, ep, confirmed):
        orders, oid = self.buggy_orders(ep)
        wanted = self.wanted(ep, orders)
        order = orders[0] if oid else next((o for o in orders if any(i["sku"] in wanted for i in o.get("items", []))),
                                           orders[0])
        lines = [(i, wanted[i["sku"]]) for i in order.get("items", []) if i["sku"] in wanted]
        lines = lines or [(i, i["qty"]) for i in order.get("items", [])]
        what = items_text(lines)
        reason = reason_of(self.texts(ep))
        ret = self.need(ep, CREATE_RETURN, {"order_id": order["order_id"], "reason": reason,
                                           "items": [{"sku": i["sku"], "qty": q} for i, q in lines]}, "create the return")
        # The bug: refunds what is left of the whole order, not the returned items.
        amount = round2(float(order["total"]) - float(order.get("refunded_total", 0)))
        r = self.need(ep, REFUND_ORDER, {"order_id": order["order_id"], "amount": amount}, "issue the refund")
        self.reply(RETURNED % (ret.get("return_id", "?"), what, order["order_id"])
                   + REFUNDED_AFTER_RETURN % money(float(r.get("amount", amount))), "returned")

    def buggy_refund(self, ep, confirmed):
        orders, oid = self.buggy_orders(ep)
        wanted = self.wanted(ep, orders)
        # The bug: the newest delivered order, not the one the damaged item came on.
        order = orders[0] if oid else next((o for o in orders if o["status"] == "delivered"), orders[0])
        lines = [(i, wanted[i["sku"]]) for o in orders for i in o.get("items", []) if i["sku"] in wanted][:1]
        lines = lines or [(i, i["qty"]) for i in order.get("items", [])]
        amount = round2(sum(float(i["unit_price"]) * q for i, q in lines))
        r = self.need(ep, REFUND_ORDER, {"order_id": order["order_id"], "amount": amount}, "issue the refund")
        self.reply(REFUNDED % (money(float(r.get("amount", amount))), items_text(lines), order["order_id"]), "refunded")

    # -- the correct version ("shop-v2") --------------------------------------
    def pick(self, ep, orders, eligible, verb):
        """(order, how): by id; else the order holding the items named (how =
        "item"); else the only eligible order ("only"); else ask which."""
        oid = self.order_id(ep)
        if oid:
            found = [o for o in orders if o["order_id"] == oid]
            if not found:
                self.reply(NOT_FOUND % oid, "not-found")
            return found[0], "id"
        wanted = self.wanted(ep, orders)
        having = [o for o in orders if any(i["sku"] in wanted for i in o.get("items", []))]
        if having:
            pool = [o for o in having if eligible(o)] if len(having) > 1 else having
            if len(pool) == 1:
                return pool[0], "item"
            choices = pool or having
        else:
            pool = [o for o in orders if eligible(o)]
            if len(pool) == 1:
                return pool[0], "only"
            choices = pool or orders
        self.reply(ASK_WHICH + "; ".join("%s (%s, %s)" % (o["order_id"], describe(o), o["status"]) for o in choices)
                   + ". Which one would you like to %s?" % verb, "ask-which")

    def detail(self, ep, order):
        """The order read afresh (get_order) before it is changed or reported."""
        return self.need(ep, GET_ORDER, {"order_id": order["order_id"]}, "look up order %s" % order["order_id"]) or order

    def confirm(self, confirmed, how, orders, amount, text):
        """Ask first when the order was inferred from an item among several orders,
        or when more than CONFIRM_ABOVE moves."""
        if confirmed:
            return
        if (how == "item" and len(orders) > 1) or (amount is not None and amount > CONFIRM_ABOVE):
            self.reply(CONFIRM + text + " Shall I go ahead?", "confirm")

    def correct_status(self, ep, confirmed):
        orders = self.listed(ep)
        wanted = self.wanted(ep, orders)
        focus = next((o for o in orders if any(i["sku"] in wanted for i in o.get("items", []))), orders[0])
        detail = self.detail(ep, focus)
        ship = detail.get("shipment") or {}
        extra = ", tracking %s with %s" % (ship["tracking"], ship.get("carrier", "the carrier")) if ship.get("tracking") else ""
        self.reply(STATUS % ("order %s (%s) is %s%s" % (detail["order_id"], describe(detail), detail["status"], extra)),
                   "status")

    def correct_cancel(self, ep, confirmed):
        orders = self.listed(ep)
        order, how = self.pick(ep, orders, lambda o: o["status"] == "processing", "cancel")
        oid = order["order_id"]
        done = ep.ok(CANCEL_ORDER, lambda a: a.get("order_id") == oid)
        if done is not None:
            self.reply(CANCELLED % (oid, describe(order), money(float(done.get("refunded", 0)))), "cancelled")
        order = self.detail(ep, order)
        if order["status"] == "cancelled":
            self.reply(ALREADY_CANCELLED % oid, "already-cancelled")
        if order["status"] == "shipped":
            self.reply(SHIPPED_NO_CANCEL % (oid, describe(order)), "shipped-no-cancel")
        if order["status"] == "delivered":
            self.reply(DELIVERED_NO_CANCEL % (oid, describe(order)), "delivered-no-cancel")
        refund = round2(float(order["total"]) - float(order.get("refunded_total", 0)))
        self.confirm(confirmed, how, orders, refund,
                     "you'd like me to cancel order %s (%s) and refund %s." % (oid, describe(order), money(refund)))
        r = self.need(ep, CANCEL_ORDER, {"order_id": oid}, "cancel order %s" % oid)
        self.reply(CANCELLED % (oid, describe(order), money(float(r.get("refunded", refund)))), "cancelled")

    def correct_lines(self, ep, goal, order, verb):
        """[(item, qty)]: the items named on `order` (qty said, else all of them),
        else its only item, else (for a return of a whole order: "everything") all."""
        wanted = self.wanted(ep, [order])
        lines = [(i, wanted[i["sku"]]) for i in order.get("items", []) if i["sku"] in wanted]
        if lines:
            return lines
        items = order.get("items", [])
        whole = re.search(r"\b(everything|whole order|entire order|all of it|the order)\b", " ".join(self.texts(ep)).lower())
        if len(items) == 1 or (goal == "return" and whole):
            return [(i, i["qty"]) for i in items]
        self.reply(WHICH_ITEM % (verb, order["order_id"], ", ".join(i["name"] for i in items)), "ask-which")

    def correct_change(self, ep, confirmed, goal):
        """Returns (with the refund of what comes back), exchanges (a return, no
        refund yet) and refunds of damaged items (no return)."""
        verb = {"return": "return", "exchange": "exchange", "refund": "get refunded"}[goal]
        orders = self.listed(ep)
        order, how = self.pick(ep, orders, lambda o: o["status"] == "delivered", verb)
        oid = order["order_id"]
        lines = self.correct_lines(ep, goal, order, verb)
        done = self.reported(ep, goal, oid, items_text(lines))
        if done:
            self.reply(*done)
        detail = self.detail(ep, order)
        if detail["status"] != "delivered":
            self.reply(NOT_RETURNABLE % (oid, detail["status"]), "not-returnable")
        if goal != "refund":  # only what has not come back already
            left = {i["sku"]: i["qty"] - i.get("returned_qty", 0) for i in detail.get("items", [])}
            lines = [(i, min(q, left.get(i["sku"], 0))) for i, q in lines]
            lines = [(i, q) for i, q in lines if q > 0]
            if not lines:
                self.reply(NOTHING_LEFT % oid, "nothing-left")
        what = items_text(lines)
        reason = reason_of(self.texts(ep))
        value = None if goal == "exchange" else self.value(ep, lines)
        if goal == "refund":
            self.confirm(confirmed, how, orders, value, "you'd like a refund of %s for %s on order %s." % (money(value), what, oid))
            r = self.need(ep, REFUND_ORDER, {"order_id": oid, "amount": value}, "issue the refund")
            self.reply(REFUNDED % (money(float(r.get("amount", value))), what, oid), "refunded")
        if goal == "exchange":
            reason = "exchange: " + reason
        self.confirm(confirmed, how, orders, value, "you'd like to return %s from order %s%s." % (
            what, oid, "" if value is None else " for a refund of %s" % money(value)))
        ret = self.need(ep, CREATE_RETURN, {"order_id": oid, "reason": reason,
                                           "items": [{"sku": i["sku"], "qty": q, "reason": reason} for i, q in lines]},
                        "create the return")
        rid = ret.get("return_id", "?")
        if goal == "exchange":
            self.reply(EXCHANGE_STARTED % (rid, what, oid, "size" if "size" in reason else "replacement"), "exchange-started")
        r = self.need(ep, REFUND_ORDER, {"order_id": oid, "amount": value}, "issue the refund")
        self.reply(RETURNED % (rid, what, oid) + REFUNDED_AFTER_RETURN % money(float(r.get("amount", value))), "returned")

    def correct_return(self, ep, confirmed):
        self.correct_change(ep, confirmed, "return")

    def correct_exchange(self, ep, confirmed):
        self.correct_change(ep, confirmed, "exchange")

    def correct_refund(self, ep, confirmed):
        self.correct_change(ep, confirmed, "refund")

    def value(self, ep, lines):
        """What the items are worth: one unit at its price; several through the
        `calculate` tool (the model does not do arithmetic in its head)."""
        if len(lines) == 1 and lines[0][1] == 1:
            return float(lines[0][0]["unit_price"])
        expression = " + ".join("%s * %d" % (num(i["unit_price"]), q) for i, q in lines)
        r = self.need(ep, CALCULATE, {"expression": expression}, "work out the amount")
        if isinstance(r, dict):
            r = r.get("result")
        return round2(float(r))

    def reported(self, ep, goal, oid, what):
        """When the change was made before the customer's latest line (who then
        says "can you try again?"), the reply saying it is done."""
        ret = ep.ok_before_last(CREATE_RETURN, lambda a: a.get("order_id") == oid)
        ref = ep.ok_before_last(REFUND_ORDER, lambda a: a.get("order_id") == oid)
        if goal == "refund" and ref is not None:
            return ALREADY_DONE % (REFUNDED % (money(float(ref.get("amount", 0))), what, oid)), "refunded"
        if goal == "exchange" and ret is not None:
            return ALREADY_DONE % (RETURNED % (ret.get("return_id", "?"), what, oid)), "exchange-started"
        if goal == "return" and ret is not None and ref is not None:
            return ALREADY_DONE % (RETURNED % (ret.get("return_id", "?"), what, oid)
                                   + REFUNDED_AFTER_RETURN % money(float(ref.get("amount", 0)))), "returned"
        return None


def items_text(lines):
    """"1 × Desk Lamp, 2 × Wine Glass"."""
    return ", ".join("%d × %s" % (q, i["name"]) for i, q in lines)


def num(x):
    """A price as the agent writes it in an expression: 34.99, 12.5, 20."""
    x = float(x)
    return str(int(x)) if x == int(x) else repr(x)


def describe(order):
    """"Desk Lamp" / "Desk Lamp and 2 more items"."""
    items = order.get("items") or []
    if not items:
        return "no items"
    first = items[0]["name"]
    return first if len(items) == 1 else "%s and %d more item%s" % (first, len(items) - 1, "" if len(items) == 2 else "s")


def decide(version, memory, transcript):
    """The next action for `transcript` (turns shaped as in the canonical
    conversation): ("call", call_id, tool, arguments) or ("reply", text, kind)."""
    return Turn(version, memory, transcript).decide()


# ---------------------------------------------------------------------------
# The protocol (docs/agent-protocol.md): JSON lines on stdin/stdout; sessions
# are independent and keyed by `session`.
# ---------------------------------------------------------------------------

class ProtocolError(Exception):
    pass


def send(message):
    sys.stdout.write(json.dumps(message, separators=(",", ":")) + "\n")
    sys.stdout.flush()


def log(text):
    sys.stderr.write("shop-agent: %s\n" % text)
    sys.stderr.flush()


class Agent:
    def __init__(self, version):
        self.version = version
        self.sessions = {}  # session id -> {"memory", "transcript", "pending"}

    def handle(self, msg):
        kind = msg.get("type")
        if kind == "hello":
            if msg.get("protocol") != PROTOCOL:
                raise ProtocolError("unsupported protocol %r (this agent speaks %d)" % (msg.get("protocol"), PROTOCOL))
            send({"type": "ready", "protocol": PROTOCOL, "agent": AGENT_NAME, "version": PROMPT_VERSIONS[self.version],
                  "concurrent_sessions": True})
        elif kind == "session.start":
            sid = msg["session"]
            if sid in self.sessions:
                raise ProtocolError("session %r started twice" % sid)
            memory = {}
            for entry in (msg.get("state") or {}).get("memory_snapshot", []):
                memory.setdefault(entry["key"], entry.get("value"))
            self.sessions[sid] = {"memory": memory, "transcript": [], "pending": None}
        elif kind == "customer.message":
            session = self.session(msg)
            if session["pending"]:
                raise ProtocolError("customer.message for session %r while a tool call is pending" % msg["session"])
            session["transcript"].append({"role": "customer", "text": msg["text"]})
            self.step(msg["session"], session)
        elif kind == "tool.result":
            session = self.session(msg)
            if msg.get("call_id") != session["pending"]:
                raise ProtocolError("tool.result for call %r, expected %r" % (msg.get("call_id"), session["pending"]))
            call = session["transcript"][-1]["tool_calls"][0]
            session["transcript"].append({"role": "tool", "tool_result": {
                "call_id": call["id"], "name": call["name"], "content": msg.get("content"),
                "is_error": bool(msg.get("is_error"))}})
            session["pending"] = None
            self.step(msg["session"], session)
        elif kind == "session.end":
            self.sessions.pop(msg["session"], None)
            send({"type": "session.ended", "session": msg["session"]})
        else:
            raise ProtocolError("unknown message type %r" % kind)

    def session(self, msg):
        if msg.get("session") not in self.sessions:
            raise ProtocolError("unknown session %r" % msg.get("session"))
        return self.sessions[msg["session"]]

    def step(self, sid, session):
        action = decide(self.version, session["memory"], session["transcript"])
        if action[0] == "call":
            _, call_id, tool, arguments = action
            session["transcript"].append({"role": "agent", "text": "",
                                          "tool_calls": [{"id": call_id, "name": tool, "arguments": arguments}]})
            session["pending"] = call_id
            send({"type": "tool.call", "session": sid, "call_id": call_id, "name": tool,
                  "version": TOOL_VERSIONS[tool], "arguments": arguments})
        else:
            session["transcript"].append({"role": "agent", "text": action[1]})
            send({"type": "agent.message", "session": sid, "text": action[1]})


def main():
    parser = argparse.ArgumentParser(description="Example shop-support agent for ratchet gate (exec driver).")
    parser.add_argument("--version", default="correct", choices=sorted(PROMPT_VERSIONS),
                        help="the behaviour under test (default: correct)")
    args = parser.parse_args()
    agent = Agent(args.version)
    while True:
        line = sys.stdin.readline()
        if not line:
            return 0
        if not line.strip():
            continue
        try:
            msg = json.loads(line)
            if not isinstance(msg, dict):
                raise ProtocolError("not a JSON object: %s" % line.strip())
            agent.handle(msg)
        except (ValueError, KeyError, TypeError, ProtocolError, RuntimeError) as e:
            log("protocol error: %s" % e)
            return 2


if __name__ == "__main__":
    sys.exit(main())
