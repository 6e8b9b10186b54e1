"""Domain core of `lessons`: models, errors, settings, stores, embeddings and search.

Nothing here imports `lessons.ingest`, `lessons.api` or `lessons.cli`.
"""
