"""The component entry point: componentize-py exports the `Asserter` class bound here."""

from ratchet_sdk.component import assertion
from llm_rubric import LlmRubric

Asserter = assertion(LlmRubric())
