"""HTTP API (FastAPI) over the same service functions as the CLI; built in a later issue."""
