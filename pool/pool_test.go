package pool

import (
	"fmt"
	"math"
	"net/netip"
	"testing"
	"time"

	"github.com/smartdns/smartdns/geo"
)

func values(ws ...uint32) []Value {
	var out []Value
	for i, w := range ws {
		out = append(out, Value{Text: fmt.Sprintf("192.0.2.%d", i+1), Weight: w, Member: -1})
	}
	return out
}

func catchAll(p *Record) *Record {
	p.Rules = append(p.Rules, Rule{Pool: 0})
	p.Prepare()
	return p
}

var client = Client{Addr: netip.MustParseAddr("198.51.100.7"), Bits: 32}

// Over 10,000 picks, weights 1:2:7 come within 2 points of 10/20/70 %.
func TestWeightedDistribution(t *testing.T) {
	r := catchAll(&Record{Pools: []Pool{{Name: "p", Values: values(1, 2, 7), Fallback: -1}}})
	count := map[string]int{}
	var a Answer
	const n = 10000
	for i := 0; i < n; i++ {
		r.Pick(client, nil, nil, time.Now(), &a)
		count[a.Values[0].Text]++
	}
	for text, want := range map[string]float64{"192.0.2.1": 10, "192.0.2.2": 20, "192.0.2.3": 70} {
		got := 100 * float64(count[text]) / n
		if math.Abs(got-want) > 2 {
			t.Errorf("%s: %.1f%%, want %.0f%% ± 2", text, got, want)
		}
	}
}

// down is a view in which the given members are down and every other up.
func down(members ...int) *View {
	var states []State
	for _, m := range members {
		for len(states) <= m {
			states = append(states, Healthy)
		}
		states[m] = Unhealthy
	}
	var t HealthTable
	t.Publish(states)
	return t.View()
}

// Sticky: removing one of four values moves only the clients that were on
// it; every other client keeps its value.
func TestStickyMovesOnlyRemovedClients(t *testing.T) {
	vals := values(1, 1, 1, 1)
	for i := range vals {
		vals[i].Member = i
	}
	r := catchAll(&Record{Policy: Sticky, Pools: []Pool{{Name: "p", Values: vals, Fallback: -1}}})
	before := map[netip.Addr]string{}
	var a Answer
	perValue := map[string]int{}
	for i := 0; i < 2000; i++ {
		ip := netip.AddrFrom4([4]byte{10, byte(i >> 8), byte(i), 1})
		r.Pick(Client{Addr: ip, Bits: 32}, nil, nil, time.Now(), &a)
		before[ip] = a.Values[0].Text
		perValue[a.Values[0].Text]++
		if a.Scope != 24 {
			t.Fatalf("sticky scope %d, want 24", a.Scope)
		}
	}
	for text, n := range perValue {
		if n < 350 || n > 650 {
			t.Errorf("%s got %d of 2000 clients: not balanced", text, n)
		}
	}
	removed := "192.0.2.3"
	moved := 0
	for ip, old := range before {
		r.Pick(Client{Addr: ip, Bits: 32}, nil, down(2), time.Now(), &a)
		now := a.Values[0].Text
		if old != removed && now != old {
			t.Fatalf("client %s moved from %s to %s though %s was removed", ip, old, now, removed)
		}
		if old == removed {
			moved++
			if now == removed {
				t.Fatalf("client %s still on the removed value", ip)
			}
		}
	}
	if moved == 0 {
		t.Fatal("no client was on the removed value")
	}
	// The same client gets the same value every time.
	r.Pick(client, nil, nil, time.Now(), &a)
	first := a.Values[0].Text
	for i := 0; i < 50; i++ {
		r.Pick(client, nil, nil, time.Now(), &a)
		if a.Values[0].Text != first {
			t.Fatal("sticky answer changed for the same client")
		}
	}
}

