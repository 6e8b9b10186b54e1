"""HTTP API (FastAPI) over the same service functions as the CLI: `lessons serve`."""
