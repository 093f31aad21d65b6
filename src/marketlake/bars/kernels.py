"""numba kernels of the bar rules: NumPy arrays in, NumPy arrays out, state carried in arrays.

Each kernel walks trades in time order from ``start`` and writes the bars it *closes* into
preallocated output rows (``out_i``: ts_start, ts_end, tick_count; ``out_f``: open, high, low,
close, volume, dollar_value[, bar_threshold]). The bar still open when the input runs out stays
in the state arrays, so the next chunk continues it: chunked input gives the same bars as the
whole input at once. A kernel also stops early when the output is full and returns where it
stopped; the caller grows the output and calls again (see ``accumulator.py``).

Arithmetic is plain IEEE double in trade order (no fastmath), so the results equal, bit for bit,
those of the loops in ``reference.py``.
"""

from __future__ import annotations

import numpy as np
from numba import njit

# state_f: the open bar's floats; state_i: its integers. tick_count == 0 means no open bar.
F_OPEN, F_HIGH, F_LOW, F_CLOSE, F_VOLUME, F_DOLLAR = 0, 1, 2, 3, 4, 5
I_TS_START, I_TS_END, I_COUNT = 0, 1, 2
N_STATE_F, N_STATE_I = 6, 3

# time bars: the open bar's bucket (ts // interval) is kept after the standard integers.
I_BUCKET = 3
N_TIME_STATE_I = 4

# imbalance bars: more floats after the standard six, and the ticks seen so far.
F_THETA, F_BAR_THRESHOLD, F_LAST_PRICE, F_LAST_SIGN = 6, 7, 8, 9
F_BV_NUM, F_BV_DEN, F_T_NUM, F_T_DEN = 10, 11, 12, 13
N_IMB_STATE_F = 14
I_TICKS_SEEN = 3
N_IMB_STATE_I = 4

N_OUT_I = 3  # ts_start, ts_end, tick_count
N_OUT_F = 7  # open, high, low, close, volume, dollar_value, bar_threshold

MODE_TICK, MODE_VOLUME, MODE_DOLLAR = 0, 1, 2


def new_state(kind: str) -> tuple[np.ndarray, np.ndarray]:
    """Fresh (float, int) state arrays of a kernel: no open bar, nothing seen."""
    if kind == "imbalance":
        state_f = np.zeros(N_IMB_STATE_F)
        state_f[F_BAR_THRESHOLD] = np.nan  # no threshold until the warm-up is over
        return state_f, np.zeros(N_IMB_STATE_I, dtype=np.int64)
    if kind == "time":
        return np.zeros(N_STATE_F), np.zeros(N_TIME_STATE_I, dtype=np.int64)
    return np.zeros(N_STATE_F), np.zeros(N_STATE_I, dtype=np.int64)


@njit(cache=True, nogil=True)
def threshold_kernel(  # type: ignore[no-untyped-def]  # noqa: PLR0917  (numba: positional)
    ts, price, size, mode, threshold, state_f, state_i, out_i, out_f, start
):
    """Tick / volume / dollar bars with the exact close rule (see ``marketlake.bars``).

    Returns:
        (index of the first trade not consumed, number of bars written).
    """
    n = ts.shape[0]
    cap = out_i.shape[0]
    o = state_f[F_OPEN]
    h = state_f[F_HIGH]
    lo = state_f[F_LOW]
    c = state_f[F_CLOSE]
    v = state_f[F_VOLUME]
    d = state_f[F_DOLLAR]
    t0 = state_i[I_TS_START]
    t1 = state_i[I_TS_END]
    k = state_i[I_COUNT]
    nb = 0
    i = start
    while i < n:
        if nb == cap:
            break
        p = price[i]
        s = size[i]
        if k == 0:
            o = p
            h = p
            lo = p
            v = 0.0
            d = 0.0
            t0 = ts[i]
        else:
            h = max(h, p)
            lo = min(lo, p)
        c = p
        t1 = ts[i]
        k += 1
        v += s
        d += p * s
        if mode == MODE_TICK:
            reached = k >= threshold
        elif mode == MODE_VOLUME:
            reached = v >= threshold
        else:
            reached = d >= threshold
        if reached:
            out_i[nb, 0] = t0
            out_i[nb, 1] = t1
            out_i[nb, 2] = k
            out_f[nb, 0] = o
            out_f[nb, 1] = h
            out_f[nb, 2] = lo
            out_f[nb, 3] = c
            out_f[nb, 4] = v
            out_f[nb, 5] = d
            out_f[nb, 6] = threshold
            nb += 1
            k = 0
        i += 1
    state_f[F_OPEN] = o
    state_f[F_HIGH] = h
    state_f[F_LOW] = lo
    state_f[F_CLOSE] = c
    state_f[F_VOLUME] = v
    state_f[F_DOLLAR] = d
    state_i[I_TS_START] = t0
    state_i[I_TS_END] = t1
    state_i[I_COUNT] = k
    return i, nb


