"""Points and the scikit-learn peer for scripts/bench/60-hugin.sh.

gen OUT N SITES SEED      write N `lat,lon` rows: SITES camera sites spread over southern Sweden, each point a
                          site position plus Gaussian GPS jitter (sigma 2 m per axis), shuffled
sklearn IN OUT RADIUS     DBSCAN(eps=RADIUS/6371000, min_samples=1, metric="haversine", algorithm="ball_tree");
                          writes one label per row; prints fit_seconds=, fit_cpu_seconds=
compare A B               checks that two label files describe the same partition; prints same_partition= and counts
"""
import sys
import time

import numpy as np

R = 6371000.0


def gen(out, n, sites, seed):
    rng = np.random.default_rng(seed)
    lat0 = rng.uniform(55.5, 60.0, sites)
    lon0 = rng.uniform(12.0, 18.0, sites)
    which = rng.integers(0, sites, n)
    dn = rng.normal(0.0, 2.0, n)
    de = rng.normal(0.0, 2.0, n)
    lat = lat0[which] + np.degrees(dn / R)
    lon = lon0[which] + np.degrees(de / (R * np.cos(np.radians(lat0[which]))))
    with open(out, "w") as f:
        f.write("lat,lon\n")
        np.savetxt(f, np.column_stack([lat, lon]), fmt="%.7f", delimiter=",")


def sklearn(inp, out, radius):
    from sklearn.cluster import DBSCAN

    pts = np.loadtxt(inp, delimiter=",", skiprows=1)
    wall, cpu = time.perf_counter(), time.process_time()
    labels = DBSCAN(eps=radius / R, min_samples=1, metric="haversine", algorithm="ball_tree").fit(
        np.radians(pts)).labels_
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    np.savetxt(out, labels, fmt="%d", header="site", comments="")
    # Mean neighbourhood size (points within the radius, self included) on a sample, to size DBSCAN's memory.
    from sklearn.neighbors import BallTree
    rad = np.radians(pts)
    sample = np.random.default_rng(0).choice(len(rad), min(2000, len(rad)), replace=False)
    mean = BallTree(rad, metric="haversine").query_radius(rad[sample], radius / R, count_only=True).mean()
    print(f"fit_seconds={wall:.3f} fit_cpu_seconds={cpu:.3f} clusters={labels.max() + 1} mean_neighbours={mean:.0f}")


def compare(a, b):
    la = np.loadtxt(a, skiprows=1, dtype=np.int64)
    lb = np.loadtxt(b, skiprows=1, dtype=np.int64)
    same = la.shape == lb.shape
    if same:
        pairs = np.unique(np.column_stack([la, lb]), axis=0)
        same = len(pairs) == len(np.unique(la)) == len(np.unique(lb))
    print(f"same_partition={'yes' if same else 'no'} clusters_a={len(np.unique(la))} clusters_b={len(np.unique(lb))}")


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "gen":
        gen(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]))
    elif cmd == "sklearn":
        sklearn(sys.argv[2], sys.argv[3], float(sys.argv[4]))
    elif cmd == "compare":
        compare(sys.argv[2], sys.argv[3])
