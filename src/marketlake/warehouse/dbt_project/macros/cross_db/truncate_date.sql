{#-
    The first day of the week (ISO: Monday), month, quarter or year holding a date, as a date.
    Args:
        datepart: 'week', 'month', 'quarter' or 'year'.
        date: a SQL expression of a date.
-#}
{% macro truncate_date(datepart, date) -%}
    {{ return(adapter.dispatch('truncate_date', 'marketlake')(datepart, date)) }}
{%- endmacro %}

{#- date_trunc returns a timestamp on DuckDB and PostgreSQL; weeks start on Monday on both. -#}
{% macro default__truncate_date(datepart, date) -%}
    cast({{ dbt.date_trunc(datepart, date) }} as date)
{%- endmacro %}

{#- Snowflake's week start follows the WEEK_START session parameter: compute Monday directly. -#}
{% macro snowflake__truncate_date(datepart, date) -%}
    {%- if datepart == 'week' -%}
        dateadd(day, 1 - dayofweekiso({{ date }}), cast({{ date }} as date))
    {%- else -%}
        cast({{ dbt.date_trunc(datepart, date) }} as date)
    {%- endif -%}
{%- endmacro %}
