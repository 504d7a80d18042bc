"""Real-server tests of the rabbitmq integration."""
