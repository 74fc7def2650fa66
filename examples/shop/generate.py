#!/usr/bin/env python3
"""Production traffic of the example shop agent, with ground truth.

Simulates the shop's support chat and phone line for the two versions of
examples/shop/shop_agent.py over the same TASKS: a task is one customer
situation (their orders, what they want, what the order system does), run
several times with different customers (names, e-mail addresses, phone
numbers), channels and phrasings. The REAL agent answers (its `decide()` is
imported), its tool calls run against shop_backend.py, and a customer model
reacts to what it says. Every line of output is one canonical conversation
(docs/schema.md): the input of `ratchet detect`.

    python3 examples/shop/generate.py --out traffic.jsonl --labels labels.jsonl
    python3 examples/shop/generate.py --version buggy --runs 6
    python3 examples/shop/generate.py --list-tasks

`--labels` writes the ground truth, one JSON line per conversation: `id`,
`task`, `version`, `run`, `failure` (the failure that really happened, most
severe first, or null), `failures` (all of them) and `expected` (the failure
the task is designed to provoke in the buggy version). The truth is computed
from what the backend did, not assumed from the task.

Seeded and reproducible: the same arguments give the same bytes. A task's run
meets the same customer, channel and opening line under both versions; what
follows depends on what the agent does. The buggy version is production on
2026-12-01, the correct one (the fix, deployed) on the next day.

Python 3 standard library only.
"""

import argparse
import datetime
import hashlib
import json
import os
import random
import re
import sys
import unicodedata

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import shop_agent as agent  # noqa: E402  (the real agent)
from shop_backend import Backend, cents  # noqa: E402

DEFAULT_SEED = 20261201
DEFAULT_RUNS = 4
DAYS = {"buggy": "2026-12-01", "correct": "2026-12-02"}
MODEL = "gpt-4o-2024-08-06"
MAX_CUSTOMER_LINES = 6
MAX_TOOL_CALLS_PER_MESSAGE = 12

#: Failure types, most severe first (a conversation's `failure` is the first that happened).
FAILURES = [
    "wrong-order",               # changed an order the customer did not mean, when they have several
    "cancelled-shipped-order",   # cancelled an order that had already shipped instead of offering a return
    "refund-exceeds-returned",   # refunded the whole order after a partial return
    "false-return-confirmation", # said an exchange/return was set up without creating the return
    "gave-up-after-error",       # stopped after a transient tool error instead of retrying
    "missed-handoff",            # the customer asked for a person and was not handed off
]

# ---------------------------------------------------------------------------
# The catalogue and the tasks.
# ---------------------------------------------------------------------------

PRODUCTS = {
    "LMP-2041": ("Desk Lamp", 45.00), "BLD-1180": ("Blender", 89.99), "YGM-0310": ("Yoga Mat", 32.50),
    "HPH-7720": ("Wireless Headphones", 129.00), "MUG-0404": ("Ceramic Mug Set", 38.00),
    "SHO-5521": ("Running Shoes", 94.95), "BTL-0150": ("Water Bottle", 18.50), "TST-3302": ("Toaster", 34.99),
    "JKT-8810": ("Rain Jacket", 149.00), "CHR-6600": ("Office Chair", 219.00), "GRN-2205": ("Coffee Grinder", 59.90),
    "BLK-1475": ("Throw Blanket", 42.00), "BPK-3090": ("Backpack", 64.00), "KTL-7013": ("Electric Kettle", 49.99),
    "TWL-2218": ("Bath Towel", 14.00), "GLS-0912": ("Wine Glass", 12.50), "PLT-4471": ("Dinner Plate", 9.75),
    "SCK-1004": ("Wool Socks", 11.00), "CBL-0025": ("Phone Charger", 24.99), "PAN-5150": ("Frying Pan", 39.00),
    "LNT-9001": ("Lantern", 27.50), "TEE-3310": ("Cotton T-Shirt", 19.00), "JNS-4420": ("Denim Jeans", 68.00),
    "SPK-6161": ("Bluetooth Speaker", 79.00),
}
CARRIERS = ["UPS", "FedEx", "DHL", "USPS"]


def order(oid, placed, status, *lines, refunded=0.0):
    """An order record of the world: lines are (sku, qty)."""
    items = [{"sku": sku, "name": PRODUCTS[sku][0], "qty": qty, "unit_price": PRODUCTS[sku][1]} for sku, qty in lines]
    total = cents(sum(i["unit_price"] * i["qty"] for i in items))
    o = {"order_id": oid, "email": None, "placed_at": placed, "status": status, "items": items, "total": total,
         "refunded_total": refunded, "returned": {i["sku"]: 0 for i in items}, "returns": [], "refunds": []}
    if status in ("shipped", "delivered"):
        n = int(oid[2:])
        o["shipment"] = {"carrier": CARRIERS[n % 4], "tracking": "TRK-%05d-%s" % ((n * 7919) % 100000, "US"),
                         "shipped_on": next_day(placed, 1)}
        if status == "delivered":
            o["shipment"]["delivered_on"] = next_day(placed, 4)
            o["return_window_ends"] = next_day(placed, 34)
    return o


