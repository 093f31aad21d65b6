"""Operations: the run ledger (and later logs, metrics, alerts)."""
