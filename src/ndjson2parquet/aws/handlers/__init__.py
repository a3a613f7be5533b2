"""Lambda handlers: one module per function family (`steps`: the manifest workflow's steps)."""
