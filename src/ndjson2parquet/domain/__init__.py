"""The domain: records, manifests, their states, errors. Imports nothing else of ours."""
