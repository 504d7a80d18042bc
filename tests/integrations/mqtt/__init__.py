"""Real-server tests of the mqtt integration."""
