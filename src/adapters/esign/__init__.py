"""Electronic contracts (电子签章)."""
