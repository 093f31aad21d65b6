{#-
    Each symbol's daily series, one row per symbol and session date, numbered from 0 in date
    order (day_index): the trading-day axis every indicator window and recursion runs on.

    Two deliveries can disagree on the open time of the same session (midnight vs. the opening
    bell); the session keeps the row fct_daily_bars keeps: latest-landed delivery, then the larger
    ingest_id, then the later open time. Rows are stored in day_index order, so the recursion of
    int_daily_bars_smoothed, which reads one day_index per step, touches few storage blocks.
-#}
with

bars as (

    select * from {{ ref('stg_silver__bars') }}

),

daily_bars as (

    select *

    from bars
    where bar_interval = '1d'

),

ranked as (

    select
        *,
        row_number() over (
            partition by symbol, session_date
            order by ingest_landed_at desc nulls last, ingest_id desc, ts_event desc
        ) as delivery_rank

    from daily_bars

),

sessions as (

    select
        symbol,
        session_date,
        open,
        high,
        low,
        close,
        volume

    from ranked
    where delivery_rank = 1

),

numbered as (

    select
        symbol,
        session_date,
        cast(
            row_number() over (partition by symbol order by session_date) - 1
            as {{ dbt.type_bigint() }}
        ) as day_index,
        open,
        high,
        low,
        close,
        volume,
        lag(close) over (partition by symbol order by session_date) as prev_close

    from sessions

),

final as (

    select * from numbered
    order by day_index, symbol

)

select * from final
