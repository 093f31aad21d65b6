{#-
    ISO 8601 calendar parts of a date: weeks start on Monday, week 1 holds the year's first
    Thursday, so 2021-01-01 (a Friday) is in ISO year 2020, week 53.
-#}

{% macro iso_year(date) -%}
    {{ return(adapter.dispatch('iso_year', 'marketlake')(date)) }}
{%- endmacro %}

{% macro default__iso_year(date) -%}
    cast(extract(isoyear from {{ date }}) as integer)
{%- endmacro %}

{% macro snowflake__iso_year(date) -%}
    yearofweekiso({{ date }})
{%- endmacro %}

{% macro iso_week(date) -%}
    {{ return(adapter.dispatch('iso_week', 'marketlake')(date)) }}
{%- endmacro %}

{#- `week` is the ISO week on DuckDB and PostgreSQL. -#}
{% macro default__iso_week(date) -%}
    cast(extract(week from {{ date }}) as integer)
{%- endmacro %}

{% macro snowflake__iso_week(date) -%}
    weekiso({{ date }})
{%- endmacro %}

{#- 1 = Monday ... 7 = Sunday. -#}
{% macro iso_day_of_week(date) -%}
    {{ return(adapter.dispatch('iso_day_of_week', 'marketlake')(date)) }}
{%- endmacro %}

{% macro default__iso_day_of_week(date) -%}
    cast(extract(isodow from {{ date }}) as integer)
{%- endmacro %}

{% macro snowflake__iso_day_of_week(date) -%}
    dayofweekiso({{ date }})
{%- endmacro %}
