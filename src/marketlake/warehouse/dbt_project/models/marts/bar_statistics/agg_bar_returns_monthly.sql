{#-
    Log returns of complete bars per series (symbol x kind x threshold x source) and calendar
    month (UTC) of the bar that closes them: count, mean, sample variance and standard
    deviation.

    A return belongs to the month of its closing bar, even when the previous bar closed in the
    month before. Variance and standard deviation are sample statistics (n - 1), null for a
    month with fewer than two returns.
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
        log_return,
        {{ marketlake.truncate_date('month', 'bar_date') }} as month_start

    from bars
    where is_complete

),

final as (

    select
        series_key,
        symbol,
        kind,
        threshold,
        source,
        month_start,
        {{ marketlake.period_label('month', 'month_start') }} as period_label,
        count(*) as bar_count,
        count(log_return) as return_count,
        avg(log_return) as mean_return,
        var_samp(log_return) as variance_return,
        stddev_samp(log_return) as std_return,
        sum(log_return) as sum_return

    from complete_bars
    group by series_key, symbol, kind, threshold, source, month_start

)

select * from final
