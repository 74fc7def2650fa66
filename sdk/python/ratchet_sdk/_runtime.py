"""Where the SDK runs: natively (unit tests) or inside a component. The component
glue (``ratchet_sdk.component``) sets ``in_component`` when an app module binds a
plugin; ``ratchet_sdk.judge`` then calls the host's model import instead of the
native test judge. (A flag, not a probe for ``wit_world``: ``componentize-py
bindings`` can put a ``wit_world`` package on a native path too.)"""

#: True inside a component built with ``ratchet_sdk.build``.
in_component = False
