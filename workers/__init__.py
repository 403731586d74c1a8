"""Celery app and tasks of the pricing service."""
