{#- Bars per symbol and calendar quarter (see macros/marts/period_aggregate.sql). -#}
{{ marketlake.period_aggregate('quarter') }}
