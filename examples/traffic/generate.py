#!/usr/bin/env python3
"""Production-traffic generator for the example subscription-support agent.

Simulates a day of production: synthetic customers (with the PII production
has: names, emails, phone numbers, street addresses, sometimes a card number
typed into the chat), accounts in several states, scripted conversations in
many phrasings, and the REAL example agent (examples/agents/support_agent.py:
its `decide()` is imported, not copied) answering them, its tool calls executed
against a synthetic account backend. Every line of output is one canonical
conversation (docs/schema.md) with its agent state snapshot, outcome and
business impact: the input of `ratchet detect`, at any volume.

    python3 examples/traffic/generate.py --count 400 --out day.jsonl          # "a day" of support-v1
    python3 examples/traffic/generate.py --prompt-version support-v2 --count 400
    python3 examples/traffic/generate.py --count 100000 --out big.jsonl      # detect benchmarks
    python3 examples/traffic/generate.py --list-cases                        # the mix, with shares

Seeded and reproducible: the same arguments give the same bytes. The same seed,
date and count give the same customers (ids, times, accounts, opening lines)
under every prompt version, so a v1 day and a v2 day can be compared call by
call; what differs is what the agent does and what follows from it.

Python 3 standard library only. See examples/traffic/README.md.
"""

import argparse
import datetime
import hashlib
import json
import os
import random
import sys
import time
import unicodedata

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "agents"))

import support_agent as agent  # noqa: E402  (the real agent: its decide() and its strings)
from support_agent import (  # noqa: E402
    CANCEL_SUBSCRIPTION,
    ISSUE_REFUND,
    LOOKUP_ACCOUNT,
    PROMPT_VERSIONS,
    TOOL_VERSIONS,
    decide,
)

DEFAULT_SEED = 20261124
DEFAULT_DATE = "2026-11-24"  # a Tuesday
DEFAULT_COUNT = 400  # "a day" for the demo
MODEL = "gpt-4o-2024-08-06"
CURRENCY = "USD"  # the billing system reports every amount in USD
MAX_CUSTOMER_TURNS = 4
MAX_TOOL_CALLS_PER_MESSAGE = 8

# Knowledge-base snapshots the agent read during the day: a KB deploy at 13:00.
KB_DEPLOYS = [(0, "sha256:6f1c0e9d4b2a7788"), (13 * 3600, "sha256:b41d9e07a2c3f615")]

# ---------------------------------------------------------------------------
# The mix: what production sends the agent on a day, as shares (percent).
# Override with --mix NAME=SHARE,... (shares are relative weights).
# Counts are exact (largest remainder), the order is shuffled with the seed.
# ---------------------------------------------------------------------------

CASES = {
    # name: (default share in percent, what the customer comes with)
    "cancel-active": (16.0, "an active subscriber cancels (the happy path; v1 never states the cancellation policy)"),
    "cancel-never-started": (7.0, "the Tuesday-morning case: cancel a subscription she never started (status none)"),
    "cancel-already-cancelled": (3.0, "cancel a subscription already cancelled, to be sure (status cancelled)"),
    "cancel-misread": (2.0, "long tail: says she does NOT want to cancel; the agent hears 'cancel'"),
    "refund-unapproved": (9.0, "refund of the last charge, supervisor_flag false"),
    "refund-approved": (4.0, "refund of the last charge, supervisor_flag true"),
    "refund-no-charge": (3.0, "refund asked, no last charge on the account"),
    "ask-human": (8.0, "asks for a human (some insist, some complain when refused)"),
    "small-talk": (41.0, "questions the agent does not handle, greetings, thanks"),
    "lookup-error": (3.0, "cancel/refund while the billing API times out (lookup_account errors)"),
    "anonymous": (4.0, "cancel/refund from a chat session with no identified customer"),
}

# ---------------------------------------------------------------------------
# Synthetic customers. Obviously fake but well formed: example.* email domains
# (RFC 2606), 555-01xx phone numbers (NANP fictional range), Ofcom's drama
# range for UK mobiles, ACMA's for Australian ones, card numbers from the
# processors' published test ranges (they pass Luhn).
# ---------------------------------------------------------------------------

FIRST_NAMES = ["Dana", "Marcus", "Priya", "Tomás", "Aisha", "Liam", "Mei", "Jonah", "Sofia", "Kwame", "Elena", "Raj",
               "Hannah", "Oluwaseun", "Chloé", "Mateo", "Nora", "Yusuf", "Grace", "Dmitri", "Ingrid", "Carlos",
               "Fatima", "Owen", "Zoë", "Hiroshi", "Amara", "Felix", "Leila", "Sam", "Beatriz", "Ciaran"]
LAST_NAMES = ["Whitfield", "Okafor", "Nakamura", "García", "Lindqvist", "Patel", "O'Brien", "Kowalski", "Haddad",
              "Brennan", "Moreau", "Achterberg", "Nguyen", "Delacroix", "Fischer", "Mensah", "Rossi", "Sato",
              "Ivanova", "MacLeod", "Abernathy", "Quinteros", "Holm", "Castellanos", "Adeyemi", "Van der Berg"]
