{#-
    One row per source of data: every source marketlake has a reader for, plus any other source
    name found in silver or the bronze manifest (so a fact never points at a missing source).
    Delivery counts and landing times come from the bronze manifest.
-#}
{%- set known_sources = [
    ('csv_daily', 'file', 'Yahoo-style daily OHLCV CSV exports'),
    ('hdf5_ticks', 'file', 'HDF5 tick files (pandas HDFStore, PyTables, h5py)'),
    ('polygon', 'object store', 'Polygon/Massive flat files (S3): trades, quotes, aggregates'),
    ('alphavantage', 'api', 'Alpha Vantage REST API (daily and weekly adjusted series)'),
    ('s3_json', 'object store', 'JSON records dropped into S3 by another system'),
    ('reference', 'file', 'Reference data of symbols (CSV or JSON): name, sector, ...'),
] -%}
with

bars as (

    select * from {{ ref('stg_silver__bars') }}

),

ingests as (

    select * from {{ ref('stg_silver__ingests') }}

),

known as (

    {%- for name, kind, description in known_sources %}
    select
        '{{ name }}' as source,
        '{{ kind }}' as source_kind,
        '{{ description }}' as description
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}

),

found as (

    select distinct source from bars
    union
    select distinct source from ingests

),

all_sources as (

    select
        found.source,
        cast(null as {{ dbt.type_string() }}) as source_kind,
        cast(null as {{ dbt.type_string() }}) as description

    from found
    where found.source not in (select source from known)

    union all

    select * from known

),

deliveries as (

    select
        source,
        count(*) as deliveries,
        min(landed_at) as first_landed_at,
        max(landed_at) as last_landed_at

    from ingests
    group by source

),

final as (

    select
        {{ marketlake.surrogate_key(['all_sources.source']) }} as source_key,
        all_sources.source,
        coalesce(all_sources.source_kind, 'unknown') as source_kind,
        all_sources.description,
        coalesce(deliveries.deliveries, 0) as deliveries,
        deliveries.first_landed_at,
        deliveries.last_landed_at

    from all_sources
    left join deliveries
        on all_sources.source = deliveries.source

)

select * from final
