"""The example agents' "production" billing backend: a few accounts in memory.

What the example agents' tools call when they run for real (`--chat`). Under
`ratchet gate` the tools are answered by ratchet and this is never called (the
tests check that, through `calls`).
"""


class BillingBackend:
    """A stand-in for the billing API: a few accounts in memory. Under the gate it is
    never called (the tests check that)."""

    def __init__(self):
        self.accounts = {
            "A-55812": {"account_id": "A-55812", "email": "dana@example.com", "subscription_status": "none",
                        "plan": None, "supervisor_flag": False, "last_charge_amount": None},
            "A-20931": {"account_id": "A-20931", "email": "lee@example.com", "subscription_status": "active",
                        "plan": "premium", "supervisor_flag": True, "last_charge_amount": 49.0},
        }
        self.calls = []

    def lookup(self, email=None, account_id=None):
        self.calls.append(("lookup_account", email or account_id))
        for a in self.accounts.values():
            if (email is not None and a["email"] == email) or (account_id is not None and a["account_id"] == account_id):
                return {k: v for k, v in a.items() if k != "email"}
        raise LookupError("no such account")

    def cancel(self, account_id):
        self.calls.append(("cancel_subscription", account_id))
        self.accounts[account_id]["subscription_status"] = "cancelled"
        return {"ok": True, "cancelled_subscriptions": 1}

    def refund(self, account_id, amount):
        self.calls.append(("issue_refund", account_id, amount))
        return {"ok": True, "refund_id": "R-%s-%s" % (account_id, amount)}


BILLING = BillingBackend()
