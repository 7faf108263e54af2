"""Cross-cutting pieces: settings, database, security primitives, errors, logging."""
