package querylog

import (
	"bufio"
	"encoding/binary"
	"errors"
	"net/netip"
	"os"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/miekg/dns"
)

// jsonTimeLayout is RFC 3339 with all nine fraction digits, so that lines
// sort and align as text.
const jsonTimeLayout = "2006-01-02T15:04:05.000000000Z07:00"

// appendJSONLine appends the JSON line for e, ending in a newline. The
// fields are listed in the package documentation.
func appendJSONLine(b []byte, e *entry) []byte {
	q, r := e.query(), e.response()
	qm, qerr := unpackMsg(q)
	var rm *dns.Msg
	var rerr error
	if !e.dropped {
		rm, rerr = unpackMsg(r)
	}

	b = append(b, `{"time":"`...)
	b = e.received.UTC().AppendFormat(b, jsonTimeLayout)
	b = append(b, `","client":"`...)
	b = e.client.Addr().Unmap().WithZone("").AppendTo(b)
	b = append(b, `","port":`...)
	b = strconv.AppendUint(b, uint64(e.client.Port()), 10)
	if e.tcp {
		b = append(b, `,"proto":"tcp"`...)
	} else {
		b = append(b, `,"proto":"udp"`...)
	}

	if id, ok := msgID(q, r); ok {
		b = append(b, `,"id":`...)
		b = strconv.AppendUint(b, uint64(id), 10)
	}
	if qq, ok := question(qm, rm); ok {
		b = append(b, `,"name":`...)
		b = appendJSONString(b, qq.Name)
		b = append(b, `,"type":`...)
		b = appendJSONString(b, dns.Type(qq.Qtype).String())
		b = append(b, `,"class":`...)
		b = appendJSONString(b, className(qq.Qclass))
	}
	if rm != nil {
		b = append(b, `,"rcode":`...)
		b = appendJSONString(b, rcodeName(rm.Rcode))
	}
	if hm := flagsMsg(qm, rm, e.dropped); hm != nil {
		b = append(b, `,"flags":"`...)
		b = appendFlags(b, &hm.MsgHdr)
		b = append(b, '"')
	}
	if rm != nil {
		b = append(b, `,"answers":`...)
		b = strconv.AppendInt(b, int64(len(rm.Answer)), 10)
	}
	b = append(b, `,"size":`...)
	b = strconv.AppendInt(b, int64(len(r)), 10)
	if ecs, ok := clientSubnet(qm); ok {
		b = append(b, `,"ecs":`...)
		b = appendJSONString(b, ecs)
	}
	b = append(b, `,"latency_us":`...)
	b = strconv.AppendInt(b, max(0, e.responded.Sub(e.received).Microseconds()), 10)
	if e.dropped {
		b = append(b, `,"dropped":true`...)
	}
	if qerr != nil || rerr != nil {
		b = append(b, `,"error":`...)
		b = appendJSONString(b, parseError(qerr, rerr))
	}
	return append(b, "}\n"...)
}

// parseError says which packet did not parse, and why.
func parseError(qerr, rerr error) string {
	var s string
	if qerr != nil {
		s = "query: " + qerr.Error()
	}
	if rerr != nil {
		if s != "" {
			s += "; "
		}
		s += "response: " + rerr.Error()
	}
	return s
}

// unpackMsg parses p; an empty p is an error too.
func unpackMsg(p []byte) (*dns.Msg, error) {
	if len(p) == 0 {
		return nil, errors.New("empty message")
	}
	m := new(dns.Msg)
	if err := m.Unpack(p); err != nil {
		return nil, err
	}
	return m, nil
}

// msgID reads the ID from the raw query, else the raw response: it is
// known as soon as two bytes are.
func msgID(q, r []byte) (uint16, bool) {
	switch {
	case len(q) >= 2:
		return binary.BigEndian.Uint16(q), true
	case len(r) >= 2:
		return binary.BigEndian.Uint16(r), true
	}
	return 0, false
}

func question(qm, rm *dns.Msg) (dns.Question, bool) {
	for _, m := range []*dns.Msg{qm, rm} {
		if m != nil && len(m.Question) > 0 {
			return m.Question[0], true
		}
	}
	return dns.Question{}, false
}

