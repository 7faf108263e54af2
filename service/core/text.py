"""Text field constraints shared by the schemas."""

from __future__ import annotations

# PostgreSQL cannot store NUL in text (SQLite can): refuse it in every schema, on every backend,
# so a request answers the same 422 wherever it runs.
NO_NUL = r"^[^\x00]*$"