def next_day(iso, days):
    return (datetime.date.fromisoformat(iso) + datetime.timedelta(days=days)).isoformat()


class Task:
    """One customer situation. `goal`: cancel | return | refund | exchange |
    human | status; `item`: the product (sku) the customer means; `qty`: how many
    (returns, damaged refunds); `target`: the order the customer means;
    `say_id`: the customer gives the order id; `transient`: {tool: n} first
    calls that time out; `lines`: the opening lines to choose from (templates);
    `follow`: a task-specific second line (after the agent's first answer)."""

    def __init__(self, tid, expected, goal, orders, target, item=None, qty=None, say_id=False, transient=None,
                 lines=None, follow=None, about=""):
        self.id, self.expected, self.goal, self.orders = tid, expected, goal, orders
        self.target, self.item, self.qty, self.say_id = target, item, qty, say_id
        self.transient = transient or {}
        self.lines = lines
        self.follow = follow
        self.about = about

    def value(self):
        """What the customer is owed for the items they return or report damaged."""
        o = next(o for o in self.orders if o["order_id"] == self.target)
        line = next(i for i in o["items"] if i["sku"] == self.item)
        return cents(line["unit_price"] * (self.qty or line["qty"]))


CANCEL_LINES = [
    "Hi, I'd like to cancel my order for the {item}.",
    "Please cancel the order with the {item}, I don't need it anymore.",
    "can you cancel my {item} order",
    "I ordered a {item} but I changed my mind. Cancel it please.",
    "Hello, I need to cancel an order. It's the one with the {item}.",
    "Yeah hi, um, I want to cancel the {item} I ordered.",
]
CANCEL_BY_ID_LINES = [
    "Please cancel order {order_id}.",
    "I need to cancel order {order_id}, I found it cheaper elsewhere.",
    "Hi, can you cancel {order_id} for me?",
    "Cancel my order {order_id} please, I don't need it anymore.",
]
RETURN_LINES = [
    "I'd like to return the {item} and get a refund.",
    "Hi, I want to send back the {item}, it's not what I expected.",
    "How do I return the {item}? I'd like my money back.",
    "Can I return the {item} from my order? Refund to my card please.",
    "hi i need to return the {item}, it doesnt fit my kitchen",
]
RETURN_QTY_LINES = [
    "I'd like to return {qty} of the {items} and get a refund.",
    "Hi, I want to send back {qty} {items}, I ordered too many.",
    "Can I return {qty} of the {items}? I'd like a refund for them.",
]
DAMAGED_LINES = [
    "The {item} arrived {damage}. I'd like a refund.",
    "My {item} is {damage}, can I get my money back?",
    "hi the {item} i got is {damage}, refund please",
    "Hello, the {item} from my order came {damage}. Could you refund it?",
]
DAMAGED_QTY_LINES = [
    "{qty_cap} of the {items} arrived {damage}. I'd like a refund for those.",
    "Hi, {qty} {items} in my order came {damage}, can I get my money back for them?",
]
EXCHANGE_LINES = [
    "I'd like to exchange my {item} for a {want}.",
    "Can I swap the {item} for a {want}?",
    "Hi, the {item} doesn't work for me. Can I exchange it for a {want}?",
    "hello i want to exchange the {item}, i need a {want}",
]
STATUS_LINES = ["Where is my order?", "Hi, has my {item} shipped yet?", "What's the status of my {item} order?",
                "Can you track my order for me?"]
VAGUE_OPENERS = ["Hi, I need some help with an order.", "Hello, I have a question about something I bought.",
                 "hi there", "Good morning, I need help please."]
HUMAN_NOW = ["I want to talk to a human, please.", "Can I speak to a real person?", "Get me a human.",
             "Representative, please.", "I'd like to talk to a person about my order."]
HUMAN_PACKAGE = ["I need to speak to someone about a package that says delivered but never came.",
                 "Can I talk to a person? My {item} order says delivered but it's not here.",
                 "I want to speak to a human. My {item} was marked delivered and I never got it."]
HUMAN_REFUND = ["I've been waiting two weeks for my refund. Get me a supervisor.",
                "I want a manager. My refund still hasn't shown up.",
                "Let me talk to a supervisor about my refund, please."]
HUMAN_AFTER_STATUS = ["This is taking forever. I want to speak to a manager.",
                      "I'd like to talk to a supervisor about this delay.",
                      "Can I just talk to a real person about this?"]
INSIST = ["No, I want a real person.", "I said I want to talk to a human.", "Please, a human. Now.",
          "I don't want a bot, get me a manager."]
