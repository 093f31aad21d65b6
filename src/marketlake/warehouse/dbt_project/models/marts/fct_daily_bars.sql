{#-
    Daily bars, one row per symbol and session date.

    The 1d rows of fct_prices (one per bar open time, latest delivery, with the dim_symbol
    version valid at the bar); two deliveries can still disagree on the open time of the same
    session (midnight vs. the opening bell), so the session is deduplicated again with the same
    preference: latest-landed delivery, then the larger ingest_id.
-#}
with

prices as (

    select * from {{ ref('fct_prices') }}

),

daily_bars as (

    select *

    from prices
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

final as (

    select
        {{ marketlake.surrogate_key(['symbol', 'session_date']) }} as bar_key,
        symbol_key,
        date_key,
        symbol,
        session_date,
        ts_event,
        open,
        high,
        low,
        close,
        adj_close,
        volume,
        source,
        ingest_id,
        quality_flags

    from ranked
    where delivery_rank = 1

)

select * from final
