"""Reliability suite, part 2 (issue 6): hangs (test_hangs, test_cancel_gui, test_preload), hostile manifests
(test_manifests), hostile form values (test_values), malformed URLs and import files (test_refusals) and TLS
(test_tls). Upgrades from every released schema live in tests/storage/test_upgrades.py."""
