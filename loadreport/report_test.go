package loadreport

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
)

const goodBody = `{"site": "fra", "addresses": ["192.0.2.1", "::ffff:192.0.2.2", "2001:DB8::1"], "load": 0.42, "draining": false, "ts": 1763770000, "seq": 17, "metrics": {"connections": 812, "capacity": 2000}}`

func TestDecodeGood(t *testing.T) {
	r, err := Decode([]byte(goodBody))
	if err != nil {
		t.Fatal(err)
	}
	want := Report{
		Site: "fra", Addresses: []string{"192.0.2.1", "192.0.2.2", "2001:db8::1"}, Load: 0.42,
		TS: 1763770000, Seq: 17, Metrics: map[string]float64{"connections": 812, "capacity": 2000},
	}
	if !reflect.DeepEqual(r, want) {
		t.Fatalf("got %+v\nwant %+v", r, want)
	}
	// Draining and metrics are optional; an empty metrics map is none.
	r, err = Decode([]byte(`{"site":"a","addresses":["::1"],"load":1,"ts":1,"seq":1,"metrics":{}}`))
	if err != nil || r.Metrics != nil || r.Draining {
		t.Fatalf("minimal: %+v %v", r, err)
	}
}

func TestDecodeBad(t *testing.T) {
	base := `"site":"fra","addresses":["192.0.2.1"],"load":0.5,"ts":1763770000,"seq":1`
	tests := []struct {
		name, body, field, msg string
	}{
		{"not JSON", `{"site":`, "", "not valid JSON"},
		{"array", `[1]`, "", "not a JSON object"},
		{"empty", ``, "", "not valid JSON"},
		{"trailing data", `{` + base + `} {}`, "", "data after"},
		{"unknown field", `{` + base + `,"lod":0.5}`, "lod", "unknown field"},
		{"duplicate key", `{` + base + `,"load":0.1}`, "load", "duplicate field"},
		{"missing site", `{"addresses":["192.0.2.1"],"load":0.5,"ts":1,"seq":1}`, "site", "missing"},
		{"missing addresses", `{"site":"fra","load":0.5,"ts":1,"seq":1}`, "addresses", "missing"},
		{"missing load", `{"site":"fra","addresses":["192.0.2.1"],"ts":1,"seq":1}`, "load", "missing"},
		{"missing ts", `{"site":"fra","addresses":["192.0.2.1"],"load":0.5,"seq":1}`, "ts", "missing"},
		{"missing seq", `{"site":"fra","addresses":["192.0.2.1"],"load":0.5,"ts":1}`, "seq", "missing"},
		{"site uppercase", `{"site":"FRA","addresses":["192.0.2.1"],"load":0.5,"ts":1,"seq":1}`, "site", "a-z0-9"},
		{"site empty", `{"site":"","addresses":["192.0.2.1"],"load":0.5,"ts":1,"seq":1}`, "site", "a-z0-9"},
		{"site too long", `{"site":"` + strings.Repeat("a", 64) + `","addresses":["192.0.2.1"],"load":0.5,"ts":1,"seq":1}`, "site", "a-z0-9"},
		{"site number", `{"site":1,"addresses":["192.0.2.1"],"load":0.5,"ts":1,"seq":1}`, "site", "not a string"},
		{"site null", `{"site":null,"addresses":["192.0.2.1"],"load":0.5,"ts":1,"seq":1}`, "site", "null"},
		{"load above 1", `{"site":"fra","addresses":["192.0.2.1"],"load":1.01,"ts":1,"seq":1}`, "load", "outside 0..1"},
		{"load negative", `{"site":"fra","addresses":["192.0.2.1"],"load":-0.1,"ts":1,"seq":1}`, "load", "outside 0..1"},
		{"load string", `{"site":"fra","addresses":["192.0.2.1"],"load":"0.5","ts":1,"seq":1}`, "load", "not a number"},
		{"load overflow", `{"site":"fra","addresses":["192.0.2.1"],"load":1e400,"ts":1,"seq":1}`, "load", "not a finite number"},
		{"load NaN", `{"site":"fra","addresses":["192.0.2.1"],"load":NaN,"ts":1,"seq":1}`, "", "not valid JSON"},
		{"bad address", `{"site":"fra","addresses":["192.0.2.300"],"load":0.5,"ts":1,"seq":1}`, "addresses", "bad address"},
		{"host name", `{"site":"fra","addresses":["www.example.com"],"load":0.5,"ts":1,"seq":1}`, "addresses", "bad address"},
		{"zoned address", `{"site":"fra","addresses":["fe80::1%eth0"],"load":0.5,"ts":1,"seq":1}`, "addresses", "bad address"},
		{"duplicate address", `{"site":"fra","addresses":["192.0.2.1","::ffff:192.0.2.1"],"load":0.5,"ts":1,"seq":1}`, "addresses", "duplicate address"},
		{"no addresses", `{"site":"fra","addresses":[],"load":0.5,"ts":1,"seq":1}`, "addresses", "0 addresses"},
		{"address number", `{"site":"fra","addresses":[1],"load":0.5,"ts":1,"seq":1}`, "addresses", "item 0 is not a string"},
		{"address null", `{"site":"fra","addresses":[null],"load":0.5,"ts":1,"seq":1}`, "addresses", "not a string"},
		{"addresses string", `{"site":"fra","addresses":"192.0.2.1","load":0.5,"ts":1,"seq":1}`, "addresses", "not a list"},
		{"seq zero", `{"site":"fra","addresses":["192.0.2.1"],"load":0.5,"ts":1,"seq":0}`, "seq", "not positive"},
		{"seq negative", `{"site":"fra","addresses":["192.0.2.1"],"load":0.5,"ts":1,"seq":-3}`, "seq", "not positive"},
		{"seq fraction", `{"site":"fra","addresses":["192.0.2.1"],"load":0.5,"ts":1,"seq":1.5}`, "seq", "not an integer"},
		{"seq huge", `{"site":"fra","addresses":["192.0.2.1"],"load":0.5,"ts":1,"seq":9223372036854775808}`, "seq", "not an integer"},
		{"ts string", `{"site":"fra","addresses":["192.0.2.1"],"load":0.5,"ts":"1","seq":1}`, "ts", "not a number"},
		{"draining string", `{` + base + `,"draining":"yes"}`, "draining", "not true or false"},
		{"metrics list", `{` + base + `,"metrics":[1]}`, "metrics", "not an object"},
		{"metric string", `{` + base + `,"metrics":{"a":"1"}}`, "metrics.a", "not a number"},
		{"metric duplicate", `{` + base + `,"metrics":{"a":1,"a":2}}`, "metrics", "duplicate metric"},
		{"metric name", `{` + base + `,"metrics":{"a b":1}}`, "metrics", "name"},
		{"metric null", `{` + base + `,"metrics":{"a":null}}`, "metrics.a", "null"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Decode([]byte(tt.body))
			var de *DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("err = %v, want a *DecodeError", err)
			}
			if de.Field != tt.field || !strings.Contains(de.Msg, tt.msg) {
				t.Fatalf("err = %q (field %q), want field %q and %q", err, de.Field, tt.field, tt.msg)
			}
		})
	}
}