func TestPriorityAndAnswers(t *testing.T) {
	vals := values(1, 1, 1)
	for i := range vals {
		vals[i].Member = i
	}
	r := catchAll(&Record{Policy: Priority, Answers: 2, Pools: []Pool{{Name: "p", Values: vals, Fallback: -1}}})
	var a Answer
	r.Pick(client, nil, down(0), time.Now(), &a)
	if a.N != 2 || a.Values[0].Text != "192.0.2.2" || a.Values[1].Text != "192.0.2.3" {
		t.Fatalf("priority with the first down: %v", a.Values[:a.N])
	}
	// Weighted with answers: N distinct values.
	r.Policy, r.Answers = Weighted, 3
	for i := 0; i < 100; i++ {
		r.Pick(client, nil, nil, time.Now(), &a)
		seen := map[string]bool{}
		for _, v := range a.Values[:a.N] {
			seen[v.Text] = true
		}
		if a.N != 3 || len(seen) != 3 {
			t.Fatalf("answers: 3 gave %d values, %d distinct", a.N, len(seen))
		}
	}
}

// Fallback chains and each exhausted mode.
func TestFallbackAndExhausted(t *testing.T) {
	mk := func(ex Exhausted) *Record {
		p0, p1 := values(1, 1), values(1)
		p0[0].Status, p0[1].Status = Down, Down
		p1[0].Text, p1[0].Member = "192.0.2.9", 7
		r := &Record{Exhausted: ex, Pools: []Pool{{Name: "a", Values: p0, Fallback: 1}, {Name: "b", Values: p1, Fallback: -1}},
			Backup: []Value{{Text: "203.0.113.1", Status: Up, Member: -1}}}
		return catchAll(r)
	}
	var a Answer
	r := mk(ExhaustBackup)
	r.Pick(client, nil, nil, time.Now(), &a)
	if a.Pool != 1 || a.Values[0].Text != "192.0.2.9" || a.NPools != 2 {
		t.Fatalf("fallback: pool %d %v", a.Pool, a.Values[0])
	}
	r.Pick(client, nil, down(7), time.Now(), &a)
	if !a.Backup || a.Values[0].Text != "203.0.113.1" {
		t.Fatalf("exhausted backup: %+v", a)
	}
	mk(ExhaustNoData).Pick(client, nil, down(7), time.Now(), &a)
	if !a.NoData || a.N != 0 {
		t.Fatalf("exhausted nodata: %+v", a)
	}
	mk(ExhaustAll).Pick(client, nil, down(7), time.Now(), &a)
	if !a.All || a.N != 2 || a.Pool != 0 {
		t.Fatalf("exhausted all: every value of the matched pool, got %+v", a)
	}
}

type fixedGeo geo.Location

func (f fixedGeo) Lookup(netip.Addr) geo.Location { return geo.Location(f) }

// The ECS scope is the widest prefix over which the answer cannot change.
func TestScope(t *testing.T) {
	gb, _ := geo.ParseCode("EU-GB")
	mk := func(rules ...Rule) *Record {
		r := &Record{Pools: []Pool{{Name: "a", Values: values(1), Fallback: -1}, {Name: "b", Values: values(1), Fallback: -1}}, Rules: rules}
		r.Prepare()
		return r
	}
	london := fixedGeo{Continent: "EU", Country: "GB", Prefix: 18}
	paris := fixedGeo{Continent: "EU", Country: "FR", Prefix: 20}
	for _, tc := range []struct {
		name  string
		r     *Record
		c     Client
		loc   Locator
		rule  int
		scope int
	}{
		{"catch-all only", mk(Rule{Pool: 0}), client, london, 0, 0},
		{"subnet match", mk(Rule{Pool: 1, Subnets: []netip.Prefix{netip.MustParsePrefix("198.51.100.0/24")}}, Rule{Pool: 0}), client, london, 0, 24},
		{"subnet miss", mk(Rule{Pool: 1, Subnets: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}}, Rule{Pool: 0}), client, london, 1, 8},
		{"geo match", mk(Rule{Pool: 1, Geos: []geo.Code{gb}}, Rule{Pool: 0}), client, london, 0, 18},
		{"geo miss", mk(Rule{Pool: 1, Geos: []geo.Code{gb}}, Rule{Pool: 0}), client, paris, 1, 20},
		{"subnet miss then geo", mk(Rule{Pool: 1, Subnets: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/26")}}, Rule{Pool: 1, Geos: []geo.Code{gb}}, Rule{Pool: 0}), client, london, 1, 26},
		{"subnet of the other family does not widen", mk(Rule{Pool: 1, Subnets: []netip.Prefix{netip.MustParsePrefix("2001:db8::/48")}}, Rule{Pool: 0}), client, london, 1, 0},
		{"capped at the address length", mk(Rule{Pool: 1, Subnets: []netip.Prefix{netip.MustParsePrefix("198.51.100.7/32")}}, Rule{Pool: 0}), client, london, 0, 32},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var a Answer
			tc.r.Pick(tc.c, tc.loc, nil, time.Now(), &a)
			if a.Rule != tc.rule || a.Scope != tc.scope {
				t.Fatalf("rule %d scope %d, want rule %d scope %d", a.Rule, a.Scope, tc.rule, tc.scope)
			}
		})
	}
}

