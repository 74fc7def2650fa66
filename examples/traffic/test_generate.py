"""Tests of the production-traffic generator (generate.py).

Run: python3 -m unittest discover -s examples/traffic

The checks that need the ratchet binary (validate, detect, rank) run the real
one: $RATCHET_BIN, else $CARGO_TARGET_DIR/debug/ratchet, else target/debug/ratchet
(build it with `cargo build -p ratchet`), with the repository's ratchet.toml,
whose scorecard plugin `scripts/build-plugins` builds. When either is missing
those tests FAIL and say what to build: they are not skipped.
"""

import datetime
import json
import os
import re
import subprocess
import sys
import tempfile
import tomllib
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
GENERATE = os.path.join(HERE, "generate.py")
sys.path.insert(0, HERE)

import generate as g  # noqa: E402
import support_agent as agent  # noqa: E402  (generate.py put examples/agents on the path)

DATE = datetime.date.fromisoformat(g.DEFAULT_DATE)
NOW = "2026-11-25T00:00:00Z"  # end of the generated day, for `rank`


def run_generate(*args):
    p = subprocess.run([sys.executable, GENERATE, "-q", *args], capture_output=True)
    if p.returncode != 0:
        raise AssertionError("generate.py %s failed (%d): %s" % (" ".join(args), p.returncode, p.stderr.decode()))
    return p.stdout


def day(version="support-v1", count=g.DEFAULT_COUNT, seed=g.DEFAULT_SEED, mix=""):
    """[(case, truth, conversation)] of a generated day, in process."""
    return list(g.day(seed, count, version, DATE, g.parse_mix(mix)))


def ratchet_bin():
    candidates = []
    if os.environ.get("RATCHET_BIN"):
        candidates.append(os.environ["RATCHET_BIN"])
    if os.environ.get("CARGO_TARGET_DIR"):
        candidates.append(os.path.join(os.environ["CARGO_TARGET_DIR"], "debug", "ratchet"))
    candidates.append(os.path.join(ROOT, "target", "debug", "ratchet"))
    for c in candidates:
        if os.path.isfile(c) and os.access(c, os.X_OK):
            return c
    raise AssertionError("no ratchet binary (looked for %s): build it with `cargo build -p ratchet` "
                         "or point RATCHET_BIN at one" % ", ".join(candidates))


def scorecard_plugin():
    """The scorecard `ratchet detect` runs, from the repository's ratchet.toml."""
    with open(os.path.join(ROOT, "ratchet.toml"), "rb") as f:
        config = tomllib.load(f)
    path = os.path.join(ROOT, config["plugins"]["support-policy"]["path"])
    if not os.path.isfile(path):
        raise AssertionError("%s is missing: build the plugins with `scripts/build-plugins`" % path)
    return path


def ratchet(*args):
    p = subprocess.run([ratchet_bin(), *args], cwd=ROOT, capture_output=True, text=True)
    return p.returncode, p.stdout, p.stderr


def is_luhn(number):
    digits = [int(c) for c in number if c.isdigit()]
    total = 0
    for i, d in enumerate(reversed(digits)):
        if i % 2:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def memory_of(conv):
    m = {}
    for e in conv["state"]["memory_snapshot"]:
        m.setdefault(e["key"], e["value"])
    return m


def tool_calls(conv, name):
    return [c for t in conv["turns"] for c in t.get("tool_calls", []) if c["name"] == name]


def lookups_before_cancels(conv):
    """subscription_status seen by the latest lookup before each cancel_subscription call."""
    status, seen = None, []
    for t in conv["turns"]:
        r = t.get("tool_result")
        if r and r["name"] == agent.LOOKUP_ACCOUNT and not r["is_error"]:
            status = r["content"]["subscription_status"]
        for c in t.get("tool_calls", []):
            if c["name"] == agent.CANCEL_SUBSCRIPTION:
                seen.append(status)
    return seen


