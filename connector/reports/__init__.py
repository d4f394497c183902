"""Compliance for managers and inspectors: figures, sessions and actions, the evidence pack, calendar feeds."""
