#!/usr/bin/env python3
"""Builds Munin's compact offline time-zone table from the timezone-boundary-builder polygons that the
`timezonefinder-data` package ships (ODbL; see Sources/CTimeZoneTable/README.md).

Run from the repository root with the project venv (timezonefinder in it):

    .venv/bin/pip install -r scripts/tz/requirements.txt
    .venv/bin/python scripts/tz/build_table.py /tmp/zones.bin
    gzip -9 -n -c /tmp/zones.bin > Sources/CTimeZoneTable/ZoneTable.c.bin
    touch Sources/CTimeZoneTable/ZoneTable.c

What it writes (all integers little-endian):

    "ODTZ" u16 version=1 u16 cells-per-degree (64) u16 fill (pixels) u16 zone count
    u32 length + zone names joined by "\n" (index 0..count-1)
    u32 length + source description (UTF-8)
    u32 node count, then u16 nodes: for each 1°×1° cell, rows from 90°N southwards, columns from 180°W eastwards,
    a quadtree in preorder over the cell's 64×64 grid: a node is a zone index, or 0xFFFF followed by its four
    children (north-west, north-east, south-west, south-east).

The grid's value at each 1/64° pixel is the zone of the pixel centre (even-odd rule over each zone's polygon and
holes), so the table answers like the polygons except within about half a pixel (≈0.9 km) of a boundary. One
deliberate difference: sea pixels (`Etc/GMT±N`) within FILL pixels (≈14 km) of land take the nearest land zone,
because a camera on a shore whose GPS fix lands in the water still keeps its land clock.
"""
import struct
import sys

import numpy as np
from scipy import ndimage
import timezonefinder

RES = 64                      # pixels per degree
ROWS, COLS = 180 * RES, 360 * RES
SCALE = 10_000_000            # timezonefinder stores degrees × 1e7 as int32
HALF = SCALE // RES // 2      # 78125: half a pixel in those units
FILL = 8                      # sea pixels this close to land take the land zone


def crossings(rings):
    """(row, x) of every crossing of a pixel-row centre line by the rings' edges (half-open in y)."""
    x0 = np.concatenate([r[0] for r in rings]).astype(np.int64)
    y0 = np.concatenate([r[1] for r in rings]).astype(np.int64)
    x1 = np.concatenate([np.roll(r[0], -1) for r in rings]).astype(np.int64)
    y1 = np.concatenate([np.roll(r[1], -1) for r in rings]).astype(np.int64)
    keep = y0 != y1
    x0, y0, x1, y1 = x0[keep], y0[keep], x1[keep], y1[keep]
    top = 90 * SCALE
    a = top - np.maximum(y0, y1)
    b = top - np.minimum(y0, y1)
    # row r's centre is top - (2r+1)·HALF; it lies in [ymin, ymax) when a < (2r+1)·HALF <= b
    r_lo = np.floor_divide(a - HALF, 2 * HALF) + 1
    r_hi = np.floor_divide(b - HALF, 2 * HALF)
    r_lo = np.maximum(r_lo, 0)
    r_hi = np.minimum(r_hi, ROWS - 1)
    n = np.maximum(r_hi - r_lo + 1, 0)
    edge = np.repeat(np.arange(len(n)), n)
    first = np.repeat(np.cumsum(n) - n, n)
    rows = r_lo[edge] + (np.arange(len(edge)) - first)
    yc = top - (2 * rows + 1) * HALF
    xs = x0[edge] + (yc - y0[edge]) * (x1[edge] - x0[edge]) / (y1[edge] - y0[edge])
    return rows, xs


