// Package masterfile reads RFC 1035 master files ("BIND-style" zone files)
// into zonefile records, reporting every problem of a file at its
// path:line:col rather than stopping at the first.
package masterfile