class Determinism(unittest.TestCase):
    def test_same_arguments_same_bytes_different_seed_different_bytes(self):
        a = run_generate("--count", "300")
        self.assertEqual(a, run_generate("--count", "300"))
        self.assertEqual(a.count(b"\n"), 300)
        self.assertNotEqual(a, run_generate("--count", "300", "--seed", "7"))
        self.assertNotEqual(a, run_generate("--count", "300", "--date", "2026-11-25"))

    def test_out_file_is_the_same_bytes_and_written_atomically(self):
        with tempfile.TemporaryDirectory() as d:
            out, labels = os.path.join(d, "day.jsonl"), os.path.join(d, "labels.jsonl")
            stdout = run_generate("--count", "200", "--prompt-version", "support-v2")
            run_generate("--count", "200", "--prompt-version", "support-v2", "--out", out, "--labels", labels)
            with open(out, "rb") as f:
                self.assertEqual(f.read(), stdout)
            self.assertEqual(sorted(os.listdir(d)), ["day.jsonl", "labels.jsonl"])  # no temporary file left
            with open(labels) as f:
                ids = [json.loads(line)["id"] for line in f]
            self.assertEqual(ids, [json.loads(line)["id"] for line in stdout.decode().splitlines()])

    def test_prompt_versions_meet_the_same_customers(self):
        v1, v2 = day("support-v1"), day("support-v2")
        for (c1, _, a), (c2, _, b) in zip(v1, v2):
            self.assertEqual((c1, a["id"], a["started_at"], a["channel"]), (c2, b["id"], b["started_at"], b["channel"]))
            self.assertEqual(a["turns"][0], b["turns"][0])
            self.assertEqual(a["state"]["memory_snapshot"], b["state"]["memory_snapshot"])
            self.assertEqual((a["state"]["prompt_version"], b["state"]["prompt_version"]), ("support-v1", "support-v2"))

    def test_ids_unique_and_shaped_like_production(self):
        convs = [c for _, _, c in day(count=5000)]
        ids = [c["id"] for c in convs]
        self.assertEqual(len(set(ids)), len(ids))
        for c in convs[:500]:
            self.assertRegex(c["id"], r"^(call|chat)-2026-11-24-\d{4}-[0-9a-f]{6}$")
            self.assertEqual(c["id"][:4], "call" if c["channel"] == "voice" else "chat")
            self.assertEqual(c["id"][16:20], c["state"]["routing"]["time_of_day"].replace(":", ""))
            self.assertTrue(c["started_at"].startswith("2026-11-24T"))
        starts = [c["started_at"] for c in convs]
        self.assertEqual(starts, sorted(starts))
        hours = {s[11:13] for s in starts}
        self.assertGreaterEqual(len(hours), 20, "a day of traffic, not a burst")


class Mix(unittest.TestCase):
    def test_counts_are_exact_and_sum_to_count(self):
        for count in (0, 1, 7, 400, 1001):
            counts = g.case_counts(g.parse_mix(""), count)
            self.assertEqual(sum(counts.values()), count)
        counts = g.case_counts(g.parse_mix(""), 400)
        self.assertEqual(counts["cancel-never-started"], 28)
        self.assertEqual(counts["small-talk"], 164)

    def test_mix_override_and_errors(self):
        cases = [case for case, _, _ in day(count=50, mix="small-talk=0,cancel-active=0,cancel-never-started=50")]
        self.assertNotIn("small-talk", cases)
        self.assertGreater(cases.count("cancel-never-started"), 15)
        for bad in ("nope=3", "small-talk", "small-talk=x", "small-talk=-1"):
            p = subprocess.run([sys.executable, GENERATE, "--mix", bad, "--count", "1"], capture_output=True, text=True)
            self.assertEqual(p.returncode, 2, bad)
            self.assertIn("--mix", p.stderr)

    def test_every_case_appears_in_a_demo_day(self):
        self.assertEqual({case for case, _, _ in day()}, set(g.CASES))