// flagsMsg picks the message whose header flags the line shows.
func flagsMsg(qm, rm *dns.Msg, dropped bool) *dns.Msg {
	if rm != nil {
		return rm
	}
	if dropped {
		return qm
	}
	return nil
}

// appendFlags writes the set header flags in dig's order.
func appendFlags(b []byte, h *dns.MsgHdr) []byte {
	start := len(b)
	add := func(set bool, name string) {
		if !set {
			return
		}
		if len(b) > start {
			b = append(b, ' ')
		}
		b = append(b, name...)
	}
	add(h.Response, "qr")
	add(h.Authoritative, "aa")
	add(h.Truncated, "tc")
	add(h.RecursionDesired, "rd")
	add(h.RecursionAvailable, "ra")
	add(h.Zero, "z")
	add(h.AuthenticatedData, "ad")
	add(h.CheckingDisabled, "cd")
	return b
}

func className(c uint16) string {
	if s, ok := dns.ClassToString[c]; ok {
		return s
	}
	return "CLASS" + strconv.Itoa(int(c))
}

// rcodeName names an rcode that may carry EDNS extended bits. 16 is
// BADVERS here: miekg/dns names it BADSIG, its TSIG meaning, which cannot
// occur in a header rcode.
func rcodeName(rc int) string {
	if rc == dns.RcodeBadVers {
		return "BADVERS"
	}
	if s, ok := dns.RcodeToString[rc]; ok {
		return s
	}
	return "RCODE" + strconv.Itoa(rc)
}

// clientSubnet returns the query's EDNS client subnet as a prefix.
func clientSubnet(qm *dns.Msg) (string, bool) {
	if qm == nil {
		return "", false
	}
	opt := qm.IsEdns0()
	if opt == nil {
		return "", false
	}
	for _, o := range opt.Option {
		s, ok := o.(*dns.EDNS0_SUBNET)
		if !ok {
			continue
		}
		a, ok := netip.AddrFromSlice(s.Address)
		if !ok {
			return s.String(), true
		}
		if s.Family == 1 {
			a = a.Unmap()
		}
		p, err := a.Prefix(int(s.SourceNetmask))
		if err != nil {
			return s.String(), true
		}
		return p.String(), true
	}
	return "", false
}

// appendJSONString appends s as a JSON string: quotes, backslashes and
// control characters escaped, invalid UTF-8 replaced by U+FFFD.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c == '\n':
				b = append(b, '\\', 'n')
			case c == '\r':
				b = append(b, '\\', 'r')
			case c == '\t':
				b = append(b, '\\', 't')
			case c < 0x20 || c == 0x7f:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, `\ufffd`...)
		} else {
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}

// jsonOutput appends lines to a file through a buffer.
type jsonOutput struct {
	path string
	f    *os.File
	ew   *errWriter
	w    *bufio.Writer
	line []byte
}

func openJSON(path string) (*jsonOutput, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		return nil, err
	}
	ew := &errWriter{w: f}
	return &jsonOutput{path: path, f: f, ew: ew, w: bufio.NewWriterSize(ew, 64<<10)}, nil
}

func (o *jsonOutput) name() string { return "json " + o.path }

func (o *jsonOutput) write(e *entry) error {
	o.line = appendJSONLine(o.line[:0], e)
	o.w.Write(o.line) // errors surface through ew
	return o.ew.take()
}

func (o *jsonOutput) flush() error {
	o.w.Flush()
	return o.ew.take()
}

func (o *jsonOutput) close(time.Time) error {
	err := o.flush()
	if cerr := o.f.Close(); err == nil && !errors.Is(cerr, os.ErrClosed) {
		err = cerr
	}
	return err
}

func (o *jsonOutput) abort() { o.f.Close() }

// errWriter keeps a write error out of a bufio.Writer, which would
// otherwise fail every later write: it reports success, remembers the
// first error, and the output takes it after each operation. What the
// failed write held is lost; the writes after it try the file again.
type errWriter struct {
	w   interface{ Write([]byte) (int, error) }
	err error
}

func (w *errWriter) Write(p []byte) (int, error) {
	if _, err := w.w.Write(p); err != nil && w.err == nil {
		w.err = err
	}
	return len(p), nil
}

func (w *errWriter) take() error {
	err := w.err
	w.err = nil
	return err
}
