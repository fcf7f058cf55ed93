# The clearing engine's API server. Build: docker build -t clearing .
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY clearing ./clearing
COPY service ./service
COPY migrations ./migrations
RUN pip install . && useradd --system --uid 10001 clearing
USER clearing
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --retries=5 \
  CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/readyz').status != 200)"
CMD ["clearing", "serve", "--host", "0.0.0.0", "--port", "8000"]
