"""The support-policy scorecard's Python logic run natively: plain CPython, no Wasm.

The baseline `polyglot_call` sets the Python plugin against (issue 20): what a
plugin author gets from a Python eval tool that runs their checks in its own
process (deepeval, Inspect). Same logic (plugins/scorecard-support-policy-py),
same SDK, same conversation; per conversation it does what such a tool does:
read the conversation's JSON, run the checks, write the result's JSON.

    python3 host/benches/native_scorecard.py CONVERSATION.json [N]

Prints one JSON line: the median time per conversation over five rounds of N
(default 2000), and the result's canonical JSON, which the bench compares with the
plugin's output (the same bytes, or the comparison is meaningless).
"""

import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT / "sdk" / "python"), str(ROOT / "plugins" / "scorecard-support-policy-py")]

from ratchet_sdk import canonical  # noqa: E402
from ratchet_sdk.model import Conversation  # noqa: E402
from support_policy import SupportPolicy  # noqa: E402


def main() -> None:
    data = Path(sys.argv[1]).read_bytes()
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 2000
    plugin = SupportPolicy()

    def one() -> str:
        return canonical.dumps(plugin.score(Conversation.from_json(data), {}))

    output = one()
    rounds = []
    for _ in range(5):
        start = time.perf_counter_ns()
        for _ in range(n):
            one()
        rounds.append((time.perf_counter_ns() - start) / n)
    print(json.dumps({"per_conversation_ns": statistics.median(rounds), "python": sys.version.split()[0], "output": output}))


if __name__ == "__main__":
    main()
