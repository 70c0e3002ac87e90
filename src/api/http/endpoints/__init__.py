"""One module per resource; each holds its `endpoints`."""
