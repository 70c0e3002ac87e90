"""Real-name verification (实名认证): the GB 11643 checksum and identity providers."""
