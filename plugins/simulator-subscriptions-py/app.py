"""The component entry point: componentize-py exports the `Simulation` class bound here."""

from ratchet_sdk.component import simulator
from subscriptions import Subscriptions

Simulation = simulator(Subscriptions())
