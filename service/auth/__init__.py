"""Authentication: OAuth2 password flow, JWTs, rotating refresh tokens, login throttle."""
