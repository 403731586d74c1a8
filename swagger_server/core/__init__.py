"""The shared core: what the API and the workers both use (settings, logging, jobs, stores, data, callbacks, metrics).

It imports nothing of the API (no Connexion, no pages); the workers import it
and BRTP, never the rest of ``swagger_server``.
"""
