{#-
    Schemas are exactly what a model configures (`staging`, `marts`), never dbt's default
    `<target schema>_<custom schema>`: readers and exports address `marts.fct_daily_bars`.
    On PostgreSQL the var `schema_prefix` (warehouse.postgres.schema_prefix) comes first.
-#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ var('schema_prefix', '') }}{{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