YES = ["Yes, please.", "Yes, go ahead.", "Yep, that's right.", "Sure, do it.", "Yes."]
THANKS = ["Great, thanks!", "Thanks, bye.", "Perfect, thank you.", "ok thanks", "Thank you, that's all."]
TRY_AGAIN = ["Can you try again?", "Could you try again please?", "Please try again now."]
GIVE_UP = ["Okay, I'll try later.", "Fine. Bye.", "Never mind then."]
SHIPPED_OK = ["Oh okay. I'll return it when it arrives then.", "That's annoying, but fine.", "Ok, I'll wait for it."]
WRONG = "That's the wrong order! I wanted the one with the {item} {done}."
TOO_MUCH = "Oh, that's more than the {item} cost, but thanks!"
PII_MENTIONS = [(4, "This is {name}."), (3, "My email is {email}."), (2, "You can reach me at {phone}.")]


def tasks():
    """The task set: several per failure type, sharing vocabulary, and controls."""
    T = []
    # wrong-order: several orders; the customer names the item; the buggy agent takes the newest order.
    T.append(Task("cancel-lamp-among-two", "wrong-order", "cancel",
                  [order("O-40117", "2026-11-29", "processing", ("BLD-1180", 1)),
                   order("O-40022", "2026-11-27", "processing", ("LMP-2041", 1))],
                  "O-40022", item="LMP-2041", about="two open orders; cancel the older one (desk lamp)"))
    T.append(Task("cancel-yoga-mat-among-three", "wrong-order", "cancel",
                  [order("O-41230", "2026-11-30", "processing", ("HPH-7720", 1)),
                   order("O-41105", "2026-11-28", "processing", ("YGM-0310", 1), ("BTL-0150", 1)),
                   order("O-39877", "2026-11-10", "delivered", ("BLK-1475", 1))],
                  "O-41105", item="YGM-0310", about="three orders; cancel the middle one (yoga mat)"))
    T.append(Task("refund-cracked-mug-set", "wrong-order", "refund",
                  [order("O-42310", "2026-11-26", "delivered", ("GRN-2205", 1)),
                   order("O-42188", "2026-11-20", "delivered", ("MUG-0404", 1), ("TWL-2218", 2))],
                  "O-42188", item="MUG-0404", qty=1, about="damaged item on the older of two delivered orders"))
    T.append(Task("refund-broken-kettle", "wrong-order", "refund",
                  [order("O-43502", "2026-11-28", "delivered", ("BPK-3090", 1), ("SCK-1004", 3)),
                   order("O-43371", "2026-11-21", "delivered", ("KTL-7013", 1)),
                   order("O-42990", "2026-11-02", "delivered", ("LNT-9001", 1))],
                  "O-43371", item="KTL-7013", qty=1, about="damaged kettle on the second of three delivered orders"))
    # refund-exceeds-returned: part of an order comes back; the buggy agent refunds all of it.
    T.append(Task("return-toaster-of-three", "refund-exceeds-returned", "return",
                  [order("O-44120", "2026-11-22", "delivered", ("TST-3302", 1), ("PAN-5150", 1), ("PLT-4471", 4))],
                  "O-44120", item="TST-3302", qty=1, about="return 1 of 3 lines"))
    T.append(Task("return-two-wine-glasses", "refund-exceeds-returned", "return",
                  [order("O-44376", "2026-11-24", "delivered", ("GLS-0912", 6), ("GRN-2205", 1))],
                  "O-44376", item="GLS-0912", qty=2, about="return 2 of 6 glasses"))
    T.append(Task("return-rain-jacket", "refund-exceeds-returned", "return",
                  [order("O-44501", "2026-11-25", "delivered", ("JKT-8810", 1), ("TEE-3310", 2)),
                   order("O-43010", "2026-10-30", "delivered", ("JNS-4420", 1))],
                  "O-44501", item="JKT-8810", qty=1, about="return the jacket, keep the t-shirts; an older order too"))
    T.append(Task("return-headphones-keep-charger", "refund-exceeds-returned", "return",
                  [order("O-44688", "2026-11-26", "delivered", ("HPH-7720", 1), ("CBL-0025", 1))],
                  "O-44688", item="HPH-7720", qty=1, about="return the headphones, keep the charger"))
    # cancelled-shipped-order: the order left the warehouse.
    T.append(Task("cancel-shipped-office-chair", "cancelled-shipped-order", "cancel",
                  [order("O-45012", "2026-11-28", "shipped", ("CHR-6600", 1))],
                  "O-45012", item="CHR-6600", about="the only order, shipped"))
    T.append(Task("cancel-shipped-speaker-by-id", "cancelled-shipped-order", "cancel",
                  [order("O-45230", "2026-11-29", "shipped", ("SPK-6161", 1)),
                   order("O-44002", "2026-11-01", "delivered", ("BLK-1475", 1))],
                  "O-45230", item="SPK-6161", say_id=True, about="the customer gives the id of the shipped order"))
    T.append(Task("cancel-shipped-jeans", "cancelled-shipped-order", "cancel",
                  [order("O-45377", "2026-11-29", "shipped", ("JNS-4420", 1), ("SCK-1004", 2))],
                  "O-45377", item="JNS-4420", about="the only order, shipped"))
    # missed-handoff: the customer asks for a person.
    T.append(Task("human-right-away", "missed-handoff", "human",
                  [order("O-46001", "2026-11-20", "delivered", ("BLD-1180", 1))],
                  "O-46001", item="BLD-1180", lines=HUMAN_NOW, about="asks for a person in the first line"))
    T.append(Task("manager-after-status", "missed-handoff", "status",
                  [order("O-46120", "2026-11-23", "shipped", ("BPK-3090", 1))],
                  "O-46120", item="BPK-3090", follow=HUMAN_AFTER_STATUS,
                  about="asks where the order is, then for a manager"))
    T.append(Task("person-about-missing-package", "missed-handoff", "human",
                  [order("O-46255", "2026-11-18", "delivered", ("GRN-2205", 1))],
                  "O-46255", item="GRN-2205", lines=HUMAN_PACKAGE, about="package marked delivered, wants a person"))
    T.append(Task("supervisor-refund-dispute", "missed-handoff", "human",
                  [order("O-46390", "2026-11-05", "delivered", ("SHO-5521", 1), refunded=0.0)],
                  "O-46390", item="SHO-5521", lines=HUMAN_REFUND, about="a refund that never came, wants a supervisor"))
    # gave-up-after-error: the order system times out once.
    T.append(Task("cancel-timeout", "gave-up-after-error", "cancel",
                  [order("O-47010", "2026-11-30", "processing", ("BLK-1475", 1), ("LNT-9001", 1))],
                  "O-47010", item="BLK-1475", transient={"cancel_order": 1}, about="cancel_order times out once"))
    T.append(Task("return-timeout", "gave-up-after-error", "return",
                  [order("O-47122", "2026-11-21", "delivered", ("PAN-5150", 1), ("TST-3302", 1))],
                  "O-47122", item="PAN-5150", qty=1, transient={"create_return": 1},
                  about="create_return times out once"))
    T.append(Task("refund-timeout-broken-plates", "gave-up-after-error", "refund",
                  [order("O-47230", "2026-11-24", "delivered", ("PLT-4471", 6))],
                  "O-47230", item="PLT-4471", qty=3, transient={"refund_order": 1},
                  about="3 of 6 plates broken; refund_order times out once"))
    T.append(Task("cancel-by-id-lookup-timeout", "gave-up-after-error", "cancel",
                  [order("O-47355", "2026-11-30", "processing", ("SPK-6161", 1))],
                  "O-47355", item="SPK-6161", say_id=True, transient={"get_order": 1},
                  about="cancel by id; get_order times out once (the first call of the buggy agent)"))
    # false-return-confirmation: exchanges.
    T.append(Task("exchange-running-shoes-size", "false-return-confirmation", "exchange",
                  [order("O-48011", "2026-11-19", "delivered", ("SHO-5521", 1))],
                  "O-48011", item="SHO-5521", qty=1, about="exchange for a bigger size; one order"))
    T.append(Task("exchange-jacket-colour", "false-return-confirmation", "exchange",
                  [order("O-48150", "2026-11-22", "delivered", ("JKT-8810", 1)),
                   order("O-47702", "2026-11-03", "delivered", ("SCK-1004", 2))],
                  "O-48150", item="JKT-8810", qty=1, about="exchange for another colour; two orders"))
    T.append(Task("exchange-tshirt-size", "false-return-confirmation", "exchange",
                  [order("O-48233", "2026-11-25", "delivered", ("TEE-3310", 2), ("JNS-4420", 1))],
                  "O-48233", item="TEE-3310", qty=1, about="exchange one of two t-shirts for a smaller size"))
    # Controls: the buggy agent gets these right.
    T.append(Task("where-is-my-order", None, "status",
                  [order("O-49010", "2026-11-27", "shipped", ("LNT-9001", 1))], "O-49010", item="LNT-9001",
                  about="tracking question"))
    T.append(Task("cancel-only-order", None, "cancel",
                  [order("O-49120", "2026-11-30", "processing", ("GRN-2205", 1))], "O-49120", item="GRN-2205",
                  about="cancel the only order, still processing"))
    T.append(Task("return-whole-order", None, "return",
                  [order("O-49233", "2026-11-20", "delivered", ("CBL-0025", 1))], "O-49233", item="CBL-0025", qty=1,
                  about="return the only item of the only order"))
    return T


