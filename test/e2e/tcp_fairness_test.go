package e2e

import (
	"net"
	"testing"
	"time"

	mdns "github.com/miekg/dns"
)

// TestTCPOneClientCannotHoldEverySlot: 300 connections from 127.0.0.1,
// each asked once and then left idle, against tcp.max_connections 256;
// `dig +tcp` from 127.0.0.2 is still answered, the longest-idle
// connections having been closed to make room (RFC 7766 §6.2.3). With the
// default per-client cap, 127.0.0.1 holds only 64 connections.
func TestTCPOneClientCannotHoldEverySlot(t *testing.T) {
	for _, tc := range []struct {
		name, extra string
		held        int // connections 127.0.0.1 may keep
	}{
		{"eviction at the limit", "tcp: {max_connections: 256, max_connections_per_client: 1000}\n", 256},
		{"per-client cap", "tcp: {max_connections: 256}\n", 64},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := startSizes(t, tc.extra)
			var conns []net.Conn
			served := 0
			for i := 0; i < 300; i++ {
				c := dialTCP(t, s.Port)
				// An answer proves the server admitted the connection;
				// it is idle from then on.
				if _, err := exchangeTCP(c, "www.example.com.", mdns.TypeA); err == nil {
					served++
				}
				conns = append(conns, c)
			}
			if tc.held == 256 && served != 300 {
				t.Errorf("%d of 300 connections served; at the limit each new one should take an idle one's place", served)
			}
			if tc.held == 64 && served != 64 {
				t.Errorf("%d of 300 connections from one address served; want the cap, 64", served)
			}
			a := s.Dig("-b", "127.0.0.2", "+tcp", "www.example.com", "A")
			if a.Status != "NOERROR" || len(a.Answer) != 1 {
				t.Fatalf("dig +tcp from 127.0.0.2 while 127.0.0.1 holds the slots:\n%s", a.Raw)
			}
			// The server keeps at most held of 127.0.0.1's: the others
			// are closed (the first ones when evicted, the last ones when
			// over the cap).
			open := 0
			for _, c := range conns {
				if _, closed := waitClosed(t, c, 20*time.Millisecond); !closed {
					open++
				}
			}
			if open > tc.held {
				t.Errorf("%d connections from 127.0.0.1 still open; want at most %d", open, tc.held)
			}
			t.Logf("served %d of 300, %d still open", served, open)
		})
	}
}
