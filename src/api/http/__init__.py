"""The HTTP contract: the app, its routes, endpoints and schemas per resource, auth and errors."""
