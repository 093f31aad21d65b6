{#- One row per calendar day from the first to the last session date of any bar. -#}
with

bars as (

    select * from {{ ref('stg_silver__bars') }}

),

bounds as (

    select
        min(session_date) as first_day,
        max(session_date) as last_day

    from bars

),

spine as (

    {{ marketlake.date_spine(
        '(select first_day from bounds)',
        '(select last_day from bounds)'
    ) }}

),

session_dates as (

    select distinct session_date

    from bars

),

calendar as (

    select
        date_day,
        {{ marketlake.date_part_int('year', 'date_day') }} as year,
        {{ marketlake.date_part_int('quarter', 'date_day') }} as quarter,
        {{ marketlake.date_part_int('month', 'date_day') }} as month,
        {{ marketlake.date_part_int('day', 'date_day') }} as day_of_month,
        {{ marketlake.iso_day_of_week('date_day') }} as day_of_week,
        {{ marketlake.iso_year('date_day') }} as iso_year,
        {{ marketlake.iso_week('date_day') }} as iso_week,
        {{ marketlake.truncate_date('week', 'date_day') }} as week_start,
        {{ marketlake.truncate_date('month', 'date_day') }} as month_start,
        {{ marketlake.truncate_date('quarter', 'date_day') }} as quarter_start,
        {{ marketlake.truncate_date('year', 'date_day') }} as year_start

    from spine

),

final as (

    select
        {{ marketlake.date_key('calendar.date_day') }} as date_key,
        calendar.date_day,
        calendar.year,
        calendar.quarter,
        calendar.month,
        {{ marketlake.month_name('calendar.month') }} as month_name,
        calendar.day_of_month,
        calendar.day_of_week,
        {{ marketlake.day_name('calendar.day_of_week') }} as day_name,
        calendar.iso_year,
        calendar.iso_week,
        calendar.week_start,
        calendar.month_start,
        calendar.quarter_start,
        calendar.year_start,
        calendar.day_of_week in (6, 7) as is_weekend,
        session_dates.session_date is not null as has_bars

    from calendar
    left join session_dates
        on calendar.date_day = session_dates.session_date

)

select * from final
