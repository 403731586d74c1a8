# One image for the API and the workers; the command decides which runs.
#   docker run IMAGE                                   -> API on :8080 (uvicorn)
#   docker run IMAGE celery -A workers.tasks worker    -> a worker
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PORT=8080

WORKDIR /app
COPY requirements.txt constraints.txt ./
RUN pip install -r requirements.txt -c constraints.txt

COPY BRTP BRTP
COPY swagger swagger
COPY swagger_server swagger_server
COPY workers workers
COPY config config

RUN useradd --create-home --uid 10001 pricing
USER pricing

EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s CMD python -c "import urllib.request,os; urllib.request.urlopen(f'http://127.0.0.1:{os.environ.get(\"PORT\",\"8080\")}/health')"
CMD ["python", "-m", "swagger_server"]
