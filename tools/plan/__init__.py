"""`make plan` (`python -m tools.plan`): the Pulumi program evaluated offline under mocks."""