EMAIL_DOMAINS = ["example.com", "example.net", "example.org", "mail.example.com"]
STREETS = ["Maple", "Oak", "Cedar", "Elm", "Willow", "Birch", "Lakeview", "Hillcrest", "Sunset", "Juniper",
           "Harbor", "Orchard", "Meadow", "Chestnut", "Riverside"]
US_SUFFIXES = ["Street", "Avenue", "Road", "Lane", "Drive", "Court", "Boulevard"]
US_CITIES = [("Springfield", "IL", "627"), ("Riverton", "WY", "825"), ("Fairview", "OR", "970"),
             ("Greenville", "SC", "296"), ("Franklin", "TN", "370"), ("Clinton", "IA", "527"),
             ("Madison", "WI", "537"), ("Georgetown", "TX", "786")]
CA_CITIES = [("Toronto", "ON", "M4C"), ("Ottawa", "ON", "K1P"), ("Halifax", "NS", "B3H"), ("Calgary", "AB", "T2P")]
GB_TOWNS = ["Ambridge", "Walford", "Holby", "Midsomer Norton", "Royston Vasey", "Summerisle"]
AU_SUBURBS = [("Ramsay Street, Erinsborough", "VIC", "3999"), ("Summer Bay", "NSW", "2108")]
TEST_CARDS = ["4111 1111 1111 1111", "4242 4242 4242 4242", "5555 5555 5555 4444", "5105 1051 0510 5100",
              "3782 822463 10005", "6011 1111 1111 1117", "4000 0566 5566 5556"]
US_AREA_CODES = ["202", "312", "415", "512", "617", "718", "206", "303", "404", "702"]

LOCALES = [("en-US", 66), ("en-GB", 16), ("en-CA", 10), ("en-AU", 8)]

PLANS = {"basic": 9.99, "standard": 19.99, "premium": 49.0}
PLAN_WEIGHTS = [("basic", 30), ("standard", 45), ("premium", 25)]


def weighted(rng, pairs):
    total = sum(w for _, w in pairs)
    x = rng.random() * total
    for value, w in pairs:
        x -= w
        if x < 0:
            return value
    return pairs[-1][0]


def ascii_fold(s):
    return unicodedata.normalize("NFKD", s).encode("ascii", "ignore").decode().replace("'", "").replace(" ", "")


def make_customer(rng):
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    f, l_ = ascii_fold(first).lower(), ascii_fold(last).lower()
    style = rng.randrange(4)
    local = [f"{f}.{l_}", f"{f[0]}{l_}{rng.randrange(10, 99)}", f"{f}_{l_}", f"{l_}.{f}{rng.randrange(1, 9)}"][style]
    email = f"{local}@{rng.choice(EMAIL_DOMAINS)}"
    locale = weighted(rng, LOCALES)
    num = rng.randrange(2, 2999)
    street = f"{rng.choice(STREETS)} {rng.choice(US_SUFFIXES)}"
    if locale == "en-US":
        phone = f"+1 ({rng.choice(US_AREA_CODES)}) 555-01{rng.randrange(100):02d}"
        city, state, zip3 = rng.choice(US_CITIES)
        address = f"{num} {street}, {city}, {state} {zip3}{rng.randrange(100):02d}"
    elif locale == "en-CA":
        phone = f"+1 (416) 555-01{rng.randrange(100):02d}"
        city, prov, fsa = rng.choice(CA_CITIES)
        address = f"{num} {street}, {city}, {prov} {fsa} {rng.randrange(10)}{rng.choice('ABCEGHJKLMNPRSTVXY')}{rng.randrange(10)}"
    elif locale == "en-GB":
        phone = f"+44 7700 900{rng.randrange(1000):03d}"
        letters = "ABDEFGHJLNPQRSTUWXYZ"
        address = (f"{rng.randrange(1, 220)} {rng.choice(STREETS)} {rng.choice(['Road', 'Close', 'Lane', 'Crescent'])}, "
                   f"{rng.choice(GB_TOWNS)} ZZ{rng.randrange(1, 99)} {rng.randrange(10)}{rng.choice(letters)}{rng.choice(letters)}")
    else:
        phone = f"+61 491 570 {rng.randrange(110, 160)}"
        suburb, state, pc = rng.choice(AU_SUBURBS)
        address = f"{rng.randrange(1, 60)} {suburb} {state} {pc}"
    return {"name": f"{first} {last}", "first": first, "email": email, "phone": phone, "address": address,
            "card": rng.choice(TEST_CARDS), "locale": locale}


def make_account(rng, status, supervisor_flag=None, charged=None):
    """The billing system's record, shaped as lookup_account returns it (the
    scenarios' fixtures have the same shape)."""
    plan = weighted(rng, PLAN_WEIGHTS)
    if supervisor_flag is None:
        supervisor_flag = rng.random() < 0.12
    if charged is None:
        charged = status in ("active", "past_due", "cancelled") and rng.random() < 0.85
    return {
        "account_id": "A-%05d" % rng.randrange(10000, 99999),
        "subscription_status": status,
        "plan": None if status == "none" else plan,
        "supervisor_flag": supervisor_flag,
        "last_charge_amount": PLANS[plan] if charged and status != "none" else None,
    }


