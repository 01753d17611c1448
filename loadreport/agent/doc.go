// Package agent is the site agent (`smartdns agent`): every interval it
// measures its site's load and reports it, signed, to every nameserver.
//
// It owns the agent's YAML config (LoadConfig), the load sources
// (command, file, proc, prometheus, nginx, haproxy, ipvs), the state file
// that keeps the draining flag and the last seq across restarts
// (SetDraining, ReadState), and the delivery with retries (Agent). The
// report itself, its signature and the endpoint path are package
// loadreport's wire format.
//
// The agent runs on the sites' machines, not on the nameservers, so it
// links only the wire format, internal/yamlx, internal/diag and the
// standard library: no bbolt, GeoIP, pool, zones or probes. deps_test.go
// holds it to that.
package agent
