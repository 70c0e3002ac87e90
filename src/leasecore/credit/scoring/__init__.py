"""Credit scoring: an external bureau, or the built-in rule engine over five dimensions of facts."""