class Phrasings(unittest.TestCase):
    """The customer lines mean what their pool says, as the agent itself reads them
    (except the pools whose point is to be misread)."""

    def test_pools_read_as_their_intent(self):
        expect = {
            "cancel": g.CANCEL_NEVER_STARTED + g.CANCEL_ALREADY_CANCELLED + g.CANCEL_ACTIVE
            + [b for _, b in g.CANCEL_NEVER_STARTED_TWO_STEP + g.CANCEL_ACTIVE_TWO_STEP],
            "refund": g.REFUND_GENERIC + [r for r in g.REFUND_WITH_AMOUNT if "cancelled" not in r]
            + [b for _, b in g.REFUND_TWO_STEP] + g.SWITCH_TO_REFUND,
            "human": g.ASK_HUMAN + g.INSIST,
            "thanks": g.THANKS,
            "other": g.SMALL_TALK + g.GIVE_UP + [a for a, _ in g.CANCEL_NEVER_STARTED_TWO_STEP + g.CANCEL_ACTIVE_TWO_STEP
                                                + g.REFUND_TWO_STEP],
        }
        for want, lines in expect.items():
            for line in lines:
                self.assertEqual(agent.intent(line.replace("{amount}", "19.99")), want, line)
        # Deliberately misread by the keyword agent: the long tail.
        for line in g.CANCEL_MISREAD:
            self.assertEqual(agent.intent(line), "cancel", line)
        self.assertEqual(agent.intent("refund pls. charged $9.99 and I cancelled weeks ago"), "cancel")

    def test_pii_mentions_do_not_change_the_intent(self):
        c = g.make_customer(g.random.Random(1))
        for _, template in g.PII_MENTIONS + [(0, t) for t in g.GIVE_EMAIL]:
            self.assertEqual(agent.intent(template.format(**c)), "other", template)

    def test_tuesday_case_comes_in_many_wordings(self):
        firsts = {c["turns"][0]["text"] for case, _, c in day(count=2000) if case == "cancel-never-started"}
        self.assertGreaterEqual(len(firsts), 8, firsts)


