"""The shipyard web service: a FastAPI API, an outbox relay and an order worker sharing one image.

Kept import-free on purpose: the Pulumi program imports `service.messaging.topology` and must not
pull in FastAPI or SQLAlchemy to do so.
"""
