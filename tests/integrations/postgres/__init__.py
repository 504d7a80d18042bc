"""Real-server tests of the postgres integration."""
