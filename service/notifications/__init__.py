"""Operator notifications: the `order-alerts` Lambda function's whole code.

The Pulumi program ships this folder alone as the function's package (`notifications/` at the
archive root, handler `notifications.handler.handler`; see `Function` in
service/messaging/topology.py). So modules here import only the standard library, boto3 (Lambda's
Python runtime provides it) and each other, relatively. Nothing from `service.*`.
"""
