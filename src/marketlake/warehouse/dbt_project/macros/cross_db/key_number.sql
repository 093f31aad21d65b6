{#-
    A floating-point number as text that is the same on every engine, for surrogate keys:
    engines print doubles differently (DuckDB 100.0, PostgreSQL 100), so the value goes
    through a fixed-scale decimal first (9 decimals: thresholds and prices, not 1e-12 noise).
    Args:
        value: SQL expression of a number.
-#}
{% macro key_number(value) -%}
    {{ return(adapter.dispatch('key_number', 'marketlake')(value)) }}
{%- endmacro %}

{% macro default__key_number(value) -%}
    cast(cast({{ value }} as decimal(38, 9)) as {{ dbt.type_string() }})
{%- endmacro %}
