"""Built-in integration types: one folder each, named after the manifest's `type`."""
