// Package metrics serves the running server's Prometheus metrics at
// /metrics.
//
// Nothing here counts: the query path already counts with atomics (package
// internal/qstats for queries, ECS and latency; pool.Tally for dynamic
// answers), and the probes, the report receiver and the loader keep their
// own state. A scrape reads all of it through status.Sources with custom
// collectors that build constant metrics, so serving metrics adds no work
// per query. Every metric lives in a private registry made by Handler,
// never in the global one, so two servers in one process share nothing.
//
// The metric names, types and labels are listed in docs/metrics.md; the
// test golden file testdata/metrics.golden fails the build on a rename.
package metrics