DAMAGE = {"MUG-0404": "cracked", "KTL-7013": "broken", "PLT-4471": "broken"}
WANT = {"SHO-5521": "bigger size", "JKT-8810": "different colour", "TEE-3310": "smaller size"}
NUMBERS = {1: "one", 2: "two", 3: "three", 4: "four"}


# ---------------------------------------------------------------------------
# Customers.
# ---------------------------------------------------------------------------

FIRST = ["Dana", "Marcus", "Priya", "Tomás", "Aisha", "Liam", "Mei", "Jonah", "Sofia", "Kwame", "Elena", "Raj", "Hannah",
         "Mateo", "Nora", "Yusuf", "Grace", "Dmitri", "Ingrid", "Carlos", "Fatima", "Owen", "Zoë", "Hiroshi"]
LAST = ["Whitfield", "Okafor", "Nakamura", "García", "Lindqvist", "Patel", "O'Brien", "Kowalski", "Haddad", "Brennan",
        "Moreau", "Nguyen", "Fischer", "Mensah", "Rossi", "Sato", "MacLeod", "Adeyemi"]
DOMAINS = ["example.com", "example.net", "example.org", "mail.example.com"]
LOCALES = [("en-US", 70), ("en-GB", 15), ("en-CA", 15)]


def weighted(rng, pairs):
    total = sum(w for _, w in pairs)
    x = rng.random() * total
    for value, w in pairs:
        x -= w
        if x < 0:
            return value
    return pairs[-1][0]


