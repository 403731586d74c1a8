# gunicorn configuration for the pricing API (production serving).
#
#   gunicorn -c config/gunicorn.conf.py
#
# Every value can be overridden on the command line (e.g. --bind 127.0.0.1:9090)
# or through the environment variables read below.
import multiprocessing
import os

# Connexion 3 apps are ASGI: gunicorn manages processes, uvicorn serves each one.
wsgi_app = "swagger_server.app:create_app()"
worker_class = "uvicorn_worker.UvicornWorker"

# Behind nginx on the same host (config/nginx/pricing.conf proxies to this address).
bind = os.environ.get("GUNICORN_BIND", f"127.0.0.1:{os.environ.get('PORT', '8080')}")
# The API only validates, records and queues: a few workers per machine are plenty.
workers = int(os.environ.get("GUNICORN_WORKERS", min(4, multiprocessing.cpu_count() + 1)))

# Requests are short (no solving in the API); restart workers now and then to bound memory.
timeout = 60
graceful_timeout = 30
keepalive = 5
max_requests = 2000
max_requests_jitter = 200

# Trust X-Forwarded-* from the local nginx only.
forwarded_allow_ips = "127.0.0.1"

accesslog = "-"
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
