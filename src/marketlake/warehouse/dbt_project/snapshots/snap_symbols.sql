{#-
    The history of every symbol's reference data (SCD type 2), read by dim_symbol.

    Each build captures the current description of every symbol. The timestamp strategy keys a
    version on the vendor's as-of time, so dbt_valid_from is when the vendor says the
    description became true, never the build time: building twice changes nothing, and a later
    delivery with a changed name or sector closes the old version at its as-of.

    A delivery that repeats a symbol's description with a later as-of is not a change: the
    captured as-of is that of the delivery that introduced the current description.

    marketlake rebuilds this history when the warehouse file is new (see
    marketlake.warehouse.build): it runs the snapshot once per as-of found in silver, oldest first.
-#}
{% snapshot snap_symbols %}

{{
    config(
        unique_key='symbol',
        strategy='timestamp',
        updated_at='as_of',
    )
}}

with

symbols as (

    select * from {{ ref('stg_silver__symbols') }}

),

described as (

    select
        *,
        {{ marketlake.surrogate_key([
            'symbol_name', 'asset_class', 'exchange', 'currency', 'sector', 'industry'
        ]) }} as description_hash

    from symbols

),

changes as (

    select
        *,
        lag(description_hash) over (partition by symbol order by as_of) as previous_hash

    from described

),

introductions as (

    select
        *,
        row_number() over (partition by symbol order by as_of desc) as recency

    from changes
    where previous_hash is null or previous_hash <> description_hash

),

final as (

    select
        symbol,
        as_of,
        symbol_name,
        asset_class,
        exchange,
        currency,
        sector,
        industry,
        source,
        ingest_id

    from introductions
    where recency = 1

)

select * from final

{% endsnapshot %}