# ---------------------------------------------------------------------------
# What customers say. Every pool is checked against the agent's own intent()
# by the tests (a "cancel" line must read as cancel), except the typo'd and
# misread pools, whose point is that the agent reads them wrong.
# ---------------------------------------------------------------------------

CANCEL_NEVER_STARTED = [  # the Tuesday-morning case, differently worded
    "Hi, I want to cancel my subscription, please. The premium one.",
    "Hi, I want to cancel my subscription, please. The premium one. I got an email saying I'll be charged next week, but I never signed up for it.",
    "I got an email saying my plan renews next week, but I never signed up for anything. Cancel it please.",
    "Please cancel the subscription on my account. I never started it and I don't want to be charged.",
    "hi i need to cancel a subscription i never even signed up for??",
    "Hello. Somebody signed me up for a trial I never started. Can you cancel it before I get billed?",
    "Cancel my membership please, I never agreed to it.",
    "I'd like to unsubscribe. I don't remember ever subscribing but I keep getting renewal emails.",
    "Yeah hi, um, I'm calling because I got a letter about a subscription I never started and I want it cancelled.",
    "My daughter says there's a subscription on my email that I never opened. Please cancel whatever it is.",
    "I never activated the premium plan you keep emailing me about. Cancel it.",
]
CANCEL_NEVER_STARTED_TWO_STEP = [  # a vague opener (the agent offers help), then the request
    ("Hi, I have a question about my account.",
     "There's a subscription on it I never started. I want it cancelled."),
    ("pls cancle my subscrption, never signed up for it",  # typo: the agent does not read it as cancel
     "CANCEL. The subscription. I never signed up for it."),
    ("Hello, I got a billing email this morning that makes no sense.",
     "It says my premium plan renews on the 1st. I never started a plan. Please cancel it."),
]
CANCEL_ALREADY_CANCELLED = [
    "I cancelled my subscription last month but I just got a renewal email. Can you cancel it again to be sure?",
    "Please make sure my subscription is cancelled. I did it on the website already.",
    "Hi, I think I already cancelled, but please cancel my plan if it's still there.",
    "Hi there, I cancelled in October, I just want to confirm it's cancelled.",
    "did my cancellation go through? if not cancel it now pls",
]
CANCEL_ACTIVE = [
    "Hello! I'd like to cancel my subscription, please.",
    "Hi, please cancel my premium plan. I'm moving abroad next month.",
    "Cancel my subscription.",
    "I want to cancel. It's too expensive for me right now.",
    "hey can u cancel my plan",
    "We don't use the service anymore, please cancel the subscription on this account.",
    "Yes, hello, I'd like to cancel my membership please.",
    "Hi. I've been with you for two years. Money's tight, so I need to cancel my plan.",
    "i wnat to cancel my subscripton",
    "How do I cancel? I can't find the button in the app.",
    "Please unsubscribe me from the monthly plan.",
]
CANCEL_ACTIVE_TWO_STEP = [
    ("how do i cancle", "cancel my subscription please"),
    ("Hi, I need some help with my plan.", "I'd like to cancel it, please."),
]
CANCEL_MISREAD = [  # the customer does not want to cancel; the keyword agent hears "cancel"
    "I don't want to cancel, I just want to know when my next bill is.",
    "Not looking to cancel! Just checking my renewal date.",
    "My husband says I should cancel but I'd rather switch to a cheaper plan. What are my options?",
    "Before anything gets cancelled: can I pause my plan for a month instead?",
]
MISREAD_PROTEST = [
    "Wait, what? I said I did NOT want to cancel!",
    "No no no, I didn't ask you to cancel anything. Undo that, I want my plan back.",
]
REFUND_WITH_AMOUNT = [
    "Hi, I was charged ${amount} this morning for a month I didn't use at all. I'd like a refund, please.",
    "I want a refund for my last payment of ${amount}.",
    "refund pls. charged ${amount} and I cancelled weeks ago",
    "Hi, yeah, I'm calling about a charge of ${amount} on my card. I'd like that refunded.",
    "The app didn't work all of last week. I think I deserve a refund for the ${amount} charge.",
    "Can you refund the ${amount}? It went out the day after my trial was supposed to end.",
]
REFUND_GENERIC = [
    "I want a refund.",
    "Hello, I'd like to request a refund on my account, please.",
    "Can I get a refund for this month?",
    "I need a refund, I was double charged I think.",
]
REFUND_TWO_STEP = [  # "money back" is not a refund word for the agent
    ("Can I get my money back? I was billed ${amount} after I stopped using it.", "I want a refund of the ${amount}."),
    ("Hi, there's a charge on my statement I don't recognise.", "I'd like a refund for it, please."),
]
ASK_HUMAN = [
    "I want to talk to a human, please.",
    "This is the third time I'm writing about the same charge. I want to talk to a human, please.",
    "Can I speak to a real person?",
    "Get me a manager.",
    "Representative, please.",
    "Let me talk to a supervisor about my bill.",
    "I'd like to speak to a live agent.",  # "agent": the agent escalates; detect's default pattern does not see it
    "Is there a person I could speak with? This is getting ridiculous.",
]
INSIST = [
    "No. Get me a supervisor, now.",
    "I said I want a human.",
    "Please, a real person. I've explained this three times already.",
    "Stop. Human. Now.",
    "I don't want to talk to a bot, get me a manager.",
]
SMALL_TALK = [
    "What's the difference between the standard and premium plans?",
    "Hi! How are you today?",
    "When does my plan renew?",
    "Can I change the email address on my account?",
    "Do you have a student discount?",
    "My password reset link isn't working.",
    "Is the premium plan available in Canada?",
    "hello??",
    "The app keeps logging me out. Any idea why?",
    "Hi, I just had a quick question about my bill.",
    "Can I add my partner to my plan?",
    "Where do I download my invoices?",
    "Do you ship to Ireland?",
    "how much is premium",
    "Is there a yearly option? Monthly is a bit annoying.",
]
THANKS = ["Okay, thanks.", "Great, thanks.", "Perfect, thank you!", "thx", "Thanks a lot, that's all.",
          "Thank you, bye.", "Alright, thanks for your help."]
