# The `lessons` command in a container (CPU only). Build: docker build -t lessons .
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY graph graph
COPY ingest ingest
COPY api api
COPY cli cli
RUN pip install --no-cache-dir . && useradd --create-home lessons
USER lessons
ENV HF_HUB_OFFLINE=1
ENTRYPOINT ["lessons"]
CMD ["--help"]
