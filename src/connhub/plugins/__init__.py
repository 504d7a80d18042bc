"""Discovery of integration types (built-ins and entry points), manifest checks, lazy code loading."""

from connhub.plugins.registry import ENTRY_POINT_GROUP, Registry, TypeEntry, UnknownType

__all__ = ["ENTRY_POINT_GROUP", "Registry", "TypeEntry", "UnknownType"]
