"""%%NAME%%: a ratchet adapter that turns a vendor's export into canonical
conversations. The example format is one JSON object per conversation::

    {"conversation_id": "vendor-7f3a", "channel": "voice", "started_at": "2026-11-24T09:31:04Z",
     "messages": [{"from": "customer", "text": "..."}, {"from": "bot", "text": "..."}]}

``channel`` defaults to the ``default_channel`` option (``chat``). What the format
does not carry is listed in ``missing``, never invented.
"""

import json

from ratchet_sdk import Adapter, Conversation, Converted, Params, PluginError, PluginInfo, Turn, canonical_json

#: Canonical fields this format never has.
MISSING = ["state.kb_version_hash", "state.model", "state.prompt_version", "state.tool_registry"]
CHANNELS = ("chat", "voice")
_ABSENT = object()


class %%TYPE%%(Adapter):
    def info(self):
        return PluginInfo("%%NAME%%", "0.1.0", "Vendor messages export -> canonical conversations")

    def convert(self, data, options):
        p = Params(options)
        p.deny_unknown(["default_channel"])
        default = p.str("default_channel", "chat")
        if default not in CHANNELS:
            raise PluginError(f"option `default_channel` must be \"chat\" or \"voice\", got {canonical_json(default)}")

        try:
            v = json.loads(data)
        except ValueError as e:
            raise PluginError(f"input is not JSON: {e}") from None
        if not isinstance(v, dict):
            raise PluginError("input must be a JSON object with `conversation_id` and `messages`")
        cid = v.get("conversation_id")
        if not isinstance(cid, str):
            raise PluginError("`conversation_id` must be a string")
        c = Conversation(id=cid, channel=default)
        if "channel" in v:
            if v["channel"] not in CHANNELS:
                raise PluginError(f"`channel` must be \"chat\" or \"voice\", got {canonical_json(v['channel'])}")
            c.channel = v["channel"]
        if "started_at" in v:
            if not isinstance(v["started_at"], str):
                raise PluginError("`started_at` must be a string")
            c.started_at = v["started_at"]
        messages = v.get("messages")
        if not isinstance(messages, list):
            raise PluginError("`messages` must be an array")
        for i, m in enumerate(messages):
            sender = m.get("from", _ABSENT) if isinstance(m, dict) else _ABSENT
            roles = {"customer": "customer", "bot": "agent"}
            if not isinstance(sender, str) or sender not in roles:
                got = "nothing" if sender is _ABSENT else canonical_json(sender)
                raise PluginError(f"messages[{i}].from must be \"customer\" or \"bot\", got {got}")
            text = m.get("text", "")
            if not isinstance(text, str):
                raise PluginError(f"messages[{i}].text must be a string")
            c.push_turn(Turn(index=0, role=roles[sender], text=text))
        missing = list(MISSING)
        if c.started_at is None:
            missing.insert(0, "started_at")
        return [Converted(conversation=c, missing=missing)]
