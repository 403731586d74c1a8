"""Thin HTTP handlers resolved from the spec's operationIds."""