def fold(s):
    """ASCII, lower case, no apostrophes: for e-mail local parts."""
    return unicodedata.normalize("NFKD", s).encode("ascii", "ignore").decode().replace("'", "").lower()


def make_customer(rng):
    first, last = rng.choice(FIRST), rng.choice(LAST)
    local = rng.choice(["%s.%s" % (fold(first), fold(last)), "%s%s%d" % (fold(first)[0], fold(last), rng.randrange(10, 99))])
    locale = weighted(rng, LOCALES)
    phone = ("+44 7700 900%03d" % rng.randrange(1000)) if locale == "en-GB" else \
        "+1 (%d) 555-01%02d" % (rng.choice([202, 312, 415, 416, 617, 718]), rng.randrange(100))
    return {"name": "%s %s" % (first, last), "first": first, "email": "%s@%s" % (local, rng.choice(DOMAINS)),
            "phone": phone, "locale": locale}


def fill(template, task, customer):
    name = PRODUCTS[task.item][0].lower() if task.item else "order"
    qty = task.qty or 1
    plural = name + ("es" if name.endswith(("s", "sh", "ch")) else "s")
    return template.format(item=name, items=plural, qty=qty, qty_cap=NUMBERS.get(qty, str(qty)).capitalize(),
                           order_id=task.target, damage=DAMAGE.get(task.item, "damaged"),
                           want=WANT.get(task.item, "different size"), **customer)


def opening(task, rng, customer):
    """The customer's first line(s) for `task` (the same under both versions)."""
    if task.lines:
        pool = task.lines
    elif task.goal == "cancel":
        pool = CANCEL_BY_ID_LINES if task.say_id else CANCEL_LINES
    elif task.goal == "return":
        pool = RETURN_QTY_LINES if (task.qty or 1) > 1 else RETURN_LINES
    elif task.goal == "refund":
        pool = DAMAGED_QTY_LINES if (task.qty or 1) > 1 else DAMAGED_LINES
    elif task.goal == "exchange":
        pool = EXCHANGE_LINES
    else:
        pool = STATUS_LINES
    line = fill(rng.choice(pool), task, customer)
    if rng.random() < 0.3:
        mention = weighted(rng, [(t, w) for w, t in PII_MENTIONS]).format(**customer)
        line = "%s %s" % (mention, line) if rng.random() < 0.6 else "%s %s" % (line, mention)
    if task.goal != "human" and rng.random() < 0.2:
        return [rng.choice(VAGUE_OPENERS), line]
    return [line]


# ---------------------------------------------------------------------------
# One conversation.
# ---------------------------------------------------------------------------

