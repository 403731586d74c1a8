# gunicorn configuration for the pricing API (production serving).
#
#   gunicorn -c config/gunicorn.conf.py
#
# Every value can be overridden on the command line (e.g. --bind 127.0.0.1:9090)
# or through the settings (GUNICORN_BIND, GUNICORN_WORKERS, PORT, LOG_LEVEL),
# read like every other setting from the environment or .env.
import multiprocessing

from swagger_server.core.settings import get_settings

settings = get_settings()

# Connexion 3 apps are ASGI: gunicorn manages processes, uvicorn serves each one.
wsgi_app = "swagger_server.app:create_app()"
worker_class = "uvicorn_worker.UvicornWorker"

# Behind nginx on the same host (config/nginx/pricing.conf proxies to this address).
bind = settings.gunicorn_bind or f"127.0.0.1:{settings.port}"
# The API only validates, records and queues: a few workers per machine are plenty.
workers = settings.gunicorn_workers or min(4, multiprocessing.cpu_count() + 1)

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
loglevel = settings.log_level.lower()
