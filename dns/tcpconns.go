package dns

import (
	"errors"
	"net"
	"net/netip"
	"sync/atomic"
	"time"
)

// The states of a TCP connection, as the accept loop sees them when it
// looks for one to close.
const (
	// connIdle: waiting for the first byte of a query; may be evicted.
	connIdle int32 = iota
	// connBusy: reading a begun query, answering or writing; never evicted.
	connBusy
	// connEvicted: closed by the accept loop to make room.
	connEvicted
)

var (
	errClosing    = errors.New("server shutting down")
	errFull       = errors.New("every TCP connection is busy")
	errClientFull = errors.New("client at its TCP connection limit")
)

// tcpConn is one accepted connection and what eviction needs to know of
// it. state and idleSince are written by the connection's goroutine
// without the server lock (a query costs no lock for them); released is
// guarded by Server.mu.
type tcpConn struct {
	c         net.Conn
	client    netip.Addr
	state     atomic.Int32
	idleSince atomic.Int64 // UnixNano
	released  bool
}

// start marks a query begun; false when the connection was evicted (the
// bytes read are dropped with it: a client must expect an idle connection
// to close, RFC 7766 §6.2.4).
func (t *tcpConn) start() bool { return t.state.CompareAndSwap(connIdle, connBusy) }

// stop marks the connection idle again, from now.
func (t *tcpConn) stop() {
	t.idleSince.Store(time.Now().UnixNano())
	t.state.Store(connIdle)
}

// clientKey is the address the per-client cap counts by: the IPv4
// address, or the /64 of an IPv6 one (one host usually owns a /64, and
// picks addresses in it at will).
func clientKey(a net.Addr) netip.Addr {
	ta, ok := a.(*net.TCPAddr)
	if !ok {
		return netip.Addr{}
	}
	ip := ta.AddrPort().Addr().Unmap().WithZone("")
	if ip.Is6() {
		p, _ := ip.Prefix(64)
		return p.Addr()
	}
	return ip
}

// admit registers a new connection, making room when the server is full
// or under pressure (RFC 7766 §6.2.3: a server may close idle connections
// under load, rather than turn new clients away):
//   - the client's own cap reached: the new connection is refused;
//   - at MaxTCPConns: the longest-idle connection is closed for it, and
//     it is refused only when every connection is busy;
//   - above TCPPressurePercent of it: the longest-idle connection is closed
//     if it has been idle TCPPressureIdleTimeout or more.
func (s *Server) admit(c net.Conn) (*tcpConn, error) {
	client := clientKey(c.RemoteAddr())
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return nil, errClosing
	}
	if s.perClient[client] >= s.maxPer {
		return nil, errClientFull
	}
	if n := len(s.conns); n >= s.maxConns*TCPPressurePercent/100 {
		full := n >= s.maxConns
		minIdle := time.Duration(0)
		if !full {
			minIdle = TCPPressureIdleTimeout
		}
		if !s.evictIdle(now, minIdle) && full {
			return nil, errFull
		}
	}
	tc := &tcpConn{c: c, client: client}
	tc.idleSince.Store(now.UnixNano())
	s.conns[c] = tc
	s.perClient[client]++
	return tc, nil
}

// evictIdle closes the longest-idle connection if it has been idle at
// least minIdle, and says whether it closed one. Called with s.mu held.
func (s *Server) evictIdle(now time.Time, minIdle time.Duration) bool {
	// A connection may begin a query between the scan and the swap: then
	// scan again (a few times: each miss is a race lost, not a loop).
	for try := 0; try < 3; try++ {
		var victim *tcpConn
		var oldest int64
		for _, tc := range s.conns {
			if tc.state.Load() != connIdle {
				continue
			}
			if t := tc.idleSince.Load(); victim == nil || t < oldest {
				victim, oldest = tc, t
			}
		}
		if victim == nil || now.Sub(time.Unix(0, oldest)) < minIdle {
			return false
		}
		if victim.state.CompareAndSwap(connIdle, connEvicted) {
			victim.c.Close()
			s.releaseLocked(victim)
			return true
		}
	}
	return false
}

// release forgets a connection that has ended.
func (s *Server) release(tc *tcpConn) {
	s.mu.Lock()
	s.releaseLocked(tc)
	s.mu.Unlock()
}

func (s *Server) releaseLocked(tc *tcpConn) {
	if tc.released {
		return
	}
	tc.released = true
	delete(s.conns, tc.c)
	if s.perClient[tc.client]--; s.perClient[tc.client] <= 0 {
		delete(s.perClient, tc.client)
	}
}
