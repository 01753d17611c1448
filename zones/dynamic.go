package zones

import "github.com/smartdns/smartdns/pool"

// compileDynamic turns a record's octoDNS `dynamic:` block (and its
// `octodns.smartdns` settings) into a pool.Record. backup holds the RDATA
// of the record's own values, already encoded.
func compileDynamic(r *Record, backup [][]byte, opt CompileOptions) (*pool.Record, Problems) {
	return nil, nil // being written
}
