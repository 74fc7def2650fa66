"""The reference judge: its rules, the protocol over real HTTP, and that every
committed recording in recordings/model/ is exactly what it answers today (so the
recordings can be re-created by anyone, and a rule change that would change a
committed verdict fails here instead of drifting silently)."""

import json
import threading
import unittest
import urllib.error
import urllib.request
from http.server import ThreadingHTTPServer
from pathlib import Path

import reference_judge as rj

ROOT = Path(__file__).resolve().parents[2]
RULES = rj.load_rules(Path(__file__).resolve().parent / "rules.json")
QUESTION = "Did the agent tell the customer the cancellation policy, i.e. that the plan stays active until the end of the current billing period?"


def request(user):
    return {"model": "m", "messages": [{"role": "system", "content": "s"}, {"role": "user", "content": user}], "temperature": 0.0}


class Rules(unittest.TestCase):
    def test_yes_when_an_agent_reply_says_a_phrase(self):
        user = f"QUESTION: {QUESTION}\n\nTRANSCRIPT:\n[0] CUSTOMER: cancel please\n[1] AGENT calls cancel_subscription {{\"x\":\"cancellation policy\"}}\n[2] AGENT: Per our Cancellation Policy, it stays on.\n"
        content = json.loads(rj.answer(request(user), RULES)["choices"][0]["message"]["content"])
        self.assertEqual(content["answer"], "yes")
        self.assertEqual(content["turn"], 2, "tool-call arguments are not replies")

    def test_no_when_nothing_says_it_and_unknown_questions_are_refused(self):
        user = f"QUESTION: {QUESTION}\n\nTRANSCRIPT:\n[0] CUSTOMER: cancel please\n[1] AGENT: Done.\n"
        content = json.loads(rj.answer(request(user), RULES)["choices"][0]["message"]["content"])
        self.assertEqual((content["answer"], content["turn"]), ("no", None))
        with self.assertRaises(rj.NoRule):
            rj.answer(request("QUESTION: Was the agent nice?\n\nTRANSCRIPT:\n[0] AGENT: hi\n"), RULES)

    def test_rubric_prompts_get_one_answer_per_item(self):
        user = f"RUBRIC:\n- policy: {QUESTION}\n\nTRANSCRIPT:\n[0] AGENT: cancellation policy applies\n"
        content = json.loads(rj.answer(request(user), RULES)["choices"][0]["message"]["content"])
        self.assertEqual([a["name"] for a in content["answers"]], ["policy"])


class Http(unittest.TestCase):
    def test_the_simulated_customer_confirms_repeats_facts_and_stops(self):
        def ask(agent_line):
            request = {"model": "reference-judge", "messages": [
                {"role": "system", "content": "ratchet simulated customer v1\nYour goal: cancel\n- your email is [EMAIL_1]\n- you mentioned ORD-1042"},
                {"role": "user", "content": "CONVERSATION:\n[0] CUSTOMER: cancel it\n[1] AGENT: " + agent_line}]}
            return json.loads(rj.answer(request, {})["choices"][0]["message"]["content"])
        self.assertEqual(ask("I can cancel it. Shall I go ahead?"), {"say": "Yes, please go ahead.", "done": False})
        self.assertEqual(ask("What is the e-mail on the account?"), {"say": "Sure: your email is [EMAIL_1].", "done": False})
        self.assertEqual(ask("Which order is it about?"), {"say": "Sure: you mentioned ORD-1042.", "done": False})
        self.assertEqual(ask("Your subscription is cancelled."), {"say": "", "done": True})
        self.assertEqual(ask("What is your date of birth?"), {"say": "", "done": True}, "nothing invented")

    def test_protocol_over_loopback(self):
        server = ThreadingHTTPServer(("127.0.0.1", 0), rj.make_handler(RULES))
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            url = f"http://127.0.0.1:{server.server_address[1]}/v1/chat/completions"
            body = json.dumps(request(f"QUESTION: {QUESTION}\n\nTRANSCRIPT:\n[0] AGENT: Done.\n")).encode()
            with urllib.request.urlopen(urllib.request.Request(url, body, {"Content-Type": "application/json"})) as r:
                v = json.load(r)
            self.assertEqual(v["choices"][0]["finish_reason"], "stop")
            self.assertGreater(v["usage"]["prompt_tokens"], 0)
            bad = json.dumps(request("QUESTION: Unknown?\n\nTRANSCRIPT:\n")).encode()
            with self.assertRaises(urllib.error.HTTPError) as e:
                urllib.request.urlopen(urllib.request.Request(url, bad, {"Content-Type": "application/json"}))
            self.assertEqual(e.exception.code, 422)
        finally:
            server.shutdown()


class CommittedRecordings(unittest.TestCase):
    def test_every_recording_is_what_the_reference_judge_answers(self):
        files = sorted((ROOT / "recordings" / "model").glob("*.json"))
        self.assertTrue(files, "no committed recordings")
        for f in files:
            rec = json.loads(f.read_text(encoding="utf-8"))
            self.assertEqual(rec["request"]["model"], "reference-judge", f.name)
            got = rj.answer(rec["request"], RULES)["choices"][0]["message"]["content"]
            self.assertEqual(got, rec["response"]["content"], f.name)


if __name__ == "__main__":
    unittest.main()
