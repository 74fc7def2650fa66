"""The error a plugin raises to say "I could not do this" (bad params, unusable
input): the host receives it as the WIT ``result``'s error string, exactly as a
Rust plugin's ``Err(String)``. Any other exception is a bug: the SDK reports its
message and traceback to the host (``abort-reason``) and the call traps."""

__all__ = ["PluginError"]


class PluginError(Exception):
    """Raise with the message the user should see, e.g.
    ``PluginError("param `window` must be a non-negative integer, got -1")``."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message
