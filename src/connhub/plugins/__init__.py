"""Discovery of integration types (built-ins and entry points), manifest checks, lazy code loading.

Nothing is imported here: `connhub.plugins.registry` pulls in pydantic, which the window's first paint does
without (it reads `connhub.plugins.catalog`)."""