func TestDecodeLimits(t *testing.T) {
	addrs := make([]string, MaxAddresses+1)
	for i := range addrs {
		addrs[i] = `"10.0.` + itoa(i/256) + `.` + itoa(i%256) + `"`
	}
	mk := func(n int) []byte {
		return []byte(`{"site":"fra","addresses":[` + strings.Join(addrs[:n], ",") + `],"load":0.5,"ts":1,"seq":1}`)
	}
	if _, err := Decode(mk(MaxAddresses)); err != nil {
		t.Fatalf("%d addresses: %v", MaxAddresses, err)
	}
	if _, err := Decode(mk(MaxAddresses + 1)); err == nil {
		t.Fatalf("%d addresses accepted", MaxAddresses+1)
	}
	if _, err := Decode(make([]byte, MaxBody+1)); err == nil {
		t.Fatal("oversized body accepted")
	}
}

func itoa(i int) string { b, _ := json.Marshal(i); return string(b) }

func TestSignVerify(t *testing.T) {
	body, key := []byte(goodBody), []byte("secret")
	sig := Sign(body, key)
	if !strings.HasPrefix(sig, "sha256=") || len(sig) != 7+64 {
		t.Fatalf("Sign = %q", sig)
	}
	// A known value, so that agents in other languages can check theirs.
	// (printf '{}' | openssl dgst -sha256 -hmac k)
	if got, want := Sign([]byte("{}"), []byte("k")), "sha256=add853b103fbcc936a194f9eb15e29c4ff08af6e47d5d1bca4f20218e31e4fff"; got != want {
		t.Fatalf("Sign({}) = %q", got)
	}
	for _, bad := range []string{"", sig[7:], "sha1=" + sig[7:], sig[:len(sig)-1], sig + "0", strings.Replace(sig, sig[7:9], "zz", 1)} {
		if Verify(body, key, bad) {
			t.Errorf("Verify accepted %q", bad)
		}
	}
	if !Verify(body, key, sig) || Verify(body, []byte("other"), sig) || Verify(append(body, ' '), key, sig) {
		t.Fatal("Verify wrong")
	}
}

func FuzzDecode(f *testing.F) {
	f.Add([]byte(goodBody))
	f.Add([]byte(`{"site":"a","addresses":["::1"],"load":1,"ts":1,"seq":1,"metrics":{}}`))
	f.Add([]byte(`{"site":"a","addresses":["::ffff:1.2.3.4"],"load":0,"draining":true,"ts":1,"seq":9223372036854775807}`))
	f.Add([]byte(`{"site":"a","site":"b"}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, body []byte) {
		r, err := Decode(body)
		if err != nil {
			return
		}
		enc, err := json.Marshal(r)
		if err != nil {
			t.Fatalf("re-encoding %+v: %v", r, err)
		}
		r2, err := Decode(enc)
		if err != nil {
			t.Fatalf("re-decoding %s: %v", enc, err)
		}
		if !reflect.DeepEqual(r, r2) {
			t.Fatalf("round trip changed the report:\n%+v\n%+v", r, r2)
		}
	})
}
