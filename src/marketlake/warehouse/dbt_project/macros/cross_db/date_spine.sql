{#-
    A query returning one row per day, `date_day`, from start_date to end_date inclusive.
    No rows when either bound is null (an empty lake).
    Args:
        start_date: a SQL expression of a date (a scalar subquery is fine).
        end_date: a SQL expression of a date.
-#}
{% macro date_spine(start_date, end_date) -%}
    {{ return(adapter.dispatch('date_spine', 'marketlake')(start_date, end_date)) }}
{%- endmacro %}

{#- DuckDB and PostgreSQL both have generate_series(timestamp, timestamp, interval). -#}
{% macro default__date_spine(start_date, end_date) -%}
    select cast(spine.day_start as date) as date_day
    from generate_series(
        cast(cast({{ start_date }} as date) as timestamp),
        cast(cast({{ end_date }} as date) as timestamp),
        interval '1 day'
    ) as spine (day_start)
{%- endmacro %}

{#- Snowflake's generator needs a constant row count: 100,000 days (~270 years), then filter. -#}
{% macro snowflake__date_spine(start_date, end_date) -%}
    select date_day
    from (
        select
            dateadd(
                day,
                row_number() over (order by seq4()) - 1,
                cast({{ start_date }} as date)
            ) as date_day
        from table(generator(rowcount => 100000))
    ) as spine
    where date_day <= cast({{ end_date }} as date)
{%- endmacro %}
