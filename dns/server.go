package dns

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"runtime"
	"sync"
	"syscall"
	"time"

	"github.com/smartdns/smartdns/internal/qstats"
)

// Server serves a Handler over UDP and TCP on a set of addresses. Fill in
// the fields, call Listen (which binds every socket, so that errors surface
// before the server says it is ready), then Serve; Shutdown stops it.
type Server struct {
	Handler *Handler
	// Addrs are "ip:port" to listen on, UDP and TCP each.
	Addrs []string
	// TCPIdleTimeout closes a TCP connection without a query for this long
	// (RFC 7766 §6.2.3); DefaultTCPIdleTimeout when zero.
	TCPIdleTimeout time.Duration
	// MaxTCPConns bounds open TCP connections. At the limit a new
	// connection takes the slot of the longest-idle one, so that one
	// client holding every slot cannot lock others out (RFC 7766 §6.2.3);
	// it is refused only when none is idle. DefaultMaxTCPConns when zero.
	MaxTCPConns int
	// MaxTCPConnsPerClient bounds the TCP connections of one client
	// address (an IPv6 client by its /64); more are refused.
	// DefaultMaxTCPConnsPerClient when zero.
	MaxTCPConnsPerClient int
	// UDPWorkers is the number of goroutines reading each UDP socket;
	// GOMAXPROCS when zero.
	UDPWorkers int
	// Logger receives listener errors (a failed TCP accept, a failed UDP
	// read), at most one a second per listener; nil discards them.
	Logger *slog.Logger
	// QueryLog, when set, is given every query and its response after the
	// response is written; it must not block (package querylog samples
	// and queues).
	QueryLog QueryLogger

	udp []*net.UDPConn
	tcp []*net.TCPListener

	mu        sync.Mutex
	conns     map[net.Conn]*tcpConn
	perClient map[netip.Addr]int
	maxConns  int
	maxPer    int
	closing   bool
	wg        sync.WaitGroup // TCP connections
	udpWG     sync.WaitGroup // UDP workers
}

// QueryLogger receives each query and its response (nil when none was
// sent). The buffers are reused once Log returns.
type QueryLogger interface {
	Log(client, server netip.AddrPort, tcp bool, query, response []byte, received time.Time)
}

// Listen binds every address.
func (s *Server) Listen() error {
	for _, a := range s.Addrs {
		ap, err := netip.ParseAddrPort(a)
		if err != nil {
			return fmt.Errorf("listen address %q: %w", a, err)
		}
		u, t, err := listenPair(ap)
		if err != nil {
			s.closeAll()
			return err
		}
		s.udp = append(s.udp, u)
		s.tcp = append(s.tcp, t)
	}
	return nil
}

// listenPair binds UDP and TCP on one address. Port 0 picks a port free
// for UDP and uses the same one for TCP; when TCP has it taken, another
// port is tried, so that a picked port is never a start failure.
func listenPair(ap netip.AddrPort) (*net.UDPConn, *net.TCPListener, error) {
	const tries = 32
	for i := 0; ; i++ {
		u, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(ap))
		if err != nil {
			return nil, nil, fmt.Errorf("listening on udp %s: %w", ap, err)
		}
		tap := netip.AddrPortFrom(ap.Addr(), u.LocalAddr().(*net.UDPAddr).AddrPort().Port())
		t, err := net.ListenTCP("tcp", net.TCPAddrFromAddrPort(tap))
		if err == nil {
			return u, t, nil
		}
		u.Close()
		if ap.Port() != 0 || i == tries-1 || !errors.Is(err, syscall.EADDRINUSE) {
			return nil, nil, fmt.Errorf("listening on tcp %s: %w", tap, err)
		}
	}
}

// LocalAddrs returns the bound addresses (useful with port 0).
func (s *Server) LocalAddrs() []string {
	var out []string
	for _, u := range s.udp {
		out = append(out, u.LocalAddr().String())
	}
	return out
}

