"""REST resources, one module per resource family."""
