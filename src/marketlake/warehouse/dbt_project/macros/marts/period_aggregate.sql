{#-
    The body of agg_bars_<period>: one row per symbol and calendar period of fct_daily_bars.

    Periods are exchange-local session dates. Weeks are ISO weeks (Monday to Sunday, labelled
    by ISO year and week): a week never splits at a month or year boundary, so 2020-12-28 ..
    2021-01-01 is one week, 2020-W53.

    True OHLC: open of the first session, highest high, lowest low, close of the last session,
    total volume. First and last come from row_number() over session_date, so they do not depend
    on row order. avg_* are plain means of the daily values (nulls ignored). symbol_key is the
    dim_symbol version of the period's last session (a symbol whose reference data changed
    within the period still has one row per period).

    Args:
        period: 'week', 'month', 'quarter' or 'year'.
-#}
{% macro period_aggregate(period) -%}
{%- if period not in ['week', 'month', 'quarter', 'year'] -%}
    {{ exceptions.raise_compiler_error(
        "period_aggregate: period must be week, month, quarter or year, got '" ~ period ~ "'"
    ) }}
{%- endif -%}

with

daily_bars as (

    select * from {{ ref('fct_daily_bars') }}

),

bars_in_periods as (

    select
        symbol_key,
        symbol,
        session_date,
        open,
        high,
        low,
        close,
        volume,
        {{ marketlake.truncate_date(period, 'session_date') }} as period_start,
        {{ marketlake.period_label(period, 'session_date') }} as period_label

    from daily_bars

),

ranked as (

    select
        *,
        row_number() over (
            partition by symbol, period_start order by session_date asc
        ) as session_from_start,
        row_number() over (
            partition by symbol, period_start order by session_date desc
        ) as session_from_end

    from bars_in_periods

),

final as (

    select
        max(case when session_from_end = 1 then symbol_key end) as symbol_key,
        symbol,
        period_start,
        period_label,
        min(session_date) as first_session_date,
        max(session_date) as last_session_date,
        count(*) as trading_days,
        max(case when session_from_start = 1 then open end) as open,
        max(high) as high,
        min(low) as low,
        max(case when session_from_end = 1 then close end) as close,
        sum(volume) as volume,
        avg(open) as avg_open,
        avg(high) as avg_high,
        avg(low) as avg_low,
        avg(close) as avg_close,
        avg(volume) as avg_volume

    from ranked
    group by symbol, period_start, period_label

)

select * from final
{%- endmacro %}