// Serve answers queries until Shutdown. It returns once every listener
// has stopped.
func (s *Server) Serve() error {
	if s.Logger == nil {
		s.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	idle := s.TCPIdleTimeout
	if idle <= 0 {
		idle = DefaultTCPIdleTimeout
	}
	max := s.MaxTCPConns
	if max <= 0 {
		max = DefaultMaxTCPConns
	}
	per := s.MaxTCPConnsPerClient
	if per <= 0 {
		per = DefaultMaxTCPConnsPerClient
	}
	s.mu.Lock()
	s.conns = map[net.Conn]*tcpConn{}
	s.perClient = map[netip.Addr]int{}
	s.maxConns, s.maxPer = max, per
	s.mu.Unlock()
	workers := s.UDPWorkers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	var lw sync.WaitGroup
	for _, u := range s.udp {
		for i := 0; i < workers; i++ {
			lw.Add(1)
			s.udpWG.Add(1)
			go func() { defer lw.Done(); defer s.udpWG.Done(); s.serveUDP(u) }()
		}
	}
	for _, t := range s.tcp {
		lw.Add(1)
		go func() { defer lw.Done(); s.acceptTCP(t, idle) }()
	}
	lw.Wait()
	return nil
}

// serveUDP is one worker: it owns its buffers, so the loop allocates
// nothing.
func (s *Server) serveUDP(u *net.UDPConn) {
	in := make([]byte, maxMsgSize)
	out := make([]byte, maxMsgSize)
	local := u.LocalAddr().(*net.UDPAddr).AddrPort()
	var latency *qstats.Histogram
	if s.Handler.Stats != nil {
		latency = s.Handler.Stats.WorkerLatency(0)
	}
	var lastLogged time.Time
	for {
		n, from, err := u.ReadFromUDPAddrPort(in)
		if err != nil {
			if errors.Is(err, net.ErrClosed) || s.isClosing() {
				return
			}
			if now := time.Now(); now.Sub(lastLogged) >= time.Second {
				lastLogged = now
				s.Logger.Warn("UDP read failed", "listen", local.String(), "err", err)
			}
			continue
		}
		var start time.Time
		if latency != nil || s.QueryLog != nil {
			start = time.Now()
		}
		resp := s.Handler.Serve(in[:n], out, from.Addr(), false)
		if resp != nil {
			u.WriteToUDPAddrPort(resp, from)
		}
		if latency != nil {
			latency.Observe(time.Since(start))
		}
		if s.QueryLog != nil {
			s.QueryLog.Log(from, local, false, in[:n], resp, start)
		}
	}
}

func (s *Server) acceptTCP(l net.Listener, idle time.Duration) {
	var lastLogged time.Time
	for {
		c, err := l.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// E.g. EMFILE: say so (the operator must raise the limit),
			// without a line per retry, and back off.
			if now := time.Now(); now.Sub(lastLogged) >= time.Second {
				lastLogged = now
				s.Logger.Warn("TCP accept failed; retrying", "listen", l.Addr().String(), "err", err)
			}
			time.Sleep(10 * time.Millisecond)
			continue
		}
		tc, err := s.admit(c)
		if err != nil {
			c.Close()
			if errors.Is(err, errClosing) {
				return
			}
			continue
		}
		s.wg.Add(1)
		go func() {
			defer func() { s.release(tc); c.Close(); s.wg.Done() }()
			s.serveTCP(tc, idle)
		}()
	}
}

var tcpBufs = sync.Pool{New: func() any { b := make([]byte, 2+maxMsgSize); return &b }}

// serveTCP answers the queries of one connection in order (RFC 7766 §6.2.1:
// several per connection, pipelined by the client).
func (s *Server) serveTCP(tc *tcpConn, idle time.Duration) {
	c := tc.c
	inp := tcpBufs.Get().(*[]byte)
	outp := tcpBufs.Get().(*[]byte)
	defer tcpBufs.Put(inp)
	defer tcpBufs.Put(outp)
	in, out := *inp, *outp
	var from, local netip.AddrPort
	if ta, ok := c.RemoteAddr().(*net.TCPAddr); ok {
		from = ta.AddrPort()
	}
	if ta, ok := c.LocalAddr().(*net.TCPAddr); ok {
		local = ta.AddrPort()
	}
	stats := s.Handler.Stats
	for {
		c.SetReadDeadline(time.Now().Add(idle))
		got, err := c.Read(in[:2])
		if got == 0 || !tc.start() {
			return // idle too long, closed, or evicted for a new client
		}
		// The message has begun: the rest must follow promptly, whatever
		// the idle timeout, or a trickling sender holds its slot forever.
		c.SetReadDeadline(time.Now().Add(TCPMessageTimeout))
		if _, err = io.ReadFull(c, in[got:2]); err != nil {
			return
		}
		n := int(binary.BigEndian.Uint16(in))
		if _, err := io.ReadFull(c, in[:n]); err != nil {
			return
		}
		start := time.Now()
		resp := s.Handler.Serve(in[:n], out[2:], from.Addr(), true)
		if resp == nil {
			if s.QueryLog != nil {
				s.QueryLog.Log(from, local, true, in[:n], nil, start)
			}
			return // nothing to say to a peer sending responses or noise
		}
		binary.BigEndian.PutUint16(out, uint16(len(resp)))
		c.SetWriteDeadline(start.Add(idle))
		_, err = c.Write(out[:2+len(resp)])
		if stats != nil {
			stats.Latency[1].Observe(time.Since(start))
		}
		if s.QueryLog != nil {
			s.QueryLog.Log(from, local, true, in[:n], resp, start)
		}
		if err != nil {
			return
		}
		tc.stop()
		s.mu.Lock()
		closing := s.closing
		s.mu.Unlock()
		if closing {
			return
		}
	}
}

func (s *Server) isClosing() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closing
}

// Shutdown stops accepting queries, lets the UDP workers and TCP
// connections finish the query they are answering, and returns when all
// are done or ctx ends.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closing = true
	for c := range s.conns {
		// Wake connections waiting for their next query; one mid-answer
		// finishes its write first.
		c.SetReadDeadline(time.Now())
	}
	s.mu.Unlock()
	for _, t := range s.tcp {
		t.Close()
	}
	// UDP sockets stay open until their workers have written the answer
	// they are working on: a deadline wakes the idle ones.
	for _, u := range s.udp {
		u.SetReadDeadline(time.Now())
	}
	done := make(chan struct{})
	go func() { s.udpWG.Wait(); s.wg.Wait(); close(done) }()
	defer s.closeAll()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		s.mu.Lock()
		for c := range s.conns {
			c.Close()
		}
		s.mu.Unlock()
		return ctx.Err()
	}
}

func (s *Server) closeAll() {
	for _, u := range s.udp {
		u.Close()
	}
	for _, t := range s.tcp {
		t.Close()
	}
}