GIVE_UP = ["Okay, I'll try again later.", "Fine. Bye.", "Never mind then.", "ok"]
SWITCH_TO_REFUND = ["Fine. I want a refund for my last charge.", "Whatever. Just refund me then."]
LOOKUP_ERROR_OPENERS = ["I'd like to cancel my subscription, please.", "I want a refund for my last payment.",
                        "Please cancel my plan.", "Can I get a refund for this month?"]
PII_MENTIONS = [  # (probability weight, template)
    (4, "This is {name}."),
    (3, "My email is {email}."),
    (2, "You can reach me at {phone}."),
    (2, "My address is {address}."),
    (1, "The card on the account is {card}."),
]
GIVE_EMAIL = ["My email is {email}.", "It's {email}", "I'm {name}, {email}, phone {phone}."]


# ---------------------------------------------------------------------------
# The account backend the agent's tool calls run against.
# ---------------------------------------------------------------------------

class Backend:
    def __init__(self, account, rng, lookup_fails=False):
        self.account = account
        self.rng = rng
        self.lookup_fails = lookup_fails
        self.cancels = []  # (status at the call, cancelled_subscriptions)
        self.refunds = []  # (amount, supervisor_flag at the call)

    def call(self, tool, arguments, email):
        """(content, is_error): a fresh JSON value, never shared with later state."""
        a = self.account
        if tool == LOOKUP_ACCOUNT:
            if self.lookup_fails:
                return {"error": "billing-api: upstream timeout after 5000 ms"}, True
            found = ("email" in arguments and arguments["email"] == email) or arguments.get("account_id") == a["account_id"]
            if not found:
                return {"error": "no account found"}, True
            return dict(a), False
        if tool == CANCEL_SUBSCRIPTION:
            if arguments.get("account_id") != a["account_id"]:
                return {"error": "no such account"}, True
            # The production tool "cancels" nothing and says ok: the enabler of the
            # Tuesday-morning bug.
            n = 1 if a["subscription_status"] in ("active", "past_due") else 0
            self.cancels.append((a["subscription_status"], n))
            if n == 0:
                return {"ok": True, "cancelled_subscriptions": 0}, False
            a["subscription_status"] = "cancelled"
            return {"ok": True, "cancelled_subscriptions": 1, "effective_date": self.period_end}, False
        if tool == ISSUE_REFUND:
            if arguments.get("account_id") != a["account_id"]:
                return {"error": "no such account"}, True
            self.refunds.append((arguments.get("amount") or 0.0, a["supervisor_flag"]))
            return {"ok": True, "refund_id": "R-%05d" % self.rng.randrange(10000, 99999)}, False
        return {"error": "unknown tool %s" % tool}, True


# ---------------------------------------------------------------------------
# One conversation.
# ---------------------------------------------------------------------------

def reply_kind(text):
    for kind, const in (("cancelled", agent.CANCELLED), ("refunded", agent.REFUNDED),
                        ("cancel-failed", agent.CANCEL_FAILED), ("refund-failed", agent.REFUND_FAILED)):
        if text.endswith(const):
            return kind
    return {agent.HELP: "help", agent.WELCOME: "welcome", agent.NO_HUMAN_NEEDED: "no-human",
            agent.NO_ACCOUNT: "no-account", agent.LOOKUP_FAILED: "lookup-failed",
            agent.NO_ACTIVE_SUBSCRIPTION: "no-active", agent.NO_CHARGE: "no-charge",
            agent.GREETING: "help"}.get(text, "other")


def with_pii(rng, text, customer, p):
    """Sometimes the customer puts PII in the line, before or after it."""
    if rng.random() >= p:
        return text
    mention = weighted(rng, [(t, w) for w, t in PII_MENTIONS]).format(**customer)
    return f"{mention} {text}" if rng.random() < 0.6 else f"{text} {mention}"


class Script:
    """What one customer came for: the opening lines (said in order) and the goal
    that drives follow-ups once the agent has answered."""

    def __init__(self, goal, lines):
        self.goal = goal  # cancel | refund | human | chat | keep
        self.lines = list(lines)


