"""Placeholder."""

HANDLERS: list[object] = []
