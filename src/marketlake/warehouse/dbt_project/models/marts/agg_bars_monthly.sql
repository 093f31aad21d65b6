{#- Bars per symbol and calendar month (see macros/marts/period_aggregate.sql). -#}
{{ marketlake.period_aggregate('month') }}
