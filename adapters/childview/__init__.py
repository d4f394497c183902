"""Childview (Youth Offending Service) adapter: not built yet.

The Childview adapter is its own piece of work; until it lands, `childview` is not in the adapter registry and a
config that configures it is refused by `connector check-config`.
"""