@njit(cache=True, nogil=True)
def time_kernel(  # type: ignore[no-untyped-def]  # noqa: PLR0917
    ts, price, size, interval, state_f, state_i, out_i, out_f, start
):
    """Time bars: a bar holds the trades of one ``interval``-ns bucket (``ts // interval``).

    A bar closes when a trade of a later bucket arrives, so it is written *before* that trade
    is taken; empty buckets give no bar. ``bar_threshold`` is NaN (time bars have none).

    Returns:
        (index of the first trade not consumed, number of bars written).
    """
    n = ts.shape[0]
    cap = out_i.shape[0]
    o = state_f[F_OPEN]
    h = state_f[F_HIGH]
    lo = state_f[F_LOW]
    c = state_f[F_CLOSE]
    v = state_f[F_VOLUME]
    d = state_f[F_DOLLAR]
    t0 = state_i[I_TS_START]
    t1 = state_i[I_TS_END]
    k = state_i[I_COUNT]
    bucket = state_i[I_BUCKET]
    # t // interval != bucket  <=>  t outside [lo, hi): two compares instead of a division.
    lo_t = bucket * interval
    hi_t = lo_t + interval
    nb = 0
    i = start
    while i < n:
        t = ts[i]
        if k > 0 and (t < lo_t or t >= hi_t):
            if nb == cap:
                break
            out_i[nb, 0] = t0
            out_i[nb, 1] = t1
            out_i[nb, 2] = k
            out_f[nb, 0] = o
            out_f[nb, 1] = h
            out_f[nb, 2] = lo
            out_f[nb, 3] = c
            out_f[nb, 4] = v
            out_f[nb, 5] = d
            out_f[nb, 6] = np.nan
            nb += 1
            k = 0
        p = price[i]
        s = size[i]
        if k == 0:
            o = p
            h = p
            lo = p
            v = 0.0
            d = 0.0
            t0 = t
            bucket = t // interval
            lo_t = bucket * interval
            hi_t = lo_t + interval
        else:
            h = max(h, p)
            lo = min(lo, p)
        c = p
        t1 = t
        k += 1
        v += s
        d += p * s
        i += 1
    state_f[F_OPEN] = o
    state_f[F_HIGH] = h
    state_f[F_LOW] = lo
    state_f[F_CLOSE] = c
    state_f[F_VOLUME] = v
    state_f[F_DOLLAR] = d
    state_i[I_TS_START] = t0
    state_i[I_TS_END] = t1
    state_i[I_COUNT] = k
    state_i[I_BUCKET] = bucket
    return i, nb


