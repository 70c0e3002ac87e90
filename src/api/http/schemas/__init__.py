"""The HTTP contract's bodies and answers (API.md) as pydantic models, one module per resource; the only pydantic
in the project."""
