{#- Bars per symbol and ISO week (see macros/marts/period_aggregate.sql). -#}
{{ marketlake.period_aggregate('week') }}
