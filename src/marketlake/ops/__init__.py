"""Operations: the run ledger, structured logs, metrics and freshness derived from the ledger,
and alerts to a webhook."""
