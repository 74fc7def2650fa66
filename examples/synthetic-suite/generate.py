#!/usr/bin/env python3
"""Generate a large synthetic regression suite and a run ledger covering many days,
for exercising `ratchet tiers` and `ratchet status` at scale (and their tests).

    python3 examples/synthetic-suite/generate.py --out /tmp/big --count 5000 --days 200

writes, under --out:
  scenarios/<failure-mode>/<id>.toml   scenario files (all start in the fast tier, a few
                                       slow or archived, as a suite that grew untended)
  scenarios/ledger.jsonl               one line per scenario per gate run over --days days:
                                       passes, with failure episodes at varied ages, and
                                       a recorded duration per run
  ratchet.toml                         a [tiers] policy with a pinned smoke set

Each scenario gets a production history (hits, first/last seen) and a "last bug" age
drawn so that some are recent, some 90-180 days old, some older than 180 days: the
three outcomes of the tier rules. Seeded: same arguments, same bytes.
Standard library only.
"""

import argparse
import datetime as dt
import json
import os
import random
import sys

MODES = [
    "cancellation-without-active-subscription", "refund-without-supervisor-flag", "policy-not-confirmed",
    "missed-escalation", "false-refund-confirmation", "wrong-plan-quoted", "address-change-unverified",
    "password-reset-leak", "double-charge-ignored", "coupon-misapplied", "trial-end-not-explained",
    "renewal-price-wrong", "invoice-not-sent", "order-status-invented", "delivery-date-invented",
    "account-merged-wrongly", "gdpr-request-ignored", "card-details-repeated", "upgrade-without-consent",
    "downgrade-lost-data", "language-switch-failed", "hold-time-exceeded", "transfer-loop",
    "callback-never-scheduled", "complaint-not-logged",
]
WORDS = ("cancel subscription premium refund charge charged email never signed account plan billing last month twice "
         "card wrong order delivery late password reset login locked upgrade downgrade invoice address change human "
         "manager trial ended renewal price increase discount coupon expired payment failed bank statement fee double").split()
TOOLS = ["lookup_account", "cancel_subscription", "issue_refund", "update_address", "reset_password", "apply_coupon", "escalate"]


def iso(t):
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def toml_str(s):
    return json.dumps(s)  # a JSON string is a valid TOML basic string for this text


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", required=True, help="output directory (created; must not hold a suite yet)")
    p.add_argument("--count", type=int, default=5000)
    p.add_argument("--days", type=int, default=200, help="days of ledger history")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--end", default="2026-11-29T00:00:00Z", help="the last day of history (RFC 3339, UTC)")
    p.add_argument("--pinned", type=int, default=5, help="scenarios in the [tiers] pinned smoke set")
    a = p.parse_args()
    rng = random.Random(a.seed)
    end = dt.datetime.strptime(a.end, "%Y-%m-%dT%H:%M:%SZ")
    suite = os.path.join(a.out, "scenarios")
    if os.path.exists(os.path.join(suite, "ledger.jsonl")):
        sys.exit("generate.py: %s already holds a suite; pick an empty --out" % suite)
    os.makedirs(suite, exist_ok=True)

    ledger = []
    ids = []
    for n in range(a.count):
        mode = MODES[rng.randrange(len(MODES))]
        sid = "syn-%05d" % n
        ids.append(sid)
        created_days = rng.randint(0, a.days + 60)          # some older than the ledger
        created = end - dt.timedelta(days=created_days, seconds=rng.randint(0, 86399))
        # The bug's last appearance: in the ledger (a failing run) and/or in production.
        last_bug_days = min(created_days, int(rng.choice([rng.uniform(0, 80), rng.uniform(95, 175), rng.uniform(190, 320)])))
        hits = 1 + int(rng.paretovariate(1.3)) if rng.random() < 0.7 else 1
        prod_last_days = min(created_days, last_bug_days + rng.randint(0, 40))
        last_seen = end - dt.timedelta(days=prod_last_days, seconds=rng.randint(0, 86399))
        tier = rng.choices(["fast", "slow", "archive"], [85, 10, 5])[0]
        tool = TOOLS[rng.randrange(len(TOOLS))]
        base_ms = int(min(8000, 150 + rng.lognormvariate(6.5, 0.7)))
        turns = [" ".join(rng.choice(WORDS) for _ in range(rng.randint(6, 18))) for _ in range(rng.randint(1, 3))]
        impact = {k: round(rng.choice([0, 0, rng.uniform(5, 800)]), 2) for k in ("revenue_at_risk", "refund_amount", "compliance_exposure", "escalation_cost")}
        lines = [
            "schema_version = 1",
            "id = %s" % toml_str(sid),
            "title = %s" % toml_str("synthetic %s #%d" % (mode, n)),
            "failure_mode = %s" % toml_str(mode),
            'tags = ["synthetic"]',
            "tier = %s" % toml_str(tier),
            "",
            "[provenance]",
            "source_conversations = [%s]" % toml_str("conv-%05d" % n),
            "hits = %d" % hits,
            "first_seen = %s" % toml_str(iso(created)),
            "last_seen = %s" % toml_str(iso(max(created, last_seen))),
            'created_by = "synthetic"',
            "",
            "[impact]",
        ] + ["%s = %s" % (k, repr(float(v))) for k, v in impact.items()] + ['currency = "USD"', ""]
        for t in turns:
            lines += ["[[turns]]", "text = %s" % toml_str(t), ""]
        lines += ["[[criteria]]", 'id = "guard"', 'kind = "must-not-call-tool"', "tool = %s" % toml_str(tool), ""]
        lines += ["[[history]]", "at = %s" % toml_str(iso(created)), 'action = "created"', 'detail = "synthetic"', ""]
        d = os.path.join(suite, mode)
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, sid + ".toml"), "w") as f:
            f.write("\n".join(lines))

        # Gate runs every few days since creation (within the ledger window).
        step = rng.randint(3, 14)
        day = min(created_days, a.days)
        while day >= 0:
            at = end - dt.timedelta(days=day, hours=rng.randint(0, 23))
            failing = last_bug_days <= day <= last_bug_days + 6
            verdict = "fail" if failing else ("flaky" if rng.random() < 0.002 else "pass")
            entry = {"at": iso(at), "agent": "support-agent v%d" % (1 + (a.days - day) // 30), "scenario": sid,
                     "verdict": verdict, "duration_ms": int(base_ms * rng.uniform(0.9, 1.1))}
            if verdict == "fail":
                entry["failing"] = ["guard"]
            ledger.append((entry["at"], sid, json.dumps(entry, separators=(",", ":"))))
            day -= step
    ledger.sort()
    tmp = os.path.join(suite, ".ledger.jsonl.tmp")
    with open(tmp, "w") as f:
        for _, _, line in ledger:
            f.write(line + "\n")
    os.replace(tmp, os.path.join(suite, "ledger.jsonl"))
    with open(os.path.join(a.out, "ratchet.toml"), "w") as f:
        f.write("# Generated by examples/synthetic-suite/generate.py\n[tiers]\n")
        f.write("fast_size = 100\npr_budget_secs = 600\njobs = 4\ndemote_after_days = 90\narchive_after_days = 180\n")
        f.write("pinned = [%s]\n" % ", ".join(toml_str(i) for i in ids[: a.pinned]))
    print("generate.py: %d scenarios, %d ledger lines over %d days in %s" % (a.count, len(ledger), a.days, a.out), file=sys.stderr)


if __name__ == "__main__":
    main()
