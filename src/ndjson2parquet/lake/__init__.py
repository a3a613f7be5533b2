"""What the lake itself says it holds: one commit record per committed manifest, beside the parts."""
