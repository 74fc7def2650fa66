"""The component entry point: an adapter returning the canonical conversation it reads."""

from ratchet_sdk import Adapter, Conversation, Converted, PluginInfo
from ratchet_sdk.component import adapter


class Passthrough(Adapter):
    def info(self) -> PluginInfo:
        return PluginInfo("guest-passthrough-py", "0.1.0", "canonical conversation in, the same out")

    def convert(self, data: bytes, options) -> list:
        return [Converted(Conversation.from_json(data))]


Converter = adapter(Passthrough())
