"""%%NAME%%: a ratchet assertion (a scenario criterion of ``kind = "plugin"``): passes
when the agent says ``phrase`` (any case) in one of its first ``within_turns`` turns
(``0``, the default: any turn)::

    [[criteria]]
    id = "states-refund-policy"
    kind = "plugin"
    plugin = "%%NAME%%"            # its [plugins.%%NAME%%] entry in ratchet.toml
    params = { phrase = "refund policy", within_turns = 2 }
"""

from ratchet_sdk import Assertion, Params, PluginError, PluginInfo, Verdict
from ratchet_sdk.text import contains_any_ci


class %%TYPE%%(Assertion):
    def info(self):
        return PluginInfo("%%NAME%%", "0.1.0", "The agent must say a phrase, within its first N turns")

    def check(self, transcript, params):
        p = Params(params)
        p.deny_unknown(["phrase", "within_turns"])
        phrase = p.str("phrase", "")
        if not phrase:
            raise PluginError("param `phrase` is required (a non-empty string)")
        within = p.u64("within_turns", 0)

        last = None
        for n, t in enumerate(transcript.agent_turns()):
            if within > 0 and n >= within:
                break
            if contains_any_ci(t.text, [phrase]):
                return Verdict.ok(f"turn {t.index}: the agent said \"{phrase}\"")
            last = t.index
        scope = f" in its first {within} turn(s)" if within > 0 else ""
        return Verdict.fail(f"the agent never said \"{phrase}\"{scope}", last)
