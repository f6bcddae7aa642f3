"""A local Jira (Cloud and Data Center flavours) served over real HTTP for demos and tests.

It shares no code with okrsync's connectors: its own models, store and JQL parser.
"""
