{#- Calendar expressions in portable SQL (extract and case work the same on every engine). -#}

{#- A calendar part (year, quarter, month, day) of a date as an integer. -#}
{% macro date_part_int(datepart, date) -%}
    cast(extract({{ datepart }} from {{ date }}) as integer)
{%- endmacro %}

{#- The integer key yyyymmdd of a date: 2024-01-31 -> 20240131. -#}
{% macro date_key(date) -%}
    cast(
        {{ marketlake.date_part_int('year', date) }} * 10000
        + {{ marketlake.date_part_int('month', date) }} * 100
        + {{ marketlake.date_part_int('day', date) }}
        as integer
    )
{%- endmacro %}

{#- English month name of a month number 1-12 (engines spell and localise names differently). -#}
{% macro month_name(month_number) -%}
    {%- set names = ['January', 'February', 'March', 'April', 'May', 'June', 'July',
                     'August', 'September', 'October', 'November', 'December'] -%}
    case {{ month_number }}
        {%- for name in names %}
        when {{ loop.index }} then '{{ name }}'
        {%- endfor %}
    end
{%- endmacro %}

{#- English day name of an ISO day of week 1 (Monday) - 7 (Sunday). -#}
{% macro day_name(iso_day_of_week) -%}
    {%- set names = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday',
                     'Sunday'] -%}
    case {{ iso_day_of_week }}
        {%- for name in names %}
        when {{ loop.index }} then '{{ name }}'
        {%- endfor %}
    end
{%- endmacro %}

{#- An integer as text, left-padded with zeros to `width` digits. -#}
{% macro zero_pad(number, width) -%}
    lpad(cast({{ number }} as {{ dbt.type_string() }}), {{ width }}, '0')
{%- endmacro %}

{#-
    The label of the period holding a date: '2024-W05' (ISO year and week), '2024-01',
    '2024-Q1', '2024'.
-#}
{% macro period_label(period, date) -%}
    {%- if period == 'week' -%}
        cast({{ marketlake.iso_year(date) }} as {{ dbt.type_string() }})
        || '-W' || {{ marketlake.zero_pad(marketlake.iso_week(date), 2) }}
    {%- elif period == 'month' -%}
        cast({{ marketlake.date_part_int('year', date) }} as {{ dbt.type_string() }})
        || '-' || {{ marketlake.zero_pad(marketlake.date_part_int('month', date), 2) }}
    {%- elif period == 'quarter' -%}
        cast({{ marketlake.date_part_int('year', date) }} as {{ dbt.type_string() }})
        || '-Q' || cast({{ marketlake.date_part_int('quarter', date) }} as {{ dbt.type_string() }})
    {%- elif period == 'year' -%}
        cast({{ marketlake.date_part_int('year', date) }} as {{ dbt.type_string() }})
    {%- else -%}
        {{ exceptions.raise_compiler_error("unknown period '" ~ period ~ "'") }}
    {%- endif -%}
{%- endmacro %}
