{#-
    Silver bars, typed, one row per (symbol, bar_interval, ts_event).

    Two different deliveries may hold the same bar (two CSV exports of one symbol whose date
    ranges overlap); the row of the latest-landed delivery wins, ties broken by the larger
    ingest_id, so the choice does not depend on file order.
-#}
with

bars as (

    select * from {{ source('silver', 'bars') }}

),

ingests as (

    select * from {{ source('silver', 'ingests') }}

),

typed as (

    select
        cast(bars.symbol as {{ dbt.type_string() }}) as symbol,
        cast(bars.{{ adapter.quote('interval') }} as {{ dbt.type_string() }}) as bar_interval,
        cast(bars.ts_event as {{ marketlake.type_timestamp_tz() }}) as ts_event,
        cast(bars.session_date as date) as session_date,
        cast(bars.open as {{ marketlake.type_double() }}) as open,
        cast(bars.high as {{ marketlake.type_double() }}) as high,
        cast(bars.low as {{ marketlake.type_double() }}) as low,
        cast(bars.close as {{ marketlake.type_double() }}) as close,
        cast(bars.volume as {{ marketlake.type_double() }}) as volume,
        cast(bars.vwap as {{ marketlake.type_double() }}) as vwap,
        cast(bars.trade_count as {{ dbt.type_bigint() }}) as trade_count,
        cast(bars.adj_close as {{ marketlake.type_double() }}) as adj_close,
        cast(bars.dividend as {{ marketlake.type_double() }}) as dividend,
        cast(bars.split_factor as {{ marketlake.type_double() }}) as split_factor,
        cast(bars.source as {{ dbt.type_string() }}) as source,
        cast(bars.ingest_id as {{ dbt.type_string() }}) as ingest_id,
        cast(ingests.landed_at as {{ marketlake.type_timestamp_tz() }}) as ingest_landed_at,
        cast(bars.quality_flags as {{ dbt.type_string() }}) as quality_flags

    from bars
    left join ingests
        on bars.ingest_id = ingests.ingest_id

),

ranked as (

    select
        *,
        row_number() over (
            partition by symbol, bar_interval, ts_event
            order by ingest_landed_at desc nulls last, ingest_id desc
        ) as delivery_rank

    from typed

),

final as (

    select
        symbol,
        bar_interval,
        ts_event,
        session_date,
        open,
        high,
        low,
        close,
        volume,
        vwap,
        trade_count,
        adj_close,
        dividend,
        split_factor,
        source,
        ingest_id,
        ingest_landed_at,
        quality_flags

    from ranked
    where delivery_rank = 1

)

select * from final