class AgentFidelity(unittest.TestCase):
    """The agent turns in the traffic are exactly what support_agent.decide() returns."""

    def replay(self, conv):
        version = conv["state"]["prompt_version"]
        memory = memory_of(conv)
        turns = conv["turns"]
        for i, t in enumerate(turns):
            if t["role"] in ("customer", "tool"):
                continue
            action = agent.decide(version, memory, turns[:i])
            if t["role"] == "agent" and t.get("tool_calls"):
                (call,) = t["tool_calls"]
                self.assertEqual(("call", call["id"], call["name"], call["arguments"]), action, conv["id"])
                result = turns[i + 1]["tool_result"]
                self.assertEqual((result["call_id"], result["name"]), (call["id"], call["name"]))
            elif t["role"] == "agent":
                self.assertEqual(("reply", t["text"]), action, conv["id"])
            else:
                self.assertEqual(t["text"], "escalated to a human: " + action[1], conv["id"])
                self.assertEqual(action[0], "escalate")
                self.assertEqual(i, len(turns) - 1, "escalation ends the conversation")
                self.assertTrue(conv["outcome"]["escalated"])
        # The customer had the last word, or the agent answered it.
        self.assertNotEqual(turns[-1]["role"], "tool")

    def test_every_agent_turn_is_decide(self):
        for version in sorted(agent.PROMPT_VERSIONS):
            for _, _, conv in day(version, count=400):
                self.replay(conv)

    def test_tool_registry_is_the_agents(self):
        _, _, conv = day(count=1)[0]
        self.assertEqual(conv["state"]["tool_registry"], [{"id": k, "version": v} for k, v in agent.TOOL_VERSIONS.items()])

    def test_tuesday_case_v1_cancels_nothing_and_confirms_v2_declines(self):
        v1 = [(case, c) for case, _, c in day("support-v1") if case == "cancel-never-started"]
        v2 = [(case, c) for case, _, c in day("support-v2") if case == "cancel-never-started"]
        self.assertTrue(v1)
        for _, c in v1:
            self.assertIn("none", lookups_before_cancels(c), c["id"])
            results = [t["tool_result"]["content"] for t in c["turns"]
                       if t.get("tool_result") and t["tool_result"]["name"] == agent.CANCEL_SUBSCRIPTION]
            self.assertEqual(results[0], {"ok": True, "cancelled_subscriptions": 0})
            self.assertIn(agent.CANCELLED, [t["text"] for t in c["turns"] if t["role"] == "agent"])
            self.assertGreaterEqual(c["impact"]["compliance_exposure"], 500.0)
        for _, c in v2:
            self.assertEqual(tool_calls(c, agent.CANCEL_SUBSCRIPTION), [], c["id"])
            self.assertIn(agent.NO_ACTIVE_SUBSCRIPTION, [t["text"] for t in c["turns"] if t["role"] == "agent"])
            self.assertFalse(c["outcome"]["complaint"])

    def test_v2_never_cancels_a_non_active_account_and_never_refunds_unapproved(self):
        for _, truth, c in day("support-v2", count=2000):
            self.assertEqual([s for s in lookups_before_cancels(c) if s != "active"], [], c["id"])
            self.assertEqual(truth["cancel_on_non_active"], [])
            self.assertEqual(truth["unapproved_refunds"], 0)
            self.assertFalse(truth["false_cancellation_confirmed"])
            self.assertEqual(truth["refused_human"], 0)

    def test_outcome_and_impact_follow_what_happened(self):
        for _, truth, c in day("support-v1", count=1000):
            o, imp = c["outcome"], c["impact"]
            self.assertEqual(o["escalated"], truth["escalated"])
            self.assertEqual(o["escalated"], o["ended_reason"] == "agent-escalated")
            self.assertEqual(imp["currency"], "USD")
            if truth["false_cancellation_confirmed"]:
                self.assertGreaterEqual(imp["compliance_exposure"], 500.0)
            if truth["unapproved_refunds"]:
                self.assertGreater(imp["refund_amount"], 0)
                self.assertGreaterEqual(imp["compliance_exposure"], 250.0)
            if o["escalated"] or o["complaint"]:
                self.assertGreater(imp["escalation_cost"], 0)
            else:
                self.assertEqual(imp["escalation_cost"], 0)
            offsets = [t["offset_ms"] for t in c["turns"]]
            self.assertEqual(offsets, sorted(offsets))
            self.assertEqual(offsets[0], 0)


class Pii(unittest.TestCase):
    """Raw production traffic carries PII (ratchet regenerate scrubs it)."""

    def test_pii_in_text_and_memory(self):
        convs = [c for _, _, c in day()]
        text = "\n".join(t["text"] for c in convs for t in c["turns"] if t["role"] == "customer")
        self.assertRegex(text, r"[a-z0-9._]+@(mail\.)?example\.(com|net|org)")
        self.assertRegex(text, r"555-01\d\d|7700 900\d{3}|491 570 \d{3}")
        self.assertRegex(text, r"\d+ \w+ (Street|Avenue|Road|Lane|Drive|Court|Boulevard|Close|Crescent), ")
        cards = re.findall(r"\b\d{4} \d{4,6} \d{4,5}(?: \d{4})?\b", text)
        self.assertTrue(cards, "some customer reads out a card number")
        for card in cards:
            self.assertTrue(is_luhn(card), card)
        keys = {e["key"] for c in convs for e in c["state"]["memory_snapshot"]}
        for key in ("customer.name", "customer.email", "customer.phone", "customer.address", "account.id",
                    "account.subscription_status", "account.supervisor_flag"):
            self.assertIn(key, keys)

    def test_test_card_numbers_pass_luhn(self):
        for card in g.TEST_CARDS:
            self.assertTrue(is_luhn(card), card)


