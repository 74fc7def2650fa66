"""The component entry point: componentize-py exports the `%%PY_EXPORT%%` class bound here.
Only the build imports this module; the logic (plugin.py) and its tests do not."""

from ratchet_sdk.component import %%KIND%%
from plugin import %%TYPE%%

%%PY_EXPORT%% = %%KIND%%(%%TYPE%%())