class Customer:
    """What the customer says next, given what the agent just did."""

    def __init__(self, task, customer, rng, lines):
        self.task, self.customer, self.rng = task, customer, rng
        self.script = list(lines)
        self.said = []
        self.complained = False
        self.insisted = 0
        self.followed = False
        self.restated = False

    def first(self):
        return self.script.pop(0)

    def next(self, kind, text, backend, before):
        """The next line after a reply of `kind`, or None (the customer leaves).
        `before` is the backend log length before the agent's turn."""
        line = self.react(kind, text, backend, before)
        if line is None or len(self.said) >= MAX_CUSTOMER_LINES or line in self.said:
            return None
        return line

    def react(self, kind, text, backend, before):
        t, rng = self.task, self.rng
        x = rng.random()
        if self.script:
            return self.script.pop(0)
        if self.said and self.said[-1] in GIVE_UP + THANKS + SHIPPED_OK:
            return None  # said goodbye
        item = PRODUCTS[t.item][0].lower() if t.item else "order"
        changed = [(tool, a, c) for tool, a, c, err in backend.log[before:]
                   if not err and tool in ("cancel_order", "refund_order", "create_return")]
        if kind in ("greeting", "help"):
            if not self.restated:
                self.restated = True
                return fill(rng.choice(CANCEL_LINES if t.goal == "cancel" else RETURN_LINES if t.goal == "return"
                                       else DAMAGED_LINES if t.goal == "refund" else EXCHANGE_LINES
                                       if t.goal == "exchange" else HUMAN_NOW if t.goal == "human" else STATUS_LINES),
                            t, self.customer)
            return None
        if kind == "ask-email":
            return rng.choice(["It's {email}.", "{email}", "Sure, {email}"]).format(**self.customer)
        if kind == "ask-which":
            if t.say_id or x < 0.3:
                return "It's %s." % t.target
            return "The one with the %s." % item
        if kind == "confirm":
            return rng.choice(YES)
        if kind in ("cancelled", "returned", "refunded"):
            wrong = [c for tool, a, c in changed if a.get("order_id") != t.target]
            if wrong and not self.complained and x < 0.6:
                self.complained = True
                done = {"cancel": "cancelled", "refund": "refunded"}.get(t.goal, "returned")
                return WRONG.format(item=item, done=done)
            refunds = [a.get("amount", 0) for tool, a, c in changed if tool == "refund_order" and a.get("order_id") == t.target]
            if refunds and t.goal in ("return", "refund") and max(refunds) > t.value() + 0.005 and x < 0.15:
                return TOO_MUCH.format(item=item)
            return rng.choice(THANKS) if x < 0.5 else None
        if kind in ("exchange-claimed", "exchange-started", "handed-off", "status", "already-cancelled"):
            if kind == "status" and t.follow and not self.followed:
                self.followed = True
                return rng.choice(t.follow)
            return rng.choice(THANKS) if x < 0.5 else None
        if kind in ("shipped-no-cancel", "delivered-no-cancel"):
            return rng.choice(SHIPPED_OK) if x < 0.6 else None
        if kind in ("gave-up", "failed"):
            if x < 0.3:
                return rng.choice(TRY_AGAIN)
            return rng.choice(GIVE_UP) if x < 0.6 else None
        if kind == "no-human":
            self.insisted += 1
            if self.insisted <= 2 and x < 0.55:
                return rng.choice(INSIST)
            return None
        return None


