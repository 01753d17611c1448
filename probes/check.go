package probes

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/miekg/dns"

	"github.com/smartdns/smartdns/pool"
)

// maxBody bounds how much of an HTTP(S) response is read for ExpectBody.
const maxBody = 64 << 10

// checker runs single checks. It holds the HTTP clients, built once per
// Runner, so that its connections' settings are shared by every target.
type checker struct {
	dialer   *net.Dialer
	plain    *http.Client // HTTP, and HTTPS with TLSVerify
	insecure *http.Client // HTTPS without TLSVerify
}

// dialAddrKey carries, in a request's context, the address:port an HTTP
// check must connect to. The URL carries the Host (for the Host header
// and SNI), which may be another name than the one probed.
type dialAddrKey struct{}

func newChecker(d *net.Dialer) *checker {
	if d == nil {
		d = &net.Dialer{}
	}
	k := &checker{dialer: d}
	k.plain = k.client(false)
	k.insecure = k.client(true)
	return k
}

func (k *checker) client(insecure bool) *http.Client {
	tr := &http.Transport{
		Proxy: nil, // never a proxy from the environment
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			addr, _ := ctx.Value(dialAddrKey{}).(string)
			if addr == "" {
				return nil, errors.New("no address to probe")
			}
			return k.dialer.DialContext(ctx, network, addr)
		},
		// A check is one fresh connection: no pooling, so that every
		// check tests the connect path and targets never share a
		// connection.
		DisableKeepAlives:  true,
		DisableCompression: true,
		TLSClientConfig:    &tls.Config{InsecureSkipVerify: insecure}, //nolint:gosec // TLSVerify false asks for it
	}
	return &http.Client{
		Transport: tr,
		// A redirect is an answer like any other: its status is checked.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// check runs one check of c; nil means healthy. ctx carries the timeout.
func (k *checker) check(ctx context.Context, c *pool.Check) error {
	switch strings.ToUpper(c.Protocol) {
	case "HTTP":
		return k.http(ctx, c, false)
	case "HTTPS":
		return k.http(ctx, c, true)
	case "TCP":
		return k.tcp(ctx, c)
	case "UDP":
		return k.udp(ctx, c)
	case "ICMP":
		return k.icmp(ctx, c)
	case "DNS":
		return k.dns(ctx, c)
	default:
		return fmt.Errorf("unknown health-check protocol %q", c.Protocol)
	}
}

// bare strips the brackets of an IPv6 literal written as in a URL.
func bare(addr string) string {
	if len(addr) > 1 && addr[0] == '[' && addr[len(addr)-1] == ']' {
		return addr[1 : len(addr)-1]
	}
	return addr
}

func portOr(p, def int) int {
	if p > 0 {
		return p
	}
	return def
}

func (k *checker) tcp(ctx context.Context, c *pool.Check) error {
	if c.Port <= 0 {
		return errors.New("TCP check without a port")
	}
	conn, err := k.dialer.DialContext(ctx, "tcp", net.JoinHostPort(bare(c.Address), strconv.Itoa(c.Port)))
	if err != nil {
		return err
	}
	return conn.Close()
}

func (k *checker) http(ctx context.Context, c *pool.Check, secure bool) error {
	scheme, port := "http", portOr(c.Port, 80)
	if secure {
		scheme, port = "https", portOr(c.Port, 443)
	}
	// The URL's host is what the Host header and the TLS server name are
	// made of: the check's Host, or else the probed address.
	host := c.Host
	if host == "" {
		host = bare(c.Address)
	}
	if _, _, err := net.SplitHostPort(host); err != nil {
		if (secure && port == 443) || (!secure && port == 80) {
			if strings.Contains(host, ":") {
				host = "[" + host + "]"
			}
		} else {
			host = net.JoinHostPort(host, strconv.Itoa(port))
		}
	}
	path := c.Path
	if path == "" {
		path = "/"
	} else if path[0] != '/' {
		path = "/" + path
	}
	u, err := url.Parse(scheme + "://" + host + path)
	if err != nil {
		return fmt.Errorf("health-check URL: %w", err)
	}
	ctx = context.WithValue(ctx, dialAddrKey{}, net.JoinHostPort(bare(c.Address), strconv.Itoa(port)))
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return fmt.Errorf("health-check request: %w", err)
	}
	req.Header.Set("User-Agent", "smartdns-health-check")
	for name, v := range c.Headers {
		if strings.EqualFold(name, "Host") {
			req.Host = v
			continue
		}
		req.Header.Set(name, v)
	}
	cl := k.plain
	if secure && !c.TLSVerify {
		cl = k.insecure
	}
	resp, err := cl.Do(req)
	if err != nil {
		return unwrapURLError(err)
	}
	defer resp.Body.Close()
	want := c.ExpectStatus
	if len(want) == 0 {
		want = []int{http.StatusOK}
	}
	if !slices.Contains(want, resp.StatusCode) {
		return fmt.Errorf("HTTP status %d, want %s", resp.StatusCode, statusList(want))
	}
	if c.ExpectBody == "" {
		return nil
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return fmt.Errorf("reading the body: %w", err)
	}
	if !bytes.Contains(body, []byte(c.ExpectBody)) {
		return fmt.Errorf("body (first %d bytes) does not contain %q", len(body), c.ExpectBody)
	}
	return nil
}

// unwrapURLError drops net/http's `Get "URL": ` prefix, whose URL shows
// the Host rather than the address probed, keeping the cause.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

func statusList(s []int) string {
	if len(s) == 1 {
		return strconv.Itoa(s[0])
	}
	parts := make([]string, len(s))
	for i, v := range s {
		parts[i] = strconv.Itoa(v)
	}
	return "one of " + strings.Join(parts, ", ")
}

func (k *checker) dns(ctx context.Context, c *pool.Check) error {
	if c.DNSName == "" {
		return errors.New("DNS check without a name to ask for")
	}
	qtype := c.DNSType
	if qtype == 0 {
		qtype = dns.TypeA
	}
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(c.DNSName), qtype)
	m.RecursionDesired = false
	addr := net.JoinHostPort(bare(c.Address), strconv.Itoa(portOr(c.Port, 53)))
	cl := &dns.Client{Net: "udp", Dialer: k.dialer}
	r, _, err := cl.ExchangeContext(ctx, m, addr)
	if err == nil && r.Truncated {
		cl.Net = "tcp"
		r, _, err = cl.ExchangeContext(ctx, m, addr)
	}
	if err != nil {
		return err
	}
	if r.Rcode != dns.RcodeSuccess {
		return fmt.Errorf("DNS %s %s: %s", dns.Fqdn(c.DNSName), dns.TypeToString[qtype], dns.RcodeToString[r.Rcode])
	}
	if len(r.Answer) == 0 {
		return fmt.Errorf("DNS %s %s: no answer", dns.Fqdn(c.DNSName), dns.TypeToString[qtype])
	}
	return nil
}
