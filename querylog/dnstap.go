package querylog

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"sync"
	"time"

	dnstap "github.com/dnstap/golang-dnstap"
	framestream "github.com/farsightsec/golang-framestream"
	"google.golang.org/protobuf/proto"
)

// dnstapEncoder turns entries into serialized Dnstap messages, reusing
// its message and buffer (it is used by the background goroutine only).
type dnstapEncoder struct {
	identity, version []byte

	dt  dnstap.Dnstap
	msg dnstap.Message
	buf []byte
	// Scalars the message's optional fields point at.
	qport, rport  uint32
	qsec, rsec    uint64
	qnsec, rnsec  uint32
	qaddr, raddr  [16]byte
	family        dnstap.SocketFamily
	protocol      dnstap.SocketProtocol
	mtype         dnstap.Message_Type
	dtType        dnstap.Dnstap_Type
	marshalOption proto.MarshalOptions
}

func newDnstapEncoder(identity, version string) *dnstapEncoder {
	return &dnstapEncoder{identity: []byte(identity), version: []byte(version)}
}

// encode returns the frame for e; it is valid until the next call.
func (d *dnstapEncoder) encode(e *entry) ([]byte, error) {
	d.msg.Reset()
	d.dt.Reset()
	m := &d.msg

	client := e.client.Addr().Unmap()
	server := e.server.Addr().Unmap()
	if client.Is4() {
		d.family = dnstap.SocketFamily_INET
	} else {
		d.family = dnstap.SocketFamily_INET6
	}
	m.SocketFamily = &d.family
	d.protocol = dnstap.SocketProtocol_UDP
	if e.tcp {
		d.protocol = dnstap.SocketProtocol_TCP
	}
	m.SocketProtocol = &d.protocol

	if client.IsValid() {
		m.QueryAddress = appendAddr(d.qaddr[:0], client)
		d.qport = uint32(e.client.Port())
		m.QueryPort = &d.qport
	}
	if server.IsValid() && server.Is4() == client.Is4() {
		m.ResponseAddress = appendAddr(d.raddr[:0], server)
		d.rport = uint32(e.server.Port())
		m.ResponsePort = &d.rport
	}

	d.qsec, d.qnsec = unixTime(e.received)
	m.QueryTimeSec, m.QueryTimeNsec = &d.qsec, &d.qnsec
	m.QueryMessage = e.query()
	if e.dropped {
		d.mtype = dnstap.Message_AUTH_QUERY
	} else {
		d.mtype = dnstap.Message_AUTH_RESPONSE
		d.rsec, d.rnsec = unixTime(e.responded)
		m.ResponseTimeSec, m.ResponseTimeNsec = &d.rsec, &d.rnsec
		m.ResponseMessage = e.response()
	}
	m.Type = &d.mtype

	d.dtType = dnstap.Dnstap_MESSAGE
	d.dt.Type = &d.dtType
	d.dt.Identity = d.identity
	d.dt.Version = d.version
	d.dt.Message = m

	var err error
	d.buf, err = d.marshalOption.MarshalAppend(d.buf[:0], &d.dt)
	// Let go of the packets: their buffer goes back to the pool.
	m.QueryMessage, m.ResponseMessage = nil, nil
	return d.buf, err
}

func appendAddr(b []byte, a netip.Addr) []byte {
	if a.Is4() {
		v := a.As4()
		return append(b, v[:]...)
	}
	v := a.As16()
	return append(b, v[:]...)
}

func unixTime(t time.Time) (uint64, uint32) {
	return uint64(t.Unix()), uint32(t.Nanosecond())
}

// dnstapFileOutput writes a unidirectional frame stream to a file.
type dnstapFileOutput struct {
	path string
	f    *os.File
	ew   *errWriter
	fw   *framestream.Writer
	enc  *dnstapEncoder
}

func openDnstapFile(path string, enc *dnstapEncoder) (*dnstapFileOutput, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o640)
	if err != nil {
		return nil, err
	}
	ew := &errWriter{w: f}
	fw, err := framestream.NewWriter(ew, &framestream.WriterOptions{
		ContentTypes: [][]byte{dnstap.FSContentType},
	})
	if err == nil {
		err = fw.Flush()
	}
	if err == nil {
		err = ew.take()
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return &dnstapFileOutput{path: path, f: f, ew: ew, fw: fw, enc: enc}, nil
}

func (o *dnstapFileOutput) name() string { return "dnstap file " + o.path }

func (o *dnstapFileOutput) write(e *entry) error {
	frame, err := o.enc.encode(e)
	if err != nil {
		return err
	}
	o.fw.WriteFrame(frame) // errors surface through ew
	return o.ew.take()
}

func (o *dnstapFileOutput) flush() error {
	o.fw.Flush()
	return o.ew.take()
}

func (o *dnstapFileOutput) close(time.Time) error {
	o.fw.Close() // writes STOP and flushes
	err := o.ew.take()
	if cerr := o.f.Close(); err == nil && !errors.Is(cerr, os.ErrClosed) {
		err = cerr
	}
	return err
}

func (o *dnstapFileOutput) abort() { o.f.Close() }

