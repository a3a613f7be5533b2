"""The AWS deployment: Lambda handlers (`handlers/`) and the services only they use."""
