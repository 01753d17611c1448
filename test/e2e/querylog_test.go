package e2e

import (
	"bufio"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

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
