"""Real-server tests of the nats integration."""
