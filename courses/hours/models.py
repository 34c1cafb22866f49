"""Hours ledger models (filled in by the hours feature)."""
