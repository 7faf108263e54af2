"""Users: registration, profile, superuser administration."""
