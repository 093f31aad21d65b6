"""marketlake: raw financial market data in, analysis-ready data out."""

__version__ = "0.1.0"

import logging

# Library code logs; only the CLI (or the embedding application) decides where logs go.
logging.getLogger(__name__).addHandler(logging.NullHandler())
