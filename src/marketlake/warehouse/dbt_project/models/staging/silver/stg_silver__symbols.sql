{#-
    Silver reference data of symbols, typed, one row per (symbol, as_of).

    Reference deliveries accumulate (each is a dated description); when two deliveries describe
    a symbol as of the same instant, the latest-landed one wins (ties: the larger ingest_id), as
    in stg_silver__bars.
-#}
with

symbols as (

    select * from {{ source('silver', 'symbols') }}

),

ingests as (

    select * from {{ source('silver', 'ingests') }}

),

typed as (

    select
        cast(symbols.symbol as {{ dbt.type_string() }}) as symbol,
        cast(symbols.ts_event as {{ marketlake.type_timestamp_tz() }}) as as_of,
        cast(symbols.name as {{ dbt.type_string() }}) as symbol_name,
        cast(symbols.asset_class as {{ dbt.type_string() }}) as asset_class,
        cast(symbols.exchange as {{ dbt.type_string() }}) as exchange,
        cast(symbols.currency as {{ dbt.type_string() }}) as currency,
        cast(symbols.sector as {{ dbt.type_string() }}) as sector,
        cast(symbols.industry as {{ dbt.type_string() }}) as industry,
        cast(symbols.source as {{ dbt.type_string() }}) as source,
        cast(symbols.ingest_id as {{ dbt.type_string() }}) as ingest_id,
        cast(ingests.landed_at as {{ marketlake.type_timestamp_tz() }}) as ingest_landed_at

    from symbols
    left join ingests
        on symbols.ingest_id = ingests.ingest_id

),

ranked as (

    select
        *,
        row_number() over (
            partition by symbol, as_of
            order by ingest_landed_at desc nulls last, ingest_id desc
        ) as delivery_rank

    from typed

),

final as (

    select
        symbol,
        as_of,
        symbol_name,
        asset_class,
        exchange,
        currency,
        sector,
        industry,
        source,
        ingest_id,
        ingest_landed_at

    from ranked
    where delivery_rank = 1

)

select * from final
