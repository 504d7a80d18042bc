"""Qt-free domain: manifests, field specs, test results and the error taxonomy."""
