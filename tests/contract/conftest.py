"""The contract suite: every test runs against each `GraphStore` backend, through the protocol.

The `store` fixture (tests/conftest.py) is parametrised over the SQLite and Neo4j backends.
"""
