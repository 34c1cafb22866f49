"""Competition reminder scans (filled in by the competitions feature)."""
