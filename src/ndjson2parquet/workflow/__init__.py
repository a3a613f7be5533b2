"""The workflow: run manifests, commit or compensate them, recover, seal, report."""
