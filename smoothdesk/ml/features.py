"""ML features: one function used by both the helper and the trainer."""
