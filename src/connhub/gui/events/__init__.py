"""The Webhooks tab of the detail pane: a local receiver, its deliveries, replay and test events."""