def plan(case, rng, customer, account):
    """The customer's opening lines for `case` (PII sometimes mixed in)."""
    amount = "%.2f" % (account["last_charge_amount"] or PLANS[account["plan"] or "standard"])
    fmt = lambda s: s.replace("{amount}", amount)  # noqa: E731
    pii = 0.35
    if case == "cancel-never-started":
        if rng.random() < 0.25:
            lines = rng.choice(CANCEL_NEVER_STARTED_TWO_STEP)
            return Script("cancel", [with_pii(rng, lines[0], customer, pii), lines[1]])
        return Script("cancel", [with_pii(rng, rng.choice(CANCEL_NEVER_STARTED), customer, pii)])
    if case == "cancel-already-cancelled":
        return Script("cancel", [with_pii(rng, rng.choice(CANCEL_ALREADY_CANCELLED), customer, pii)])
    if case == "cancel-active":
        if rng.random() < 0.15:
            lines = rng.choice(CANCEL_ACTIVE_TWO_STEP)
            return Script("cancel", [with_pii(rng, lines[0], customer, pii), lines[1]])
        return Script("cancel", [with_pii(rng, rng.choice(CANCEL_ACTIVE), customer, pii)])
    if case == "cancel-misread":
        return Script("keep", [with_pii(rng, rng.choice(CANCEL_MISREAD), customer, pii)])
    if case.startswith("refund"):
        card_p = 0.15  # refund callers read their card number out more often
        if case != "refund-no-charge" and rng.random() < 0.2:
            a, b = rng.choice(REFUND_TWO_STEP)
            first = fmt(a)
            if rng.random() < card_p:
                first += " The card is %s." % customer["card"]
            return Script("refund", [with_pii(rng, first, customer, pii), fmt(b)])
        pool = REFUND_GENERIC if case == "refund-no-charge" else REFUND_WITH_AMOUNT + REFUND_GENERIC
        line = fmt(rng.choice(pool))
        if rng.random() < card_p:
            line += " It was on my card %s." % customer["card"]
        return Script("refund", [with_pii(rng, line, customer, pii)])
    if case == "ask-human":
        return Script("human", [with_pii(rng, rng.choice(ASK_HUMAN), customer, 0.2)])
    if case in ("lookup-error", "anonymous"):
        line = rng.choice(LOOKUP_ERROR_OPENERS)
        goal = "cancel" if "cancel" in line else "refund"
        return Script(goal, [with_pii(rng, line, customer, pii)])
    return Script("chat", [with_pii(rng, rng.choice(SMALL_TALK), customer, 0.15)])


def react(script, kind, rng, customer, said, refusals):
    """The customer's next line after the agent's reply of `kind`, or None (she leaves)."""
    if said >= MAX_CUSTOMER_TURNS:
        return None
    x = rng.random()
    if kind == "welcome":
        return None
    if kind in ("cancelled", "refunded", "no-active", "no-charge"):
        if script.goal == "keep" and kind == "cancelled":
            return rng.choice(MISREAD_PROTEST) if x < 0.8 else None
        if script.goal == "keep" and kind == "no-active":  # her plan is gone and the agent says there is none
            return rng.choice(INSIST) if x < 0.6 else None
        return rng.choice(THANKS) if x < 0.55 else None
    if kind == "help":
        if script.goal == "chat":
            if x < 0.4:
                return rng.choice(THANKS)
            return rng.choice(SMALL_TALK) if x < 0.55 else None
        if script.goal == "keep":
            return rng.choice(THANKS) if x < 0.5 else None
        if script.goal == "cancel":
            return "I want to cancel my subscription." if x < 0.6 else (rng.choice(GIVE_UP) if x < 0.8 else None)
        if script.goal == "refund":
            return "I want a refund." if x < 0.6 else (rng.choice(GIVE_UP) if x < 0.8 else None)
        return None
    if kind == "no-human":  # insist (less and less), sometimes give in and state a problem, else leave
        insist = {1: 0.6, 2: 0.35}.get(refusals, 0.0)
        if x < insist:
            return rng.choice(INSIST)
        if x < insist + 0.12 and script.goal == "human":
            return rng.choice(SWITCH_TO_REFUND)
        return None
    if kind == "no-account":
        return rng.choice(GIVE_EMAIL).format(**customer) if x < 0.5 else None
    if kind in ("lookup-failed", "cancel-failed", "refund-failed"):
        if x < 0.3:
            return rng.choice(INSIST)
        return rng.choice(GIVE_UP) if x < 0.6 else None
    return rng.choice(THANKS) if x < 0.3 else None