class WithTheRatchetBinary(unittest.TestCase):
    """The generated days through the real `ratchet validate`, `detect` and `rank`."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.days = {}
        for version in ("support-v1", "support-v2", "support-v3"):
            path = os.path.join(cls.tmp.name, "%s.jsonl" % version)
            run_generate("--prompt-version", version, "--out", path)
            cls.days[version] = path

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def detect(self, version):
        scorecard_plugin()
        out = os.path.join(self.tmp.name, "%s.events.jsonl" % version)
        code, _, err = ratchet("detect", self.days[version], "--out", out)
        self.assertEqual(code, 0, err)
        self.assertIn("seen %d," % g.DEFAULT_COUNT, err)
        self.assertIn("rejected 0, errors 0", err)
        with open(out) as f:
            events = [json.loads(line) for line in f]
        return out, events

    def test_every_line_is_a_valid_canonical_conversation(self):
        for version, path in sorted(self.days.items()):
            code, out, err = ratchet("validate", "--kind", "conversation", path)
            self.assertEqual(code, 0, err)
            self.assertEqual(sum(line.startswith("ok  ") for line in out.splitlines()), g.DEFAULT_COUNT)

    @staticmethod
    def failed_criteria(event):
        (run,) = [s for s in event["scorecards"] if s["name"] == "support-policy"]
        return {c["name"] for c in run["result"]["criteria"] if not c["passed"]}

    def test_v1_day_is_flagged_in_every_failure_mode(self):
        path, events = self.detect("support-v1")
        failed = [self.failed_criteria(e) for e in events]
        modes = {e["failure_mode"] for e in events}
        # The scorecard's failure modes, as its failing criteria show them.
        for criterion in ("no-action-contradicting-account-state", "no-false-confirmation",
                          "policy-confirmed-in-time", "escalation-when-asked"):
            self.assertTrue(any(criterion in f for f in failed), criterion)
        self.assertIn("cancellation-without-active-subscription", modes)
        self.assertIn("refund-without-supervisor-flag", modes)
        # A missed escalation alone scores 0.75 (>= the 0.7 threshold): detect flags
        # it through the customer's complaint, and names it after what the scorecard
        # saw go wrong (`missed-escalation`), not after the trigger.
        self.assertTrue(any(f == {"escalation-when-asked"} and e["failure_mode"] == "missed-escalation"
                            for f, e in zip(failed, events)))
        # The Tuesday-morning mode costs the most.
        code, out, err = ratchet("rank", path, "--now", NOW, "--format", "json")
        self.assertEqual(code, 0, err)
        ranked = json.loads(out)["modes"]
        self.assertEqual(ranked[0]["failure_mode"], "cancellation-without-active-subscription")

    def test_v2_day_flags_none_of_the_v1_failures(self):
        _, v1 = self.detect("support-v1")
        path, v2 = self.detect("support-v2")
        self.assertLess(len(v2), len(v1))
        convs = {}
        with open(self.days["support-v2"]) as f:
            for line in f:
                c = json.loads(line)
                convs[c["id"]] = c
        for e in v2:
            failed = self.failed_criteria(e)
            c = convs[e["conversation"]["id"]]
            # None of the bugs v2 fixes (v2 states the policy in the reply that reports
            # the action, which the scorecard accepts).
            self.assertFalse(failed & {"no-action-contradicting-account-state", "no-false-confirmation",
                                       "escalation-when-asked", "policy-confirmed-in-time"}, e["conversation"]["id"])
            kinds = {r["kind"] for r in e["reasons"]}
            self.assertTrue(kinds <= {"unexpected-escalation", "complaint"}, (kinds, c["id"]))
        code, out, err = ratchet("rank", path, "--now", NOW, "--format", "json")
        self.assertEqual(code, 0, err)
        v2_cost = sum(m["cost"] for m in json.loads(out)["modes"])
        code, out, err = ratchet("rank", self.days["support-v1"].replace(".jsonl", ".events.jsonl"), "--now", NOW,
                                 "--format", "json")
        v1_cost = sum(m["cost"] for m in json.loads(out)["modes"])
        self.assertLess(v2_cost * 5, v1_cost)

    def test_v3_day_brings_the_tuesday_case_back(self):
        _, events = self.detect("support-v3")
        modes = {e["failure_mode"] for e in events}
        self.assertIn("cancellation-without-active-subscription", modes)
        self.assertNotIn("refund-without-supervisor-flag", modes)


if __name__ == "__main__":
    unittest.main()