func TestClosest(t *testing.T) {
	vals := values(1, 1, 1)
	vals[0].Lat, vals[0].Lon, vals[0].HasLocation = 50.1, 8.7, true   // Frankfurt
	vals[1].Lat, vals[1].Lon, vals[1].HasLocation = 38.9, -77.0, true // Washington
	vals[2].Lat, vals[2].Lon, vals[2].HasLocation = 35.7, 139.7, true // Tokyo
	r := catchAll(&Record{Policy: Closest, Pools: []Pool{{Name: "p", Values: vals, Fallback: -1}}})
	var a Answer
	r.Pick(client, fixedGeo{Lat: 51.5, Lon: -0.1, HasCoords: true, Prefix: 16}, nil, time.Now(), &a) // London
	if a.Values[0].Text != "192.0.2.1" || a.Scope != 16 {
		t.Fatalf("closest to London: %s scope %d", a.Values[0].Text, a.Scope)
	}
	r.Pick(client, fixedGeo{Lat: 37.5, Lon: 127.0, HasCoords: true, Prefix: 20}, nil, time.Now(), &a) // Seoul
	if a.Values[0].Text != "192.0.2.3" {
		t.Fatalf("closest to Seoul: %s", a.Values[0].Text)
	}
}

// A client whose location has no coordinates still gets the database
// network as scope under closest: its weighted answer must not be cached
// for the clients of networks that do have coordinates.
func TestClosestWithoutCoordinatesKeepsScope(t *testing.T) {
	vals := values(1, 1)
	vals[0].Lat, vals[0].Lon, vals[0].HasLocation = 50.1, 8.7, true
	vals[1].Lat, vals[1].Lon, vals[1].HasLocation = 38.9, -77.0, true
	r := catchAll(&Record{Policy: Closest, Pools: []Pool{{Name: "p", Values: vals, Fallback: -1}}})
	var a Answer
	r.Pick(client, fixedGeo{Continent: "EU", Prefix: 24}, nil, time.Now(), &a)
	if a.N != 1 || a.Scope != 24 {
		t.Fatalf("closest without coordinates: %d values, scope %d; want 1 value, scope 24", a.N, a.Scope)
	}
}

func BenchmarkPickWeighted(b *testing.B) {
	r := catchAll(&Record{Pools: []Pool{{Name: "p", Values: values(1, 2, 7), Fallback: -1}}})
	var a Answer
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		r.Pick(client, nil, nil, time.Now(), &a)
	}
}

func BenchmarkPickGeo(b *testing.B) {
	gb, _ := geo.ParseCode("EU-GB")
	r := &Record{Pools: []Pool{{Name: "a", Values: values(1, 1), Fallback: -1}, {Name: "b", Values: values(1), Fallback: -1}},
		Rules: []Rule{{Pool: 0, Geos: []geo.Code{gb}}, {Pool: 1}}}
	r.Prepare()
	loc := fixedGeo{Continent: "EU", Country: "GB", Prefix: 18}
	var a Answer
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		r.Pick(client, loc, nil, time.Now(), &a)
	}
}