// dnstapSocketOutput writes to a collector's unix socket. The background
// writer owns conn and fw; a dialler goroutine makes connections and
// hands them over on conns, and is asked for a new one on redial.
type dnstapSocketOutput struct {
	path string
	enc  *dnstapEncoder
	log  *slog.Logger
	opts *options

	conns  chan collectorConn
	redial chan struct{}

	mu      sync.Mutex // guards conn for abort
	conn    net.Conn
	fw      *framestream.Writer
	aborted bool
	// connected says whether the dialler starts with a live connection.
	connected bool
}

type collectorConn struct {
	conn net.Conn
	fw   *framestream.Writer
}

// openDnstapSocket makes one attempt to connect; if it fails, the
// dialler (dialLoop, started by the caller) keeps trying.
func openDnstapSocket(ctx context.Context, path string, enc *dnstapEncoder, log *slog.Logger, opts *options) *dnstapSocketOutput {
	o := &dnstapSocketOutput{
		path:   path,
		enc:    enc,
		log:    log,
		opts:   opts,
		conns:  make(chan collectorConn),
		redial: make(chan struct{}, 1),
	}
	c, err := o.dial(ctx)
	if err != nil {
		log.Warn("dnstap collector not reachable yet; retrying in the background", "socket", path, "err", err)
		return o
	}
	log.Info("dnstap collector connected", "socket", path)
	o.conn, o.fw, o.connected = c.conn, c.fw, true
	return o
}

// dial connects and does the frame-stream handshake, both bounded by the
// I/O timeout and by ctx.
func (o *dnstapSocketOutput) dial(ctx context.Context) (collectorConn, error) {
	d := net.Dialer{Timeout: o.opts.ioTimeout}
	conn, err := d.DialContext(ctx, "unix", o.path)
	if err != nil {
		return collectorConn{}, err
	}
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	fw, err := framestream.NewWriter(conn, &framestream.WriterOptions{
		ContentTypes:  [][]byte{dnstap.FSContentType},
		Bidirectional: true,
		Timeout:       o.opts.ioTimeout,
	})
	if !stop() {
		err = errors.Join(err, ctx.Err())
	}
	if err != nil {
		conn.Close()
		return collectorConn{}, err
	}
	return collectorConn{conn: conn, fw: fw}, nil
}

// dialLoop runs until ctx ends: while disconnected it dials with
// exponential backoff between retryMin and retryMax and hands a new
// connection to the writer.
func (o *dnstapSocketOutput) dialLoop(ctx context.Context) {
	connected := o.connected
	backoff := o.opts.retryMin
	failures := 0
	for {
		if connected {
			select {
			case <-o.redial:
				connected = false
				backoff = o.opts.retryMin
			case <-ctx.Done():
				return
			}
		}
		t := time.NewTimer(backoff)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return
		}
		c, err := o.dial(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			failures++
			o.log.Debug("dnstap collector not reachable", "socket", o.path, "attempt", failures, "err", err)
			backoff = min(2*backoff, o.opts.retryMax)
			continue
		}
		select {
		case o.conns <- c:
			o.log.Info("dnstap collector connected", "socket", o.path)
			connected, failures = true, 0
		case <-ctx.Done():
			c.conn.Close()
			return
		}
	}
}

func (o *dnstapSocketOutput) name() string { return "dnstap socket " + o.path }

func (o *dnstapSocketOutput) write(e *entry) error {
	if o.fw == nil {
		select {
		case c := <-o.conns:
			o.setConn(c.conn, c.fw)
		default:
			return errUnavailable
		}
	}
	frame, err := o.enc.encode(e)
	if err != nil {
		return err
	}
	if _, err := o.fw.WriteFrame(frame); err != nil {
		o.disconnect()
		return err
	}
	return nil
}

func (o *dnstapSocketOutput) flush() error {
	if o.fw == nil {
		return errUnavailable
	}
	if err := o.fw.Flush(); err != nil {
		o.disconnect()
		return err
	}
	return nil
}

// disconnect drops a broken connection and asks for a new one.
func (o *dnstapSocketOutput) disconnect() {
	o.conn.Close()
	o.setConn(nil, nil)
	select {
	case o.redial <- struct{}{}:
	default:
	}
}

func (o *dnstapSocketOutput) setConn(c net.Conn, fw *framestream.Writer) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.aborted && c != nil {
		c.Close()
	}
	o.conn, o.fw = c, fw
}

// close sends STOP and waits for the collector's FINISH, each step
// bounded by the I/O timeout and the whole by deadline.
func (o *dnstapSocketOutput) close(deadline time.Time) error {
	if o.fw == nil {
		return nil
	}
	o.conn.SetDeadline(deadline)
	err := o.fw.Close()
	if cerr := o.conn.Close(); err == nil && !errors.Is(cerr, net.ErrClosed) {
		err = cerr
	}
	o.mu.Lock()
	aborted := o.aborted
	o.mu.Unlock()
	if aborted {
		return nil
	}
	return err
}

func (o *dnstapSocketOutput) abort() {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.aborted = true
	if o.conn != nil {
		o.conn.Close()
	}
}
