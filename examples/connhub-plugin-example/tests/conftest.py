pytest_plugins = ["connhub.testing"]
