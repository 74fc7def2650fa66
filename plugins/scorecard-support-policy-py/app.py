"""The component entry point: componentize-py exports the `Scorer` class bound here."""

from ratchet_sdk.component import scorecard
from support_policy import SupportPolicy

Scorer = scorecard(SupportPolicy())
