package e2e

import (
	"bufio"
	"encoding/json"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	dnstap "github.com/dnstap/golang-dnstap"
	mdns "github.com/miekg/dns"
	"google.golang.org/protobuf/proto"
)

// Query logging end to end: the real binary writes JSON lines and a
// dnstap file for the queries dig sends, and both decode back to those
// queries (dnstap with golang-dnstap's reader and the dnstap protobuf).
func TestQueryLog(t *testing.T) {
	dir := t.TempDir()
	jsonl, tap := filepath.Join(dir, "queries.jsonl"), filepath.Join(dir, "queries.tap")
	s := Start(t, Options{
		Files: map[string]string{"example.com.yaml": "---\n'':\n  type: A\n  value: 192.0.2.1\nwww:\n  type: A\n  value: 192.0.2.2\n"},
		Extra: "query_log:\n  json: " + jsonl + "\n  dnstap: {file: " + tap + ", identity: ns-test}\n",
	})
	s.Dig("www.example.com", "A")
	s.Dig("nope.example.com", "A", "+tcp")
	s.Dig("www.example.com", "AAAA", "+subnet=198.51.100.0/24")
	s.Stop() // SIGTERM: what is queued is written

	type line struct {
		Client, Proto, Name, Type, Class, Rcode, Flags, ECS string
		Answers, Size                                       int
	}
	f, err := os.Open(jsonl)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var lines []line
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var l line
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("%v: %s", err, sc.Text())
		}
		lines = append(lines, l)
	}
	want := []line{
		{Client: "127.0.0.1", Proto: "udp", Name: "www.example.com.", Type: "A", Class: "IN", Rcode: "NOERROR", Answers: 1},
		{Client: "127.0.0.1", Proto: "tcp", Name: "nope.example.com.", Type: "A", Class: "IN", Rcode: "NXDOMAIN"},
		{Client: "127.0.0.1", Proto: "udp", Name: "www.example.com.", Type: "AAAA", Class: "IN", Rcode: "NOERROR", ECS: "198.51.100.0/24"},
	}
	if len(lines) != len(want) {
		t.Fatalf("%d JSON lines, want %d: %+v", len(lines), len(want), lines)
	}
	for i, w := range want {
		got := lines[i]
		if got.Size == 0 || !strings.Contains(got.Flags, "qr") || !strings.Contains(got.Flags, "aa") {
			t.Errorf("line %d: %+v", i, got)
		}
		got.Size, got.Flags = 0, ""
		if got != w {
			t.Errorf("line %d: %+v, want %+v", i, got, w)
		}
	}

	tf, err := os.Open(tap)
	if err != nil {
		t.Fatal(err)
	}
	defer tf.Close()
	r, err := dnstap.NewReader(tf, nil)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	buf := make([]byte, 1<<16)
	for {
		n, err := r.ReadFrame(buf)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		var d dnstap.Dnstap
		if err := proto.Unmarshal(buf[:n], &d); err != nil {
			t.Fatal(err)
		}
		m := d.GetMessage()
		if string(d.GetIdentity()) != "ns-test" || m.GetType() != dnstap.Message_AUTH_RESPONSE || len(m.GetQueryMessage()) == 0 {
			t.Fatalf("frame: %v", &d)
		}
		var q, resp mdns.Msg
		if err := q.Unpack(m.GetQueryMessage()); err != nil {
			t.Fatal(err)
		}
		if err := resp.Unpack(m.GetResponseMessage()); err != nil {
			t.Fatal(err)
		}
		if resp.Id != q.Id || !resp.Authoritative {
			t.Errorf("response %v to query %v", resp, q)
		}
		names = append(names, q.Question[0].Name+" "+mdns.TypeToString[q.Question[0].Qtype]+" "+m.GetSocketProtocol().String()+" "+mdns.RcodeToString[resp.Rcode])
	}
	if wantNames := []string{"www.example.com. A UDP NOERROR", "nope.example.com. A TCP NXDOMAIN", "www.example.com. AAAA UDP NOERROR"}; !slices.Equal(names, wantNames) {
		t.Errorf("dnstap frames: %v, want %v", names, wantNames)
	}
}

// dnstap to a collector's unix socket that appears after the server
// started: the server dials it in the background and the frames arrive.
func TestQueryLogDnstapSocket(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "dnstap.sock")
	s := Start(t, Options{
		Files: map[string]string{"example.com.yaml": "---\nwww:\n  type: A\n  value: 192.0.2.2\n"},
		Extra: "query_log:\n  dnstap: {socket: " + sock + "}\n",
	})
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	frames := make(chan []byte, 100)
	go func() {
		conn, err := l.Accept()
		if err != nil {
			return
		}
		defer conn.Close()
		r, err := dnstap.NewReader(conn, &dnstap.ReaderOptions{Bidirectional: true, Timeout: 10 * time.Second})
		if err != nil {
			return
		}
		buf := make([]byte, 1<<16)
		for {
			n, err := r.ReadFrame(buf)
			if err != nil {
				return
			}
			frames <- append([]byte(nil), buf[:n]...)
		}
	}()
	deadline := time.After(15 * time.Second)
	for {
		s.Dig("www.example.com", "A") // dropped (and counted) until the collector is connected
		select {
		case f := <-frames:
			var d dnstap.Dnstap
			if err := proto.Unmarshal(f, &d); err != nil {
				t.Fatal(err)
			}
			var q mdns.Msg
			if err := q.Unpack(d.GetMessage().GetQueryMessage()); err != nil || q.Question[0].Name != "www.example.com." {
				t.Fatalf("frame %v: %v", &d, err)
			}
			return
		case <-deadline:
			t.Fatalf("no frame on the socket:\n%s", s.Log())
		case <-time.After(200 * time.Millisecond):
		}
	}
}