def rasterize(tf):
    """Zone index + 1 per pixel (0: no polygon), int16, rows from the north."""
    diff = np.zeros((ROWS, COLS + 1), dtype=np.int16)
    cover = np.zeros((ROWS, COLS + 1), dtype=np.int8)
    names = list(tf.timezone_names)
    for p in range(tf.nr_of_polygons):
        rings = [tf.coords_of(p)] + list(tf._holes_of_poly(p))
        rows, xs = crossings(rings)
        if len(rows) == 0:
            continue
        order = np.lexsort((xs, rows))
        rows, xs = rows[order], xs[order]
        assert len(rows) % 2 == 0 and np.all(rows[0::2] == rows[1::2]), f"polygon {p}: odd crossings"
        start = np.ceil((xs[0::2] + 180 * SCALE - HALF) / (2 * HALF)).astype(np.int64)
        end = np.ceil((xs[1::2] + 180 * SCALE - HALF) / (2 * HALF)).astype(np.int64)
        start, end = np.clip(start, 0, COLS), np.clip(end, 0, COLS)
        r = rows[0::2]
        keep = end > start
        value = np.int16(tf.zone_id_of(p) + 1)
        np.add.at(diff, (r[keep], start[keep]), value)
        np.add.at(diff, (r[keep], end[keep]), -value)
        np.add.at(cover, (r[keep], start[keep]), 1)
        np.add.at(cover, (r[keep], end[keep]), -1)
        if p % 200 == 0:
            print(f"  polygon {p}/{tf.nr_of_polygons}", file=sys.stderr)
    grid = np.cumsum(diff, axis=1, dtype=np.int16)[:, :COLS]
    del diff
    overlap = np.cumsum(cover, axis=1, dtype=np.int8)[:, :COLS] > 1
    del cover
    # Some published polygons overlap (disputed or shared areas): there the pixel takes timezonefinder's own answer.
    rows, cols = np.nonzero(overlap)
    print(f"  {len(rows)} pixels covered twice: asking timezonefinder", file=sys.stderr)
    index = {name: i for i, name in enumerate(names)}
    for r, c in zip(rows, cols):
        name = tf.timezone_at(lng=-180 + (c + 0.5) / RES, lat=90 - (r + 0.5) / RES)
        grid[r, c] = index[name] + 1 if name else 0
    bad = (grid < 0) | (grid > len(names))
    assert not bad.any(), f"{bad.sum()} pixels outside the zone range"
    return grid, names


def fill(grid, names):
    """Pixels outside every polygon take the nearest zone; sea near land takes the nearest land zone."""
    sea_ids = np.array([0] + [1 if n.startswith("Etc/") else 0 for n in names], dtype=bool)
    out = np.empty((ROWS, COLS), dtype=np.int16)
    margin = FILL + 2
    for r0 in range(0, ROWS, RES):
        lo, hi = max(0, r0 - margin * 4), min(ROWS, r0 + RES + margin * 4)
        band = grid[lo:hi].copy()
        empty = band == 0
        if empty.any():
            _, (ri, ci) = ndimage.distance_transform_edt(empty, return_indices=True)
            band = band[ri, ci]
        sea = sea_ids[band]
        if sea.any() and not sea.all():
            dist, (ri, ci) = ndimage.distance_transform_edt(sea, return_indices=True)
            near = sea & (dist <= FILL)
            band[near] = band[ri[near], ci[near]]
        out[r0:r0 + RES] = band[r0 - lo:r0 - lo + RES]
    return out - 1  # zone index, 0-based


def quadtree(block, out):
    first = block[0, 0]
    if (block == first).all():
        out.append(int(first))
        return
    out.append(0xFFFF)
    h = block.shape[0] // 2
    for child in (block[:h, :h], block[:h, h:], block[h:, :h], block[h:, h:]):
        quadtree(child, out)


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: build_table.py OUTPUT.bin")
    tf = timezonefinder.TimezoneFinder()
    print(f"rasterizing {tf.nr_of_polygons} polygons at 1/{RES} degree", file=sys.stderr)
    grid, names = rasterize(tf)
    grid = fill(grid, names)
    print("building quadtrees", file=sys.stderr)
    nodes = []
    for tr in range(180):
        for tc in range(360):
            quadtree(grid[tr * RES:(tr + 1) * RES, tc * RES:(tc + 1) * RES], nodes)
    import timezonefinder_data
    source = (f"timezone-boundary-builder {tf.data_version} via timezonefinder-data {timezonefinder_data.__version__} "
              f"(ODbL); 1/{RES} degree grid, sea within {FILL} pixels of land takes the land zone")
    name_bytes = "\n".join(names).encode()
    source_bytes = source.encode()
    with open(sys.argv[1], "wb") as f:
        f.write(b"ODTZ" + struct.pack("<HHHH", 1, RES, FILL, len(names)))
        f.write(struct.pack("<I", len(name_bytes)) + name_bytes)
        f.write(struct.pack("<I", len(source_bytes)) + source_bytes)
        f.write(struct.pack("<I", len(nodes)))
        f.write(np.array(nodes, dtype="<u2").tobytes())
    print(f"{len(nodes)} nodes, {len(names)} zones: {source}", file=sys.stderr)


if __name__ == "__main__":
    main()
