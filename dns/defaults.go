package dns

import "time"

// Defaults of what a Server or Handler leaves zero (the config keys
// max_udp_size, tcp.idle_timeout, tcp.max_connections and
// tcp.max_connections_per_client):
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
	// DefaultMaxTCPConnsPerClient bounds the TCP connections of one client
	// address (IPv6: one /64): a sixteenth of the total, so that no single
	// client can take every slot, while a resolver keeping a few
	// connections open per zone it asks has room.
	DefaultMaxTCPConnsPerClient = 64
)

// Fixed bounds of a TCP connection (not config keys; docs/security.md
// gives them).
const (
	// TCPMessageTimeout is how long the rest of a query may take once its
	// first byte arrived: a query is at most 64 KiB, which any live client
	// sends well within it, while a sender trickling a byte at a time is
	// cut in a second instead of holding its slot for the idle timeout
	// per byte.
	TCPMessageTimeout = time.Second
	// TCPPressurePercent is the share of MaxTCPConns above which the
	// server is under pressure: each new connection then closes the
	// longest-idle one if it has been idle TCPPressureIdleTimeout.
	TCPPressurePercent = 75
	// TCPPressureIdleTimeout is the idle timeout under pressure.
	TCPPressureIdleTimeout = time.Second
)
