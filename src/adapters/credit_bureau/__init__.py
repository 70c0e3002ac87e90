"""Credit bureaus: the sandbox and a Sesame-style (芝麻信用) score."""
