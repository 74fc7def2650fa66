"""simulator-subscriptions, in Python: a port of ``plugins/simulator-subscriptions``
(Rust) that gives the same output bytes on every input. The billing backend of the
example subscription-support domain (``examples/agents/support_agent.py``), as a
pure function over a JSON world::

    {"accounts": {"A-55812": {"record": {"account_id": "A-55812", "subscription_status": "none",
                                         "plan": null, "supervisor_flag": false, "last_charge_amount": null},
                              "emails": ["[EMAIL_1]"]}},
     "refunds": []}

* ``seed`` builds it from the first successful ``lookup_account`` of each account in
  the recorded conversation (the state before anything was changed), keyed by
  account id, with the e-mail the lookup used;
* ``lookup_account`` (``email`` or ``account_id``) returns the account's record, or
  ``{"error": "no account found"}``;
* ``cancel_subscription`` (``account_id``) behaves as the production tool does: an
  ``active`` or ``past_due`` subscription becomes ``cancelled``
  (``cancelled_subscriptions: 1``); any other status is left alone and the tool
  still says ``ok`` with ``cancelled_subscriptions: 0`` (the Tuesday-morning
  enabler) — the world does not change, only what the agent said about it;
* ``issue_refund`` (``account_id``, ``amount``) appends to ``refunds`` and returns a
  refund id numbered in order (``R-SIM-1``, ...), deterministic;
* any other tool is not modelled: the gate's missing-fixture policy applies.

Where the Rust original reads a JSON value that may be missing or of another type
(``value["key"]`` is ``null`` then), this port does the same with ``_at``; accounts
are searched in key order, as the Rust component's map iterates them.
"""

from __future__ import annotations

import copy
from typing import Any, Optional

from ratchet_sdk import PluginError, PluginInfo, Simulated, Simulator

LOOKUP = "lookup_account"
CANCEL = "cancel_subscription"
REFUND = "issue_refund"


def _at(value: Any, *keys: str) -> Any:
    """``value[k1][k2]...`` as serde_json's ``Index`` reads it: ``None`` when a
    level is missing or not an object."""
    for k in keys:
        if not isinstance(value, dict):
            return None
        value = value.get(k)
    return value


def _str_arg(arguments: Any, key: str) -> Optional[str]:
    v = _at(arguments, key)
    return v if isinstance(v, str) else None


def _find(world: Any, arguments: Any) -> Optional[tuple]:
    """``(account id, account)`` of the account the lookup arguments name, if the world has it."""
    accounts = _at(world, "accounts")
    if not isinstance(accounts, dict):
        return None
    account_id = _str_arg(arguments, "account_id")
    if account_id is not None:
        return (account_id, accounts[account_id]) if account_id in accounts else None
    email = _str_arg(arguments, "email")
    if email is None:
        return None
    for key in sorted(accounts):
        emails = _at(accounts[key], "emails")
        if isinstance(emails, list) and any(e == email for e in emails if isinstance(e, str)):
            return key, accounts[key]
    return None


def _push(world: dict, key: str, item: Any) -> int:
    """Appends to the list ``key`` of the world (created if missing); its new length."""
    if not isinstance(world, dict):
        raise PluginError("the world is not an object")
    lst = world.setdefault(key, [])
    if not isinstance(lst, list):
        raise PluginError(f"world.{key} is not a list")
    lst.append(item)
    return len(lst)


class Subscriptions(Simulator):
    """The subscription backend (all state is in the world)."""

    def info(self):
        return PluginInfo("simulator-subscriptions", "0.1.0", "The example subscription backend: accounts and refunds")

    def seed(self, observed, params):
        world: dict = {"accounts": {}, "refunds": []}
        for o in observed:
            if o.request.tool != LOOKUP or o.is_error:
                continue
            account_id = _str_arg(o.result, "account_id")
            if account_id is None:
                continue
            entry = world["accounts"].setdefault(account_id, {"record": copy.deepcopy(o.result), "emails": []})
            email = o.request.arg_str("email")
            if email is not None and email not in entry["emails"]:
                entry["emails"].append(email)
        return world

    def call(self, world, request, params):
        if not isinstance(_at(world, "accounts"), dict):
            raise PluginError("the world has no `accounts` object")
        args = request.arguments
        if request.tool == LOOKUP:
            found = _find(world, args)
            if found is None:
                return Simulated.error({"error": "no account found"}, world)
            return Simulated.ok(copy.deepcopy(_at(found[1], "record")), world)
        if request.tool == CANCEL:
            found = _find(world, {"account_id": _at(args, "account_id")})
            if found is None:
                return Simulated.error({"error": "no such account"}, world)
            account_id, account = found
            live = _at(account, "record", "subscription_status") in ("active", "past_due")
            after = copy.deepcopy(world)
            if live:
                after["accounts"][account_id]["record"]["subscription_status"] = "cancelled"
            return Simulated.ok({"ok": True, "cancelled_subscriptions": 1 if live else 0}, after)
        if request.tool == REFUND:
            found = _find(world, {"account_id": _at(args, "account_id")})
            if found is None:
                return Simulated.error({"error": "no such account"}, world)
            after = copy.deepcopy(world)
            n = _push(after, "refunds", {"account_id": found[0], "amount": copy.deepcopy(_at(args, "amount"))})
            return Simulated.ok({"ok": True, "refund_id": f"R-SIM-{n}"}, after)
        return None
