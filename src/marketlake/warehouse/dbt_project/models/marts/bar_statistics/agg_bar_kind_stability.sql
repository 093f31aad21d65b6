{#-
    One row per series (symbol x kind x threshold x source): how stable its weekly bar count
    and its monthly return variance are, and its returns overall.

    The coefficient of variation (sample std / mean) of the weekly counts compares kinds whose
    counts differ in scale; stability_rank orders a symbol's series by it (1 = the steadiest
    weekly count). The same is given for the monthly variance of returns: bars that sample the
    market by activity (volume, dollar) are expected to have steadier variances than time bars.
-#}
with

weekly as (

    select * from {{ ref('agg_bar_counts_weekly') }}

),

monthly as (

    select * from {{ ref('agg_bar_returns_monthly') }}

),

bars as (

    select * from {{ ref('fct_bars_info') }}

),

weekly_counts as (

    select
        series_key,
        symbol,
        kind,
        threshold,
        source,
        count(*) as weeks,
        cast(sum(bar_count) as {{ dbt.type_bigint() }}) as bar_count,
        min(week_start) as first_week,
        max(week_start) as last_week,
        avg(cast(bar_count as {{ marketlake.type_double() }})) as mean_weekly_count,
        stddev_samp(cast(bar_count as {{ marketlake.type_double() }})) as std_weekly_count,
        min(bar_count) as min_weekly_count,
        max(bar_count) as max_weekly_count

    from weekly
    group by series_key, symbol, kind, threshold, source

),

monthly_variances as (

    select
        series_key,
        count(variance_return) as months,
        avg(variance_return) as mean_monthly_variance,
        stddev_samp(variance_return) as std_monthly_variance

    from monthly
    group by series_key

),

returns as (

    select
        series_key,
        count(log_return) as return_count,
        avg(log_return) as mean_return,
        var_samp(log_return) as variance_return,
        stddev_samp(log_return) as std_return

    from bars
    group by series_key

),

final as (

    select
        weekly_counts.series_key,
        weekly_counts.symbol,
        weekly_counts.kind,
        weekly_counts.threshold,
        weekly_counts.source,
        weekly_counts.weeks,
        weekly_counts.bar_count,
        weekly_counts.first_week,
        weekly_counts.last_week,
        weekly_counts.mean_weekly_count,
        weekly_counts.std_weekly_count,
        weekly_counts.min_weekly_count,
        weekly_counts.max_weekly_count,
        weekly_counts.std_weekly_count / weekly_counts.mean_weekly_count as cv_weekly_count,
        rank() over (
            partition by weekly_counts.symbol
            order by
                weekly_counts.std_weekly_count / weekly_counts.mean_weekly_count asc nulls last
        ) as stability_rank,
        returns.return_count,
        returns.mean_return,
        returns.variance_return,
        returns.std_return,
        monthly_variances.months,
        monthly_variances.mean_monthly_variance,
        monthly_variances.std_monthly_variance,
        case
            when monthly_variances.mean_monthly_variance > 0
                then monthly_variances.std_monthly_variance
                / monthly_variances.mean_monthly_variance
        end as cv_monthly_variance

    from weekly_counts
    inner join returns
        on weekly_counts.series_key = returns.series_key
    left join monthly_variances
        on weekly_counts.series_key = monthly_variances.series_key

)

select * from final
