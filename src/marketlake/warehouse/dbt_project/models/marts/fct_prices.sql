{#-
    Prices: one row per symbol x bar_interval x ts_event, every interval silver holds.

    The row is the latest-landed delivery's (stg_silver__bars). Keys:
    - symbol_key: the dim_symbol version valid at ts_event (valid_from <= ts_event < valid_to);
      prices before a symbol's first as-of take its first version, since reference files
      describe symbols long after their history began;
    - date_key: the session date (dim_date);
    - source_key: the source of the row (dim_source).
-#}
with

bars as (

    select * from {{ ref('stg_silver__bars') }}

),

symbols as (

    select * from {{ ref('dim_symbol') }}

),

sources as (

    select * from {{ ref('dim_source') }}

),

with_symbol as (

    select
        bars.*,
        symbols.symbol_key

    from bars
    left join symbols
        on bars.symbol = symbols.symbol
        and (bars.ts_event >= symbols.valid_from or symbols.version_number = 1)
        and (bars.ts_event < symbols.valid_to or symbols.valid_to is null)

),

final as (

    select
        {{ marketlake.surrogate_key(['with_symbol.symbol', 'with_symbol.bar_interval', 'with_symbol.ts_event']) }} as price_key,
        with_symbol.symbol_key,
        {{ marketlake.date_key('with_symbol.session_date') }} as date_key,
        sources.source_key,
        with_symbol.symbol,
        with_symbol.bar_interval,
        with_symbol.ts_event,
        with_symbol.session_date,
        with_symbol.open,
        with_symbol.high,
        with_symbol.low,
        with_symbol.close,
        with_symbol.volume,
        with_symbol.vwap,
        with_symbol.trade_count,
        with_symbol.adj_close,
        with_symbol.dividend,
        with_symbol.split_factor,
        with_symbol.source,
        with_symbol.ingest_id,
        with_symbol.ingest_landed_at,
        with_symbol.quality_flags

    from with_symbol
    left join sources
        on with_symbol.source = sources.source

)

select * from final