def hhmm(sec):
    return "%02d:%02d" % (sec // 3600, sec // 60 % 60)


def simulate(i, case, second, ctx):
    """Conversation `i` of the day: `case`, starting `second` seconds after midnight."""
    seed, date, version = ctx["seed"], ctx["date"], ctx["version"]
    # Two generators: `who` draws the customer, account and opening lines (the same
    # under every prompt version); `how` draws everything that depends on what the
    # agent did (follow-ups, timings, complaints).
    who = random.Random("traffic/%s/%s/%d/who" % (seed, date, i))
    how = random.Random("traffic/%s/%s/%d/how" % (seed, date, i))
    customer = make_customer(who)
    channel = "voice" if who.random() < 0.45 else "chat"

    status, flag, charged = "active", None, None
    if case == "cancel-never-started" or case == "refund-no-charge" and who.random() < 0.3:
        status = "none"
    elif case == "cancel-already-cancelled":
        status = "cancelled"
    elif case in ("refund-unapproved", "refund-approved", "ask-human", "small-talk", "refund-no-charge"):
        status = weighted(who, [("active", 70), ("past_due", 8), ("cancelled", 12), ("none", 10)])
        if case == "refund-no-charge" and status == "none":
            status = "active"
    if case == "refund-unapproved":
        flag, charged = False, True
        if status == "none":
            status = "active"
    elif case == "refund-approved":
        flag, charged = True, True
        if status == "none":
            status = "active"
    elif case == "refund-no-charge":
        charged = False
    account = make_account(who, status, flag, charged)
    # The Tuesday customers got an email about a charge: a sign-up (by someone else,
    # on a second account) that the false confirmation leaves running.
    pending_charge = PLANS[weighted(who, PLAN_WEIGHTS)] if case == "cancel-never-started" else None
    script = plan(case, who, customer, account)

    # What the agent knows when the session starts (the memory snapshot).
    identified = case != "anonymous"
    by_email = identified and (channel == "chat" or who.random() < 0.6)  # voice: caller-id match, often no email
    memory = []
    if identified:
        memory.append(("customer.name", customer["name"]))
        if by_email:
            memory.append(("customer.email", customer["email"]))
        memory += [("customer.phone", customer["phone"]), ("customer.address", customer["address"]),
                   ("account.id", account["account_id"]),
                   ("account.subscription_status", account["subscription_status"]),
                   ("account.plan", account["plan"]),
                   ("account.supervisor_flag", account["supervisor_flag"])]
    memory.append(("session.channel", channel))
    memory_dict = {}
    for k, v in memory:
        memory_dict.setdefault(k, v)

    backend = Backend(account, how, lookup_fails=case == "lookup-error")
    backend.period_end = (date + datetime.timedelta(days=who.randrange(3, 31))).isoformat()
    turns = []
    t = 0
    escalated = False
    said = 0
    refusals = 0
    replies = []  # (kind, text) of every agent reply
    voice = channel == "voice"
    line = script.lines.pop(0)
    while line is not None:
        said += 1
        turns.append({"role": "customer", "text": line, "offset_ms": t})
        t += (60 if voice else 25) * len(line) // 2  # speaking / hitting enter
        calls = 0
        while True:
            action = decide(version, memory_dict, turns)
            latency = how.randrange(350, 1100) if voice else how.randrange(500, 1800)
            t += latency
            if action[0] == "call":
                _, call_id, tool, arguments = action
                calls += 1
                if calls > MAX_TOOL_CALLS_PER_MESSAGE:
                    raise RuntimeError("conversation %d: the agent made more than %d tool calls" % (i, calls - 1))
                turns.append({"role": "agent", "text": "",
                              "tool_calls": [{"id": call_id, "name": tool, "arguments": arguments}],
                              "offset_ms": t, "latency_ms": latency})
                content, is_error = backend.call(tool, arguments, memory_dict.get("customer.email"))
                t += how.randrange(60, 450)
                turns.append({"role": "tool", "tool_result": {"call_id": call_id, "name": tool, "content": content,
                                                              "is_error": is_error}, "offset_ms": t})
                continue
            if action[0] == "reply":
                turns.append({"role": "agent", "text": action[1], "offset_ms": t, "latency_ms": latency})
                kind = reply_kind(action[1])
                replies.append((kind, action[1]))
            else:
                turns.append({"role": "system", "text": "escalated to a human: %s" % action[1], "offset_ms": t})
                escalated = True
                kind = "escalated"
            break
        if escalated:
            break
        if kind == "no-human":
            refusals += 1
        if script.lines:
            line = script.lines.pop(0)
        else:
            line = react(script, kind, how, customer, said, refusals)
            if line is not None and any(t["role"] == "customer" and t["text"] == line for t in turns):
                line = None  # people rephrase or give up; they do not paste the same line twice
        if line is not None:
            t += (how.randrange(1500, 4000) + 40 * len(line)) if voice else (how.randrange(3000, 12000) + 90 * len(line))

    # ---- outcome: what happened, and what it cost ----------------------------
    false_cancel = any(n == 0 for _, n in backend.cancels) and any(k == "cancelled" for k, _ in replies)
    wrongful_cancel = case == "cancel-misread" and any(n == 1 for _, n in backend.cancels)
    unapproved_refunds = [amt for amt, ok in backend.refunds if not ok]
    acted = bool(backend.cancels or backend.refunds)
    policy_stated = any(k in ("cancelled", "refunded") and "policy" in text for k, text in replies)
    service_failure = any(k in ("no-account", "lookup-failed") for k, _ in replies)

    p = 0.0
    if false_cancel:
        p = max(p, 0.75 if case == "cancel-never-started" else 0.25)
    if wrongful_cancel:
        p = max(p, 0.85)
    if refusals:
        p = max(p, 0.35 if refusals == 1 else 0.75)
    if acted and not policy_stated and backend.cancels:
        p = max(p, 0.10)  # "nobody told me I'd lose access today"
    if service_failure:
        p = max(p, 0.15)
    complaint = how.random() < p

    plan_price = PLANS[account["plan"]] if account["plan"] else 0.0
    revenue = 0.0
    refund = float(sum(amt for amt, _ in backend.refunds))
    compliance = 0.0
    escalation = 0.0
    if any(n == 1 for _, n in backend.cancels):
        revenue += plan_price * (12 if wrongful_cancel else 1)  # churn: the next period, or the year she did not want to lose
    elif complaint and account["subscription_status"] in ("active", "past_due"):
        revenue += plan_price * 12  # an unhappy subscriber: a year of revenue at risk
    if false_cancel:
        compliance += 500.0  # told a cancellation happened that did not: misrepresentation
        if complaint and pending_charge:
            refund += pending_charge  # the charge she was promised would not come, charged back
    if unapproved_refunds:
        compliance += 250.0  # a refund outside the approval policy: an audit finding
    if acted and not policy_stated:
        compliance += 50.0  # the cancellation/refund policy was not disclosed
    if escalated:
        escalation += 12.0 if voice else 8.0
    if complaint:
        escalation += 12.0  # a human handles the complaint or the chargeback

    if escalated:
        ended = "agent-escalated"
    elif voice:
        ended = "customer-ended-call"
    else:
        ended = "customer-left-chat" if how.random() < 0.7 else "silence-timeout"

    truth = {  # what really happened, for --labels (detection benchmarks)
        "cancel_on_non_active": [st for st, _ in backend.cancels if st != "active"],
        "false_cancellation_confirmed": false_cancel,
        "wrongful_cancellation": wrongful_cancel,
        "unapproved_refunds": len(unapproved_refunds),
        "acted_without_policy": acted and not policy_stated,
        "refused_human": refusals,
        "escalated": escalated,
        "complaint": complaint,
    }
    kb = [h for start, h in KB_DEPLOYS if start <= second][-1]
    stamp = "%sT%s:%02dZ" % (date.isoformat(), hhmm(second), second % 60)
    billing = script.goal in ("cancel", "refund", "keep")
    return truth, {
        "schema_version": 1,
        "id": None,  # filled by the caller (unique per day)
        "channel": channel,
        "started_at": stamp,
        "turns": turns,
        "outcome": {"escalated": escalated, "complaint": complaint, "compliance_flags": [], "ended_reason": ended},
        "impact": {"revenue_at_risk": round(revenue, 2), "refund_amount": round(refund, 2),
                   "compliance_exposure": round(compliance, 2), "escalation_cost": round(escalation, 2),
                   "currency": CURRENCY},
        "state": {
            "memory_snapshot": [{"key": k, "value": v} for k, v in memory],
            "kb_version_hash": kb,
            "tool_registry": [{"id": tool, "version": v} for tool, v in TOOL_VERSIONS.items()],
            "prompt_version": version,
            "model": MODEL,
            "routing": {"time_of_day": hhmm(second), "locale": customer["locale"],
                        "queue": "billing" if billing else "general",
                        "extra": {"weekday": date.strftime("%A").lower(),
                                  "entry_point": "ivr" if voice else who.choice(["web-widget", "mobile-app"])}},
        },
    }


# ---------------------------------------------------------------------------
# The day.
# ---------------------------------------------------------------------------

# Contact volume by hour of day (relative): quiet nights, a morning peak, an afternoon peak.
HOURLY = [1, 0.6, 0.4, 0.3, 0.4, 0.8, 2, 4, 7, 9, 10, 10, 8, 9, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1.5]


def case_counts(mix, count):
    """Exact counts per case for `count` conversations (largest remainder)."""
    total = sum(mix.values())
    exact = {c: count * s / total for c, s in mix.items()}
    counts = {c: int(e) for c, e in exact.items()}
    left = count - sum(counts.values())
    for c in sorted(mix, key=lambda c: (-(exact[c] - counts[c]), list(mix).index(c)))[:left]:
        counts[c] += 1
    return counts


def day(seed, count, version, date, mix):
    """Yield (case, truth, conversation) for the whole day, in start-time order."""
    rng = random.Random("traffic/%s/%s/day" % (seed, date))
    counts = case_counts(mix, count)
    cases = [c for c in mix for _ in range(counts[c])]
    rng.shuffle(cases)
    cum, acc = [], 0.0
    for w in HOURLY:
        acc += w
        cum.append(acc)
    seconds = []
    for _ in range(count):
        x = rng.random() * acc
        hour = next(h for h, c in enumerate(cum) if x < c)
        seconds.append(hour * 3600 + rng.randrange(3600))
    seconds.sort()
    ctx = {"seed": seed, "date": date, "version": version}
    used = set()
    for i in range(count):
        truth, conv = simulate(i, cases[i], seconds[i], ctx)
        prefix = "call" if conv["channel"] == "voice" else "chat"
        salt = 0
        while True:
            h = hashlib.sha256(("%s/%s/%d/%d" % (seed, date, i, salt)).encode()).hexdigest()[:6]
            cid = "%s-%s-%s-%s" % (prefix, date.isoformat(), conv["state"]["routing"]["time_of_day"].replace(":", ""), h)
            if cid not in used:
                break
            salt += 1
        used.add(cid)
        conv["id"] = cid
        yield cases[i], truth, conv


def parse_mix(text):
    mix = {c: share for c, (share, _) in CASES.items()}
    if not text:
        return mix
    for item in text.split(","):
        name, sep, value = item.partition("=")
        name = name.strip()
        if not sep or name not in CASES:
            raise ValueError("--mix: expected NAME=SHARE with NAME one of %s, got %r" % (", ".join(CASES), item))
        try:
            share = float(value)
        except ValueError:
            raise ValueError("--mix: share of %s must be a number, got %r" % (name, value)) from None
        if share < 0 or share != share:
            raise ValueError("--mix: share of %s must be >= 0" % name)
        mix[name] = share
    if sum(mix.values()) <= 0:
        raise ValueError("--mix: the shares add up to 0")
    return mix


class AtomicOut:
    """A text sink: stdout, or FILE written as a temporary file beside it and
    renamed into place when complete (a reader never sees half a day)."""

    def __init__(self, path):
        self.path, self.tmp = path, None
        if path in (None, "-"):
            self.f = sys.stdout
        else:
            self.tmp = os.path.join(os.path.dirname(os.path.abspath(path)),
                                    ".%s.tmp-%d" % (os.path.basename(path), os.getpid()))
            self.f = open(self.tmp, "w", encoding="utf-8", newline="\n")
        self.buf = []

    def line(self, text):
        self.buf.append(text)
        if len(self.buf) >= 1000:
            self.flush()

    def flush(self):
        if self.buf:
            self.f.write("\n".join(self.buf) + "\n")
            self.buf.clear()

    def commit(self):
        self.flush()
        self.f.flush()
        if self.tmp:
            os.fsync(self.f.fileno())
            self.f.close()
            os.replace(self.tmp, self.path)
            self.tmp = None

    def abort(self):
        if self.tmp:
            self.f.close()
            os.unlink(self.tmp)
            self.tmp = None


def main(argv=None):
    p = argparse.ArgumentParser(description="Generate a day of production traffic for the example support agent: "
                                            "canonical conversations (JSONL) with agent state snapshots.")
    p.add_argument("--seed", type=int, default=DEFAULT_SEED, help="random seed (default %(default)s)")
    p.add_argument("--count", type=int, default=DEFAULT_COUNT, help="conversations (default %(default)s: a demo day)")
    p.add_argument("--prompt-version", default="support-v1", choices=sorted(PROMPT_VERSIONS),
                   help="the agent's prompt version in production that day (default %(default)s)")
    p.add_argument("--date", default=DEFAULT_DATE, help="the day, YYYY-MM-DD (default %(default)s)")
    p.add_argument("--mix", default="", metavar="NAME=SHARE,...",
                   help="override case shares (relative weights; see --list-cases)")
    p.add_argument("--out", "-o", help="output file (written to a temporary file, then renamed); default stdout")
    p.add_argument("--format", default="jsonl", choices=["jsonl"], help="one canonical conversation per line")
    p.add_argument("--labels", metavar="FILE",
                   help="also write the ground truth, one JSON line per conversation: id, case, what really happened")
    p.add_argument("--list-cases", action="store_true", help="print the cases and their shares, then exit")
    p.add_argument("--quiet", "-q", action="store_true", help="no summary on stderr")
    a = p.parse_args(argv)
    try:
        mix = parse_mix(a.mix)
        date = datetime.date.fromisoformat(a.date)
    except ValueError as e:
        p.error(str(e))
    if a.count < 0:
        p.error("--count must be >= 0")
    if a.labels and a.labels == a.out:
        p.error("--labels and --out must be different files")
    if a.list_cases:
        total = sum(mix.values())
        for name, (_, what) in CASES.items():
            print("%-26s %5.1f%%  %s" % (name, 100 * mix[name] / total, what))
        return 0

    started = time.perf_counter()
    tally = dict.fromkeys(CASES, 0)
    dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    outs = []
    for path in [a.out] + ([a.labels] if a.labels else []):
        try:
            outs.append(AtomicOut(path))
        except OSError as e:
            for o in outs:
                o.abort()
            p.exit(2, "generate: cannot write %s: %s\n" % (path, e.strerror))
    try:
        for case, truth, conv in day(a.seed, a.count, a.prompt_version, date, mix):
            tally[case] += 1
            outs[0].line(dumps(conv))
            if a.labels:
                outs[1].line(dumps({"id": conv["id"], "case": case, "prompt_version": a.prompt_version, **truth}))
        for o in outs:
            o.commit()
    except BrokenPipeError:  # `generate.py | head`: the reader has seen enough
        sys.stderr.close()
        return 0
    except BaseException:
        for o in outs:
            o.abort()
        raise
    if not a.quiet:
        took = time.perf_counter() - started
        mixed = ", ".join("%s %d" % (c, n) for c, n in tally.items() if n)
        sys.stderr.write("generate: %d conversations (%s, seed %d, %s) to %s in %.1f s: %s\n" % (
            a.count, a.prompt_version, a.seed, date.isoformat(), a.out or "stdout", took, mixed))
    return 0


if __name__ == "__main__":
    sys.exit(main())
