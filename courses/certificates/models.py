"""Certificate models (filled in by the certificates feature)."""
