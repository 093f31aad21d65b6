{#-
    One row per calendar day from the first to the last session date of any bar, with the
    exchange's trading calendar (warehouse.gold.calendar): trading day or not, early close,
    session open/close in UTC, previous/next trading day, and the trading day number.

    trading_day_number counts the exchange's trading days from the first day of the table: 1 on
    the first trading day; a non-trading day carries the number of the trading day before it
    (0 before the first), so the difference of two numbers is the sessions between two dates.
-#}
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

trading_calendar as (

    select * from {{ ref('stg_silver__trading_calendar') }}

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
        session_dates.session_date is not null as has_bars,
        trading_calendar.trading_calendar,
        trading_calendar.is_trading_day,
        trading_calendar.is_early_close,
        trading_calendar.session_open_utc,
        trading_calendar.session_close_utc,
        trading_calendar.previous_trading_day,
        trading_calendar.next_trading_day,
        cast(
            sum(case when trading_calendar.is_trading_day then 1 else 0 end) over (
                order by calendar.date_day
                rows between unbounded preceding and current row
            ) as {{ dbt.type_int() }}
        ) as trading_day_number

    from calendar
    left join session_dates
        on calendar.date_day = session_dates.session_date
    left join trading_calendar
        on calendar.date_day = trading_calendar.calendar_date

)

select * from final
