"""The HTTP API over gold and silver (``marketlake serve``); FastAPI lives only here.

Reads go through the gold Parquet exports and the silver loader, never the warehouse file, so
the API keeps answering while ``marketlake build`` rewrites the warehouse.
"""

from marketlake.serve.api.app import create_app

__all__ = ["create_app"]
