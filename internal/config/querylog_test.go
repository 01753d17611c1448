package config

import (
	"math"
	"strings"
	"testing"
)

func TestQueryLogValidate(t *testing.T) {
	long := "/" + strings.Repeat("s", maxSocketPath)
	tests := []struct {
		name string
		c    QueryLog
		want []string // substrings, one per expected problem; none: valid
	}{
		{name: "zero is off and valid", c: QueryLog{}},
		{name: "json only", c: QueryLog{JSON: "/var/log/q.jsonl"}},
		{name: "socket and json, sampled", c: QueryLog{Sample: 0.01, JSON: "/q.jsonl", Dnstap: Dnstap{Socket: "/run/dnstap.sock"}, Buffer: 100}},
		{name: "sample one", c: QueryLog{Sample: 1, JSON: "/q"}},
		{name: "sample too big", c: QueryLog{Sample: 1.5, JSON: "/q"}, want: []string{"query_log.sample: must be in (0, 1], got 1.5"}},
		{name: "sample negative", c: QueryLog{Sample: -0.1, JSON: "/q"}, want: []string{"query_log.sample: must be in (0, 1], got -0.1"}},
		{name: "sample NaN", c: QueryLog{Sample: math.NaN(), JSON: "/q"}, want: []string{"query_log.sample: must be in (0, 1], got NaN"}},
		{name: "buffer negative", c: QueryLog{Buffer: -1, JSON: "/q"}, want: []string{"query_log.buffer: must be between 0 (meaning 10000) and 1000000, got -1"}},
		{name: "buffer huge", c: QueryLog{Buffer: 1 << 30, JSON: "/q"}, want: []string{"query_log.buffer:"}},
		{name: "buffer_bytes at the minimum", c: QueryLog{BufferBytes: MinQueryLogBufferBytes, JSON: "/q"}},
		{name: "buffer_bytes at the maximum", c: QueryLog{BufferBytes: maxBufferBytes, JSON: "/q"}},
		{name: "buffer_bytes negative", c: QueryLog{BufferBytes: -1, JSON: "/q"},
			want: []string{"query_log.buffer_bytes: must be 0 (meaning 67108864) or between 131072 and 4294967296 bytes, got -1"}},
		{name: "buffer_bytes below the largest entry", c: QueryLog{BufferBytes: MinQueryLogBufferBytes - 1, JSON: "/q"}, want: []string{"query_log.buffer_bytes:"}},
		{name: "buffer_bytes huge", c: QueryLog{BufferBytes: maxBufferBytes + 1, JSON: "/q"}, want: []string{"query_log.buffer_bytes:"}},
		{name: "socket and file", c: QueryLog{Dnstap: Dnstap{Socket: "/s", File: "/f"}}, want: []string{"query_log.dnstap: give socket or file, not both"}},
		{name: "socket path too long", c: QueryLog{Dnstap: Dnstap{Socket: long}}, want: []string{"query_log.dnstap.socket: the path is 108 bytes"}},
		{name: "same file twice", c: QueryLog{JSON: "/var/log/q", Dnstap: Dnstap{File: "/var/log/./q"}}, want: []string{"query_log.json and query_log.dnstap.file: both name"}},
		{name: "settings without output", c: QueryLog{Sample: 0.5, Dnstap: Dnstap{Identity: "ns1"}}, want: []string{"query_log: no output; set json, dnstap.socket or dnstap.file"}},
		{
			name: "every problem reported",
			c:    QueryLog{Sample: 2, Buffer: -5, Dnstap: Dnstap{Socket: "/s", File: "/f"}},
			want: []string{"query_log.sample:", "query_log.buffer:", "query_log.dnstap: give socket or file"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.c.Validate()
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate() = nil, want %q", tc.want)
			}
			lines := strings.Split(err.Error(), "\n")
			if len(lines) != len(tc.want) {
				t.Fatalf("Validate() = %q, want %d problems", err, len(tc.want))
			}
			for i, w := range tc.want {
				if !strings.HasPrefix(lines[i], w) {
					t.Errorf("problem %d = %q, want it to start with %q", i, lines[i], w)
				}
			}
		})
	}
}

func TestQueryLogQueueBytes(t *testing.T) {
	for _, tc := range []struct {
		c    QueryLog
		want int64
	}{
		{QueryLog{}, 64 << 20},
		{QueryLog{BufferBytes: 1 << 20}, 1 << 20},
	} {
		if got := tc.c.QueueBytes(); got != tc.want {
			t.Errorf("%+v.QueueBytes() = %d, want %d", tc.c, got, tc.want)
		}
	}
}

func TestQueryLogEnabled(t *testing.T) {
	for c, want := range map[QueryLog]bool{
		{}:                             false,
		{Sample: 0.5, Buffer: 10}:      false,
		{JSON: "/q"}:                   true,
		{Dnstap: Dnstap{Socket: "/s"}}: true,
		{Dnstap: Dnstap{File: "/f"}}:   true,
	} {
		if got := c.Enabled(); got != want {
			t.Errorf("%+v.Enabled() = %v, want %v", c, got, want)
		}
	}
}
