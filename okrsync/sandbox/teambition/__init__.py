"""A local Teambition Open API (``/api``) for okrsync's demo and tests.

It stands apart from okrsync's connector: its own TQL parser and models, held to the real
protocol by the generated ``teambition-oapi-sdk`` client.
"""

from okrsync.sandbox.teambition.app import create_app
from okrsync.sandbox.teambition.demo import demo_section, generated
from okrsync.sandbox.teambition.store import TeambitionStore

__all__ = ["TeambitionStore", "create_app", "demo_section", "generated"]
