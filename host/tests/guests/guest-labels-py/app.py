"""The component entry point: componentize-py exports the `Scorer` class bound here."""

from labels_guest import Labels
from ratchet_sdk.component import scorecard

Scorer = scorecard(Labels())
