"""Items: things a user owns and sells; orders refer to them."""
