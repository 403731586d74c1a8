# One image for the API and the workers; the command decides which runs.
#   docker run IMAGE                                   -> API on :8080 (uvicorn)
#   docker run IMAGE celery -A workers.tasks worker    -> a worker
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    NUMBA_CACHE_DIR=/app/.numba-cache \
    PORT=8080

WORKDIR /app
COPY requirements.txt constraints.txt ./
RUN pip install -r requirements.txt -c constraints.txt

COPY BRTP BRTP
COPY swagger swagger
COPY swagger_server swagger_server
COPY workers workers
COPY config config

# The solver's compiled passes (BRTP/ipm_kernels.py), compiled once here instead of in every container.
RUN python -c "from BRTP import PricingProblem, solve_gammas; from BRTP.data.synthetic import REQUEST, synthetic_dataset; \
portfolio, request = synthetic_dataset(3).job(REQUEST); solve_gammas(PricingProblem(portfolio, request, 0.2), [1.0])"

RUN useradd --create-home --uid 10001 pricing && chown -R pricing /app/.numba-cache
USER pricing

EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s CMD python -c "import urllib.request,os; urllib.request.urlopen(f'http://127.0.0.1:{os.environ.get(\"PORT\",\"8080\")}/health')"
CMD ["python", "-m", "swagger_server"]
