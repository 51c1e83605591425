// Hugin: stable GPS sites, visit condensation and the Stage 3 outputs researchers use.
//
// Entry points (what the `odin` CLI, the control plane and the `hugin` Batch command call):
// - `Condenser(options:store:registryStore:clock:).condense(run:failedChunks:) -> CondensationSummary`
//   condenses one run from `runs/<run>/stage1/chunk-*.jsonl.gz` into `runs/<run>/stage3/` (in process for small runs,
//   as the `hugin condense` Batch job for large ones); `summary.paragraph` is the one-paragraph text for people.
// - `SiteRegistryService(store:clock:)`: `list()`, `name(site:as:)`, `applyNames(_:)` (with `SiteNames.parse` for a
//   names file), `merge(_:into:)`: `odin sites list|name|merge`.
// - `PointClustering.parse(bytes:)`, `.cluster(_:radius:)`, `.labelsCSV(_:)`: `odin sites cluster POINTS.csv`.
// - `Stage3Analysis.summarize(directory:)`: `odin analyze DIR`.
// - `SiteRegistryStore` is the registry port; `ObjectStoreSiteRegistryStore` keeps it as JSON in the object store
//   (`StoreLayout.siteRegistryKey`); a DynamoDB binding implements the same two calls.
//
// Semantics (deliberate choices, see domain-origin.md §2 for the original's bugs):
// - Sites are connected components of "within radius" (Haversine, R = 6,371,000 m, `<=` joins), computed on an
//   Earth-centred grid with union-find: independent of input order, correct across the antimeridian and at the poles.
//   Ids are `site-` + 8 hex digits derived from the site's first content and kept by the registry; names persist.
//   Points that connect two registered sites never merge them: they join the nearest and the report lists the pair.
// - Visits are gap-based per (site, camera, species): consecutive detections at most `visit_gap_minutes` apart; a
//   single still is a visit of duration 0; detections below `min_confidence` are excluded and counted;
//   `needs_review` is `max_confidence < review_threshold`. Averages are plain means over detections.
// - Stage 3 formats are checked by their own validators in the tests (scripts/validate-stage3.py): MegaDetector batch
//   output 1.4 (`MegadetectorBatch`: one entry per file, videos with frame_rate/frame_number, integer category ids),
//   Camtrap DP 1.0 (`CamtrapDP`: whole-second UTC date-times, media- and event-level observations, only media with
//   a GPS position), GeoJSON sites.
// - Memory: streaming chunk reads, an external merge sort by time (`DetectionSorter`), only open visits in memory
//   (`VisitBuilder`), per-visit and per-media outputs streamed to files.
