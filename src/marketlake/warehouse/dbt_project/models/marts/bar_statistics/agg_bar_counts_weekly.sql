{#-
    Complete bars per series (symbol x kind x threshold x source) and ISO week of their close
    (UTC).

    A week in which the symbol has bars of some series but none of this one counts 0 for this
    one (within the series' own first..last week): a dollar bar too big to close in a quiet
    week is exactly the instability these counts measure. Weeks without any bar of the symbol
    (holidays, gaps in the data) are left out for every series alike.
-#}
with

bars as (

    select * from {{ ref('fct_bars_info') }}

),

complete_bars as (

    select
        series_key,
        symbol,
        kind,
        threshold,
        source,
        ts_end,
        volume,
        dollar_value,
        tick_count,
        {{ marketlake.truncate_date('week', 'bar_date') }} as week_start

    from bars
    where is_complete

),

series_weeks as (

    select
        series_key,
        symbol,
        kind,
        threshold,
        source,
        week_start,
        count(*) as bar_count,
        sum(volume) as volume,
        sum(dollar_value) as dollar_value,
        -- Sums of bigints widen (HUGEINT on DuckDB, NUMERIC on PostgreSQL): keep them bigint.
        cast(sum(tick_count) as {{ dbt.type_bigint() }}) as tick_count,
        min(ts_end) as first_bar_end,
        max(ts_end) as last_bar_end

    from complete_bars
    group by series_key, symbol, kind, threshold, source, week_start

),

symbol_weeks as (

    select distinct
        symbol,
        week_start

    from series_weeks

),

series_spans as (

    select
        series_key,
        symbol,
        kind,
        threshold,
        source,
        min(week_start) as first_week,
        max(week_start) as last_week

    from series_weeks
    group by series_key, symbol, kind, threshold, source

),

grid as (

    select
        series_spans.series_key,
        series_spans.symbol,
        series_spans.kind,
        series_spans.threshold,
        series_spans.source,
        symbol_weeks.week_start

    from series_spans
    inner join symbol_weeks
        on series_spans.symbol = symbol_weeks.symbol
        and symbol_weeks.week_start between series_spans.first_week and series_spans.last_week

),

final as (

    select
        grid.series_key,
        grid.symbol,
        grid.kind,
        grid.threshold,
        grid.source,
        grid.week_start,
        {{ marketlake.iso_year('grid.week_start') }} as iso_year,
        {{ marketlake.iso_week('grid.week_start') }} as iso_week,
        {{ marketlake.period_label('week', 'grid.week_start') }} as period_label,
        coalesce(series_weeks.bar_count, 0) as bar_count,
        coalesce(series_weeks.volume, 0) as volume,
        coalesce(series_weeks.dollar_value, 0) as dollar_value,
        coalesce(series_weeks.tick_count, 0) as tick_count,
        series_weeks.first_bar_end,
        series_weeks.last_bar_end

    from grid
    left join series_weeks
        on grid.series_key = series_weeks.series_key
        and grid.week_start = series_weeks.week_start

)

select * from final
