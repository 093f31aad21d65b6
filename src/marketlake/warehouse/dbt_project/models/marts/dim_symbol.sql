{#-
    Symbols, SCD type 2: one row per version of a symbol's reference data (snap_symbols), plus
    one row for every symbol with bars but no reference data (attributes 'unknown').

    valid_from is the vendor's as-of of the version and valid_to the as-of of the next one (null
    while current). Prices before a symbol's first as-of belong to its first version (see
    fct_prices): reference files describe symbols long after their history began.

    The bar statistics (first/last session, trading days, sources) are per symbol, repeated on
    each of its versions.
-#}
with

snapshot_versions as (

    select * from {{ ref('snap_symbols') }}

),

bars as (

    select * from {{ ref('stg_silver__bars') }}

),

symbol_sources as (

    select distinct
        symbol,
        source

    from bars

),

sources_per_symbol as (

    select
        symbol,
        {{ dbt.listagg('source', "','", 'order by source') }} as sources

    from symbol_sources
    group by symbol

),

sessions_per_symbol as (

    select
        symbol,
        min(session_date) as first_session_date,
        max(session_date) as last_session_date,
        count(distinct session_date) as trading_days

    from bars
    group by symbol

),

referenced as (

    select
        symbol,
        cast(dbt_valid_from as {{ marketlake.type_timestamp_tz() }}) as valid_from,
        cast(dbt_valid_to as {{ marketlake.type_timestamp_tz() }}) as valid_to,
        true as has_reference,
        symbol_name,
        asset_class,
        exchange,
        currency,
        sector,
        industry,
        ingest_id as reference_ingest_id

    from snapshot_versions

),

unreferenced as (

    select
        sessions_per_symbol.symbol,
        cast(null as {{ marketlake.type_timestamp_tz() }}) as valid_from,
        cast(null as {{ marketlake.type_timestamp_tz() }}) as valid_to,
        false as has_reference,
        cast(null as {{ dbt.type_string() }}) as symbol_name,
        cast(null as {{ dbt.type_string() }}) as asset_class,
        cast(null as {{ dbt.type_string() }}) as exchange,
        cast(null as {{ dbt.type_string() }}) as currency,
        cast(null as {{ dbt.type_string() }}) as sector,
        cast(null as {{ dbt.type_string() }}) as industry,
        cast(null as {{ dbt.type_string() }}) as reference_ingest_id

    from sessions_per_symbol
    where sessions_per_symbol.symbol not in (select symbol from snapshot_versions)

),

versions as (

    select * from referenced
    union all
    select * from unreferenced

),

numbered as (

    select
        *,
        row_number() over (partition by symbol order by valid_from) as version_number

    from versions

),

final as (

    select
        {{ marketlake.surrogate_key(['numbered.symbol', 'numbered.valid_from']) }} as symbol_key,
        numbered.symbol,
        numbered.version_number,
        numbered.valid_from,
        numbered.valid_to,
        numbered.valid_to is null as is_current,
        numbered.has_reference,
        numbered.symbol_name,
        coalesce(numbered.asset_class, 'unknown') as asset_class,
        coalesce(numbered.exchange, 'unknown') as exchange,
        coalesce(numbered.currency, 'unknown') as currency,
        coalesce(numbered.sector, 'unknown') as sector,
        coalesce(numbered.industry, 'unknown') as industry,
        numbered.reference_ingest_id,
        sessions_per_symbol.first_session_date,
        sessions_per_symbol.last_session_date,
        sessions_per_symbol.trading_days,
        sources_per_symbol.sources

    from numbered
    left join sessions_per_symbol
        on numbered.symbol = sessions_per_symbol.symbol
    left join sources_per_symbol
        on numbered.symbol = sources_per_symbol.symbol

)

select * from final
