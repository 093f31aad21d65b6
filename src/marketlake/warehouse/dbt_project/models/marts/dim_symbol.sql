{#- One row per symbol with bars of any interval. -#}
with

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

final as (

    select
        {{ marketlake.surrogate_key(['sessions_per_symbol.symbol']) }} as symbol_key,
        sessions_per_symbol.symbol,
        sessions_per_symbol.first_session_date,
        sessions_per_symbol.last_session_date,
        sessions_per_symbol.trading_days,
        sources_per_symbol.sources

    from sessions_per_symbol
    inner join sources_per_symbol
        on sessions_per_symbol.symbol = sources_per_symbol.symbol

)

select * from final
