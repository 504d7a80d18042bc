"""Real-server tests of the http integration."""
