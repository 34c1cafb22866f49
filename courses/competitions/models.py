"""Competition models (filled in by the competitions feature)."""
