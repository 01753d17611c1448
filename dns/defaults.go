package dns

import "time"

// Defaults of what a Server or Handler leaves zero (the config keys
// max_udp_size, tcp.idle_timeout and tcp.max_connections):
// docs/configuration.md lists them and a test in test/docs holds the two
// to each other.
const (
	// DefaultMaxUDPSize is the EDNS(0) UDP payload size advertised and the
	// cap on UDP answers: 1232 avoids IP fragmentation on any path (DNS
	// Flag Day 2020).
	DefaultMaxUDPSize = 1232
	// DefaultTCPIdleTimeout closes a TCP connection without a query for
	// this long (RFC 7766 §6.2.3).
	DefaultTCPIdleTimeout = 10 * time.Second
	// DefaultMaxTCPConns bounds open TCP connections.
	DefaultMaxTCPConns = 1024
)