def hhmm(sec):
    return "%02d:%02d" % (sec // 3600, sec // 60 % 60)


def truth(task, backend, turns, replies, start):
    """The failures that really happened, most severe first. `start`: the orders
    before the conversation."""
    found = set()
    for tool, a, content, err in backend.log:
        if err or tool not in ("cancel_order", "refund_order", "create_return"):
            continue
        oid = a.get("order_id")
        if task.goal in ("cancel", "return", "refund", "exchange") and oid != task.target:
            found.add("wrong-order")
        if tool == "cancel_order" and start[oid]["status"] == "shipped":
            found.add("cancelled-shipped-order")
        if tool == "refund_order" and oid == task.target and task.goal in ("return", "refund") and \
                a.get("amount", 0) > task.value() + 0.005:
            found.add("refund-exceeds-returned")
    if any(k == "exchange-claimed" for k, _ in replies) and \
            not any(t == "create_return" and not e for t, _, _, e in backend.log):
        found.add("false-return-confirmation")
    mutation = {"cancel": "cancel_order", "return": "create_return", "refund": "refund_order",
                "exchange": "create_return"}.get(task.goal)
    transient = any(e and isinstance(c, dict) and c.get("retryable") for _, _, c, e in backend.log)
    done = any(t == mutation and not e and a.get("order_id") == task.target for t, a, _, e in backend.log)
    shipped = task.goal == "cancel" and start[task.target]["status"] != "processing"
    if transient and mutation and not done and not shipped:
        found.add("gave-up-after-error")
    asked = any(t["role"] == "customer" and "human" in agent.intents(t["text"]) for t in turns)
    handed = any(t == "handoff_to_human" and not e for t, _, _, e in backend.log)
    if asked and not handed:
        found.add("missed-handoff")
    return [f for f in FAILURES if f in found]


#: A contact-center platform's intent taxonomy, as keyword rules: the stand-in for the
#: intent classifier platforms run on every contact (strongest first). Independent of
#: the agent's own reading of the customer (shop_agent.INTENT_PATTERNS).
CONTACT_REASONS = [
    ("exchange", re.compile(r"\b(exchange|swap|different size|bigger size|smaller size|different colou?r)\b")),
    ("return", re.compile(r"\b(return|send (it|them) back)\b")),
    ("cancellation", re.compile(r"\bcancel")),
    ("refund", re.compile(r"\b(refund|money back|broken|damaged|cracked|defective)\b")),
    ("delivery-problem", re.compile(r"\b(delivered|never came|never got|not here|lost|missing)\b")),
    ("order-status", re.compile(r"\b(where is|where's|track|tracking|status|taking forever|delay|when will)\b")),
    ("agent-request", re.compile(r"\b(human|person|manager|supervisor|representative|someone)\b")),
]


def contact_reason(turns):
    """The contact reason a platform's intent classifier gives the conversation: the
    first customer line that names one decides (asking for a person about a refund is a
    refund contact; asking for a person and nothing else, an agent request)."""
    for t in turns:
        if t["role"] != "customer":
            continue
        low = t["text"].lower()
        for reason, rx in CONTACT_REASONS:
            if rx.search(low):
                return reason
    return "other"


def captured_world(start, email):
    """The order system as the platform captures it when the conversation starts (the
    shape plugins/simulator-orders keeps its world in): every order of the customer,
    in full, and the customer's order list."""
    orders = {oid: dict(json.loads(json.dumps(o)), seen="detail") for oid, o in sorted(start.items())}
    return {"orders": orders, "customers": {email: {"order_ids": sorted(orders), "listed": True}}, "handoffs": []}


def simulate(task, run, version, seed, date, second, capture=False, reasons=False):
    """Conversation `run` of `task` under `version`: (labels, conversation)."""
    who = random.Random("shop/%s/%s/%d/who" % (seed, task.id, run))
    how = random.Random("shop/%s/%s/%s/%d/how" % (seed, version, task.id, run))
    customer = make_customer(who)
    channel = "voice" if who.random() < 0.3 else "chat"
    lines = opening(task, who, customer)
    world = {"orders": {}, "handoffs": []}
    for o in task.orders:
        o = json.loads(json.dumps(o))
        o["email"] = customer["email"]
        world["orders"][o["order_id"]] = o
    start = json.loads(json.dumps(world["orders"]))
    backend = Backend(world, how, transient=task.transient)

    memory = [("customer.name", customer["name"])]
    if channel == "chat" or who.random() < 0.5:
        memory.append(("customer.email", customer["email"]))
    memory.append(("customer.phone", customer["phone"]))
    memory_dict = dict(memory)
    voice = channel == "voice"

    person = Customer(task, customer, how, lines)
    turns, replies = [], []
    t = 0
    line = person.first()
    while line is not None:
        person.said.append(line)
        turns.append({"role": "customer", "text": line, "offset_ms": t})
        t += (60 if voice else 25) * len(line) // 2
        before = len(backend.log)
        calls = 0
        while True:
            action = agent.decide(version, memory_dict, turns)
            latency = how.randrange(350, 1100) if voice else how.randrange(500, 1800)
            t += latency
            if action[0] == "call":
                _, call_id, tool, arguments = action
                calls += 1
                if calls > MAX_TOOL_CALLS_PER_MESSAGE:
                    raise RuntimeError("%s run %d: more than %d tool calls for one message" % (task.id, run, calls - 1))
                turns.append({"role": "agent", "text": "", "offset_ms": t, "latency_ms": latency,
                              "tool_calls": [{"id": call_id, "name": tool, "arguments": arguments}]})
                content, is_error = backend.call(tool, arguments)
                t += how.randrange(60, 450)
                turns.append({"role": "tool", "offset_ms": t, "tool_result": {
                    "call_id": call_id, "name": tool, "content": content, "is_error": is_error}})
                continue
            _, text, kind = action
            turns.append({"role": "agent", "text": text, "offset_ms": t, "latency_ms": latency})
            replies.append((kind, text))
            break
        line = person.next(kind, text, backend, before)
        if line is not None:
            t += (how.randrange(1500, 4000) + 40 * len(line)) if voice else (how.randrange(3000, 12000) + 90 * len(line))

    failures = truth(task, backend, turns, replies, start)
    handed = any(tool == "handoff_to_human" and not e for tool, _, _, e in backend.log)
    harm = {"revenue_at_risk": 0.0, "refund_amount": 0.0, "compliance_exposure": 0.0,
            "escalation_cost": 8.0 if handed else 0.0, "currency": "USD"}
    for tool, a, c, e in backend.log:
        if e:
            continue
        oid = a.get("order_id")
        if tool == "cancel_order" and (oid != task.target or start[oid]["status"] == "shipped"):
            harm["revenue_at_risk"] += start[oid]["total"]
        if tool == "refund_order" and task.goal in ("return", "refund"):
            owed = task.value() if oid == task.target else 0.0
            harm["refund_amount"] += max(0.0, a.get("amount", 0) - owed)
    harm = {k: (round(v, 2) if isinstance(v, float) else v) for k, v in harm.items()}
    complaint = bool(failures) and how.random() < 0.5
    if handed:
        ended = "agent-transferred"
    else:
        ended = "customer-ended-call" if voice else ("customer-left-chat" if how.random() < 0.7 else "silence-timeout")
    stamp = "%sT%s:%02dZ" % (date, hhmm(second), second % 60)
    conversation = {
        "schema_version": 1,
        "id": None,
        "channel": channel,
        "started_at": stamp,
        "turns": turns,
        "outcome": {"escalated": handed, "complaint": complaint, "compliance_flags": [], "ended_reason": ended},
        "impact": harm,
        "state": {
            "memory_snapshot": [{"key": k, "value": v} for k, v in memory],
            "kb_version_hash": "sha256:4d1e7a0c92b35f18",
            "tool_registry": [{"id": tool, "version": v} for tool, v in agent.TOOL_VERSIONS.items()],
            "prompt_version": agent.PROMPT_VERSIONS[version],
            "model": MODEL,
            "routing": {"time_of_day": hhmm(second), "locale": customer["locale"], "queue": "orders",
                        "extra": {"entry_point": "ivr" if voice else who.choice(["web-widget", "mobile-app"])}},
        },
    }
    if capture:
        conversation["world"] = captured_world(start, customer["email"])
    if reasons:
        conversation["labels"] = {"contact_reason": contact_reason(turns)}
    labels = {"task": task.id, "version": version, "run": run, "failure": failures[0] if failures else None,
              "failures": failures, "expected": task.expected}
    return labels, conversation


def day(seed, runs, version, selected, capture=False, reasons=False):
    """(labels, conversation) for every task × run under `version`, in start-time order."""
    date = DAYS[version]
    rng = random.Random("shop/%s/schedule" % seed)  # the same schedule for both versions
    jobs = [(task, run) for task in selected for run in range(runs)]
    seconds = sorted(rng.randrange(7 * 3600, 22 * 3600) for _ in jobs)
    order_ = list(range(len(jobs)))
    rng.shuffle(order_)
    out = []
    for slot, j in enumerate(order_):
        task, run = jobs[j]
        labels, conv = simulate(task, run, version, seed, date, seconds[slot], capture, reasons)
        prefix = "call" if conv["channel"] == "voice" else "chat"
        h = hashlib.sha256(("%s/%s/%s/%d" % (seed, version, task.id, run)).encode()).hexdigest()[:8]
        conv["id"] = "%s-%s-%s-%s" % (prefix, date, conv["state"]["routing"]["time_of_day"].replace(":", ""), h)
        labels = {"id": conv["id"], **labels}
        out.append((labels, conv))
    return out


def main(argv=None):
    p = argparse.ArgumentParser(description="Generate shop-support traffic (canonical conversations, JSONL) for the "
                                            "buggy and the correct example agent over the same tasks, with ground truth.")
    p.add_argument("--seed", type=int, default=DEFAULT_SEED, help="random seed (default %(default)s)")
    p.add_argument("--runs", type=int, default=DEFAULT_RUNS, help="runs of each task per version (default %(default)s)")
    p.add_argument("--version", default="both", choices=["buggy", "correct", "both"],
                   help="which agent version's traffic (default: both, buggy first)")
    p.add_argument("--tasks", default="", metavar="ID,...", help="only these tasks (see --list-tasks)")
    p.add_argument("--out", "-o", help="output file (default stdout)")
    p.add_argument("--labels", metavar="FILE", help="also write the ground truth, one JSON line per conversation")
    p.add_argument("--list-tasks", action="store_true", help="print the tasks, then exit")
    p.add_argument("--quiet", "-q", action="store_true", help="no summary on stderr")
    p.add_argument("--capture-world", action="store_true",
                   help="give each conversation the order system's state at its start (`world`), as a platform with "
                        "state capture exports it: ratchet regenerate then uses it instead of reconstructing one")
    p.add_argument("--contact-reason", action="store_true",
                   help="label each conversation with the contact reason a platform's intent classifier would give it "
                        "(`labels.contact_reason`, keyword rules on the customer's lines): promote keeps different "
                        "reasons apart with [promote] situation_labels")
    a = p.parse_args(argv)
    all_tasks = tasks()
    if a.list_tasks:
        for t in all_tasks:
            print("%-32s %-26s %-8s %s" % (t.id, t.expected or "(control)", t.goal, t.about))
        return 0
    selected = all_tasks
    if a.tasks:
        wanted = [x.strip() for x in a.tasks.split(",") if x.strip()]
        known = {t.id for t in all_tasks}
        bad = [x for x in wanted if x not in known]
        if bad:
            p.error("unknown task(s): %s (see --list-tasks)" % ", ".join(bad))
        selected = [t for t in all_tasks if t.id in wanted]
    if a.runs < 1:
        p.error("--runs must be >= 1")
    if a.labels and a.labels == a.out:
        p.error("--labels and --out must be different files")
    versions = ["buggy", "correct"] if a.version == "both" else [a.version]
    dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    convs, labels = [], []
    for v in versions:
        for lab, conv in day(a.seed, a.runs, v, selected, a.capture_world, a.contact_reason):
            convs.append(dumps(conv))
            labels.append(dumps(lab))
    write(a.out, convs)
    if a.labels:
        write(a.labels, labels)
    if not a.quiet:
        sys.stderr.write("generate: %d conversations (%s; %d tasks × %d runs, seed %d) to %s\n" % (
            len(convs), "+".join(versions), len(selected), a.runs, a.seed, a.out or "stdout"))
    return 0


def write(path, lines):
    """Write lines to `path` atomically (a temporary file renamed), or to stdout."""
    text = "".join(l + "\n" for l in lines)
    if path in (None, "-"):
        sys.stdout.write(text)
        return
    tmp = os.path.join(os.path.dirname(os.path.abspath(path)), ".%s.tmp-%d" % (os.path.basename(path), os.getpid()))
    with open(tmp, "w", encoding="utf-8", newline="\n") as f:
        f.write(text)
    os.replace(tmp, path)


if __name__ == "__main__":
    sys.exit(main())
