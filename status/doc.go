// Package status owns what an operator reads and changes over HTTP while
// the server runs: the JSON status API (zones, records with the live state
// of every value, explain), runtime overrides of a value's status kept in
// the state file, the status page, and the liveness and readiness probes.
// It only reads the tables the query path reads (the snapshot, the health
// table, the answer tally); the one thing it writes is the overrides, which
// it publishes through the health table like any other state.
package status
