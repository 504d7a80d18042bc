"""connhub: a desktop connection manager."""

__version__ = "0.1.0"
#: The plugin API this connhub provides (connhub.core.plugin, docs/PLUGINS.md).
plugin_api = "1.0"
