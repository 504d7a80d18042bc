"""Discovery of integration types (built-ins and entry points), manifest checks, lazy code loading."""

__all__ = ["ENTRY_POINT_GROUP", "Registry", "TypeEntry", "UnknownType"]


def __getattr__(name: str):
    """Imported on first use: the registry pulls in pydantic, which the window's first paint does without
    (plugins/cache.py)."""
    if name in __all__:
        from connhub.plugins import registry

        return getattr(registry, name)
    raise AttributeError(name)
