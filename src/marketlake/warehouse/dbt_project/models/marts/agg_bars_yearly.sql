{#- Bars per symbol and calendar year (see macros/marts/period_aggregate.sql). -#}
{{ marketlake.period_aggregate('year') }}
