"""Sources: one package per way data arrives (locate/fetch, and a pure parser to Arrow)."""
