"""WSGI entry point for servers that speak WSGI only (uWSGI, as the FlexGrid original deployed).

The app is ASGI (Connexion 3); a2wsgi adapts it. Prefer gunicorn with uvicorn
workers (``config/gunicorn.conf.py``) where you can: it serves ASGI natively.
"""

from a2wsgi import ASGIMiddleware

from swagger_server.app import create_app

application = ASGIMiddleware(create_app())
