{#-
    Information-driven and time bars, one row per bar, numbered within their series, with the
    log return close-to-close.

    A series is one symbol x kind x threshold x source (the trades the bars were built from,
    as the bars step names its runs): returns never cross series. Bars are numbered
    by close time (ts_end), ties broken by every other bar column so the numbering does not
    depend on file order. The return of a complete bar is ln(close / close of the previous
    complete bar of the series); the first bar of a series and incomplete bars (still open when
    the trades ran out) have none. bar_date is the UTC date of ts_end (the warehouse session
    runs in UTC): weeks and months of these marts are UTC calendar periods.
-#}
with

bars as (

    select * from {{ ref('stg_silver__bars_info') }}

),

numbered as (

    select
        *,
        row_number() over (
            partition by symbol, kind, threshold, source
            order by ts_end, ts_start, open, high, low, close, volume, tick_count
        ) as bar_number

    from bars

),

with_previous as (

    select
        *,
        -- Partitioning by is_complete too makes lag() skip incomplete bars.
        lag(close) over (
            partition by symbol, kind, threshold, source, is_complete
            order by bar_number
        ) as previous_close

    from numbered

),

final as (

    select
        {{ marketlake.surrogate_key(
            ['symbol', 'kind', marketlake.key_number('threshold'), 'source', 'bar_number']
        ) }} as bar_key,
        {{ marketlake.surrogate_key(
            ['symbol', 'kind', marketlake.key_number('threshold'), 'source']
        ) }} as series_key,
        symbol,
        kind,
        threshold,
        bar_number,
        ts_start,
        ts_end,
        cast(ts_end as date) as bar_date,
        open,
        high,
        low,
        close,
        volume,
        dollar_value,
        vwap,
        tick_count,
        is_complete,
        bar_threshold,
        source,
        case when is_complete then previous_close end as previous_close,
        case
            when is_complete and previous_close > 0 and close > 0
                then ln(close / previous_close)
        end as log_return

    from with_previous

)

select * from final