@njit(cache=True, nogil=True)
def imbalance_kernel(  # type: ignore[no-untyped-def]  # noqa: PLR0917
    ts,
    price,
    size,
    alpha_ticks,
    alpha_bars,
    warmup,
    expected_ticks_init,
    expected_ticks_min,
    expected_ticks_max,
    state_f,
    state_i,
    out_i,
    out_f,
    start,
):
    """Tick-rule volume imbalance bars (AFML ch. 2; parameters in ``imbalance.py``).

    Returns:
        (index of the first trade not consumed, number of bars written).
    """
    n = ts.shape[0]
    cap = out_i.shape[0]
    o = state_f[F_OPEN]
    h = state_f[F_HIGH]
    lo = state_f[F_LOW]
    c = state_f[F_CLOSE]
    v = state_f[F_VOLUME]
    d = state_f[F_DOLLAR]
    theta = state_f[F_THETA]
    bar_threshold = state_f[F_BAR_THRESHOLD]
    last_price = state_f[F_LAST_PRICE]
    last_sign = state_f[F_LAST_SIGN]
    bv_num = state_f[F_BV_NUM]
    bv_den = state_f[F_BV_DEN]
    t_num = state_f[F_T_NUM]
    t_den = state_f[F_T_DEN]
    t0 = state_i[I_TS_START]
    t1 = state_i[I_TS_END]
    k = state_i[I_COUNT]
    seen = state_i[I_TICKS_SEEN]
    keep_ticks = 1.0 - alpha_ticks
    keep_bars = 1.0 - alpha_bars
    nb = 0
    i = start
    while i < n:
        if nb == cap:
            break
        p = price[i]
        s = size[i]
        if seen > 0:
            if p > last_price:
                last_sign = 1.0
            elif p < last_price:
                last_sign = -1.0
        last_price = p
        x = last_sign * s
        bv_num = x + keep_ticks * bv_num
        bv_den = 1.0 + keep_ticks * bv_den
        seen += 1
        if k == 0:
            o = p
            h = p
            lo = p
            v = 0.0
            d = 0.0
            theta = 0.0
            t0 = ts[i]
        else:
            h = max(h, p)
            lo = min(lo, p)
        c = p
        t1 = ts[i]
        k += 1
        v += s
        d += p * s
        theta += x
        if seen >= warmup and np.isnan(bar_threshold):
            bar_threshold = expected_ticks_init * abs(bv_num / bv_den)
        if not np.isnan(bar_threshold) and abs(theta) > bar_threshold:
            out_i[nb, 0] = t0
            out_i[nb, 1] = t1
            out_i[nb, 2] = k
            out_f[nb, 0] = o
            out_f[nb, 1] = h
            out_f[nb, 2] = lo
            out_f[nb, 3] = c
            out_f[nb, 4] = v
            out_f[nb, 5] = d
            out_f[nb, 6] = bar_threshold
            nb += 1
            t_num = k + keep_bars * t_num
            t_den = 1.0 + keep_bars * t_den
            expected = t_num / t_den
            if expected < expected_ticks_min:
                expected = expected_ticks_min
            elif expected > expected_ticks_max:
                expected = expected_ticks_max
            bar_threshold = expected * abs(bv_num / bv_den)
            k = 0
        i += 1
    state_f[F_OPEN] = o
    state_f[F_HIGH] = h
    state_f[F_LOW] = lo
    state_f[F_CLOSE] = c
    state_f[F_VOLUME] = v
    state_f[F_DOLLAR] = d
    state_f[F_THETA] = theta
    state_f[F_BAR_THRESHOLD] = bar_threshold
    state_f[F_LAST_PRICE] = last_price
    state_f[F_LAST_SIGN] = last_sign
    state_f[F_BV_NUM] = bv_num
    state_f[F_BV_DEN] = bv_den
    state_f[F_T_NUM] = t_num
    state_f[F_T_DEN] = t_den
    state_i[I_TS_START] = t0
    state_i[I_TS_END] = t1
    state_i[I_COUNT] = k
    state_i[I_TICKS_SEEN] = seen
    return i, nb
