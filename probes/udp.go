package probes

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/smartdns/smartdns/pool"
)

// maxDatagram is the largest UDP payload (IPv4: 65535 - 8 - 20): a reply
// is read whole, however large, so that ExpectReply may be anywhere in it.
const maxDatagram = 65507

// replyBufs holds the receive buffers of UDP checks: a check is short and
// a target checks every few seconds, so one 64 KiB buffer per check would
// be garbage made at the rate of the checks.
var replyBufs = sync.Pool{New: func() any { b := make([]byte, maxDatagram); return &b }}

// udp sends c.Payload from a connected socket and waits for a reply. A
// connected socket receives only what the target sends, and the ICMP port
// unreachable that a host without the service returns: Linux reports it
// as ECONNREFUSED on the next read, so a closed port is down at once
// rather than at the timeout.
func (k *checker) udp(ctx context.Context, c *pool.Check) error {
	if c.Port <= 0 {
		return errors.New("UDP check without a port")
	}
	addr := net.JoinHostPort(bare(c.Address), strconv.Itoa(c.Port))
	// A host name (a CNAME value) is resolved by the dialer, as for TCP.
	conn, err := k.dialer.DialContext(ctx, "udp", addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	defer bindDeadline(ctx, conn)()

	peer := conn.RemoteAddr().String()
	if _, err := conn.Write([]byte(c.Payload)); err != nil {
		if errors.Is(err, syscall.ECONNREFUSED) {
			return fmt.Errorf("UDP %s: port unreachable (connection refused)", peer)
		}
		return fmt.Errorf("sending the UDP payload to %s: %w", peer, err)
	}
	bp := replyBufs.Get().(*[]byte)
	defer replyBufs.Put(bp)
	n, err := conn.Read(*bp)
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return fmt.Errorf("UDP %s: port unreachable (connection refused)", peer)
	case errors.Is(err, os.ErrDeadlineExceeded):
		return fmt.Errorf("no UDP reply from %s (timeout)", peer)
	case err != nil:
		return fmt.Errorf("waiting for the UDP reply from %s: %w", peer, err)
	}
	if c.ExpectReply != "" && !bytes.Contains((*bp)[:n], []byte(c.ExpectReply)) {
		return fmt.Errorf("UDP reply (%d bytes) does not contain %q", n, c.ExpectReply)
	}
	return nil
}

// bindDeadline makes conn's reads and writes end with ctx: at its deadline,
// or at once when it is cancelled. The returned func releases the binding.
func bindDeadline(ctx context.Context, conn interface{ SetDeadline(time.Time) error }) (release func() bool) {
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	return context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
}
