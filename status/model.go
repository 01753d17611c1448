package status

import (
	"fmt"
	"sort"
	"strings"
	"time"

	mdns "github.com/miekg/dns"

	"github.com/smartdns/smartdns/loadreport/receiver"
	"github.com/smartdns/smartdns/pool"
	"github.com/smartdns/smartdns/probes"
	"github.com/smartdns/smartdns/zones"
	"github.com/smartdns/smartdns/zones/zonefile"
)

// ZonesResponse is GET /api/v1/zones.
type ZonesResponse struct {
	// Generation is the snapshot being served; it increases with every
	// reload that changed something.
	Generation uint64     `json:"generation"`
	Zones      []ZoneInfo `json:"zones"`
}

// ZoneInfo is one zone served.
type ZoneInfo struct {
	Name    string      `json:"name"`
	Serial  uint32      `json:"serial"`
	File    string      `json:"file"`
	Records int         `json:"records"`
	Dynamic []RecordRef `json:"dynamic"`
}

// RecordRef names a dynamic record.
type RecordRef struct {
	Name string `json:"name"`
	Type string `json:"type"`
}

// RecordsResponse is GET /api/v1/records/{fqdn}: every RRset at the name.
type RecordsResponse struct {
	Name    string        `json:"name"`
	Zone    string        `json:"zone"`
	Static  []StaticSet   `json:"static"`
	Dynamic []DynamicInfo `json:"dynamic"`
}

// StaticSet is a static RRset, in presentation form.
type StaticSet struct {
	Type   string   `json:"type"`
	TTL    uint32   `json:"ttl"`
	Values []string `json:"values"`
}

// DynamicInfo is a dynamic record with the live state of its values.
type DynamicInfo struct {
	Name      string     `json:"name"`
	Zone      string     `json:"zone"`
	Type      string     `json:"type"`
	TTL       uint32     `json:"ttl"`
	Policy    string     `json:"policy"`
	Answers   int        `json:"answers"`
	Exhausted string     `json:"exhausted"`
	Rules     []RuleInfo `json:"rules"`
	Pools     []PoolInfo `json:"pools"`
	// Backup are the record's own values, served when the chains are
	// exhausted; BackupAnswers counts those answers over the last minute.
	Backup        []string `json:"backup"`
	BackupAnswers uint64   `json:"backup_answers_last_minute"`
	// AnswersLastMinute counts the record's answers over the last minute.
	AnswersLastMinute uint64 `json:"answers_last_minute"`
}

// RuleInfo is one rule: what it matches and the pool it sends to.
type RuleInfo struct {
	Index int    `json:"index"` // from 0
	Match string `json:"match"`
	Pool  string `json:"pool"`
}

// PoolInfo is one pool with its values.
type PoolInfo struct {
	Name              string      `json:"name"`
	Fallback          string      `json:"fallback,omitempty"`
	AnswersLastMinute uint64      `json:"answers_last_minute"`
	Values            []ValueInfo `json:"values"`
}

// ValueInfo is one value of a pool: configuration, live state and result.
type ValueInfo struct {
	Value string `json:"value"`
	// Weight is the static weight from the zone.
	Weight uint32 `json:"weight"`
	// Status is the zone's: obey, up or down.
	Status string `json:"status"`
	// Override is the operator's runtime override, up or down; "" for none.
	Override string `json:"override,omitempty"`
	// State sums it up: up, down, disabled (status down in the zone),
	// draining, shed, "override up" or "override down".
	State   string `json:"state"`
	Serving bool   `json:"serving"`
	// Health is the probe's view; absent when the value is not probed.
	Health *HealthInfo `json:"health,omitempty"`
	// Load is the covering site's last report; absent when none.
	Load *LoadInfo `json:"load,omitempty"`
	// EffectiveWeight is what the value is picked with now (see
	// pool.ValueState.Effective); EffectiveShare is its part of the pool's
	// total effective weight, 0..1.
	EffectiveWeight float64 `json:"effective_weight"`
	EffectiveShare  float64 `json:"effective_share"`
	// AnswersLastMinute counts the answers that carried the value over
	// the last minute from this pool, AnswersTotal since start; Share is
	// its part of the pool's answers over the last minute, 0..1.
	AnswersLastMinute uint64  `json:"answers_last_minute"`
	AnswersTotal      uint64  `json:"answers_total"`
	Share             float64 `json:"share"`
}

// HealthInfo is a probed value's health.
type HealthInfo struct {
	State string `json:"state"` // up, down or unknown
	// Check describes the check: "HTTP 192.0.2.1:80/health".
	Check      string     `json:"check"`
	LastCheck  *time.Time `json:"last_check,omitempty"`
	LastChange *time.Time `json:"last_change,omitempty"`
	// LastError is the last check's error, "" after a success.
	LastError           string  `json:"last_error,omitempty"`
	LastDurationSeconds float64 `json:"last_duration_seconds"`
	Transitions         int     `json:"transitions"`
}

// LoadInfo is what a site reports about a value.
type LoadInfo struct {
	Site string `json:"site"`
	// Load is the last reported load, Smoothed its moving average.
	Load     float64 `json:"load"`
	Smoothed float64 `json:"smoothed"`
	// Fresh: younger than reports.stale_after; a stale report is ignored.
	Fresh      bool       `json:"fresh"`
	Draining   bool       `json:"draining"`
	Received   *time.Time `json:"received,omitempty"`
	AgeSeconds float64    `json:"age_seconds"`
}

// view is one consistent reading of the sources for a request.
type view struct {
	src *Sources
	now time.Time
	// state is the health, loads and overrides every record of the
	// request is shown with.
	state  *pool.View
	probes map[string]probes.TargetStatus
	sites  map[string]receiver.SiteState
	tally  map[pool.TallyKey]pool.TallyCount
}

func (s *Sources) view() *view {
	v := &view{src: s, now: time.Now(), state: s.state(), probes: map[string]probes.TargetStatus{}, sites: map[string]receiver.SiteState{}, tally: map[pool.TallyKey]pool.TallyCount{}}
	if s.Probes != nil {
		for _, t := range s.Probes.Status() {
			v.probes[t.Key] = t
		}
	}
	if s.Reports != nil {
		for _, st := range s.Reports.Sites() {
			v.sites[st.Report.Site] = st
		}
	}
	for _, c := range s.Tally.Counts() {
		v.tally[c.Key] = c
	}
	return v
}

func (s *Sources) snapshot() *zones.Snapshot {
	if s.Snapshot == nil {
		return nil
	}
	return s.Snapshot()
}

// Zones builds the zones list.
func (s *Sources) Zones() ZonesResponse {
	snap := s.snapshot()
	out := ZonesResponse{Zones: []ZoneInfo{}}
	if snap == nil {
		return out
	}
	out.Generation = snap.Generation
	for _, z := range snap.Zones() {
		zi := ZoneInfo{Name: z.Origin, Serial: z.Serial, File: z.File, Records: z.Records, Dynamic: []RecordRef{}}
		for _, d := range z.Dynamic() {
			zi.Dynamic = append(zi.Dynamic, RecordRef{Name: d.Name, Type: typeName(d.Type)})
		}
		out.Zones = append(out.Zones, zi)
	}
	sort.Slice(out.Zones, func(i, j int) bool { return out.Zones[i].Name < out.Zones[j].Name })
	return out
}

// AllDynamic returns every dynamic record of every zone with its state,
// for the status page and the metrics.
func (s *Sources) AllDynamic() []DynamicInfo {
	snap := s.snapshot()
	if snap == nil {
		return nil
	}
	v := s.view()
	var out []DynamicInfo
	zs := snap.Zones()
	sort.Slice(zs, func(i, j int) bool { return zs[i].Origin < zs[j].Origin })
	for _, z := range zs {
		for _, d := range z.Dynamic() {
			out = append(out, v.dynamic(z.Origin, d))
		}
	}
	return out
}

// lookupError says why a record lookup found nothing, with the HTTP status.
type lookupError struct {
	status int
	msg    string
}

func (e *lookupError) Error() string { return e.msg }

// Records builds the view of one name. fqdn is in presentation form.
func (s *Sources) Records(fqdn string) (RecordsResponse, error) {
	name := strings.ToLower(mdns.Fqdn(fqdn))
	if _, ok := mdns.IsDomainName(name); !ok {
		return RecordsResponse{}, &lookupError{400, fmt.Sprintf("%q is not a domain name", fqdn)}
	}
	wire, err := zonefile.WireName(name)
	if err != nil {
		return RecordsResponse{}, &lookupError{400, err.Error()}
	}
	snap := s.snapshot()
	var z *zones.Zone
	if snap != nil {
		z = snap.Find(wire)
	}
	if z == nil {
		return RecordsResponse{}, &lookupError{404, fmt.Sprintf("%s is in no zone this server serves", name)}
	}
	n := z.Node(wire)
	if n == nil || n.Empty() {
		return RecordsResponse{}, &lookupError{404, fmt.Sprintf("%s has no records in zone %s", name, z.Origin)}
	}
	out := RecordsResponse{Name: name, Zone: z.Origin, Static: []StaticSet{}, Dynamic: []DynamicInfo{}}
	v := s.view()
	for i := range n.Sets {
		set := &n.Sets[i]
		if set.Dynamic != nil {
			out.Dynamic = append(out.Dynamic, v.dynamic(z.Origin, zones.DynamicRecord{Name: name, Type: set.Type, Record: set.Dynamic}))
			continue
		}
		st := StaticSet{Type: typeName(set.Type), TTL: set.TTL, Values: []string{}}
		for _, rr := range set.RRs(name) {
			f := strings.SplitN(rr.String(), "\t", 5)
			st.Values = append(st.Values, f[len(f)-1])
		}
		out.Static = append(out.Static, st)
	}
	if n.Alias != "" {
		out.Static = append(out.Static, StaticSet{Type: "ALIAS", Values: []string{zonefile.PresentName(n.Alias)}})
	}
	return out, nil
}

func (v *view) dynamic(zone string, d zones.DynamicRecord) DynamicInfo {
	r := d.Record
	typ := typeName(d.Type)
	di := DynamicInfo{
		Name: d.Name, Zone: zone, Type: typ, TTL: r.TTL, Policy: r.Policy.String(),
		Answers: r.Answers, Exhausted: r.Exhausted.String(), Rules: []RuleInfo{}, Pools: []PoolInfo{},
		Backup: r.BackupValues(),
	}
	for i := range r.Rules {
		di.Rules = append(di.Rules, RuleInfo{Index: i, Match: pool.RuleText(&r.Rules[i]), Pool: r.Pools[r.Rules[i].Pool].Name})
	}
	key := pool.TallyKey{Zone: zone, Record: d.Name, Type: typ}
	for _, b := range di.Backup {
		key.Pool, key.Value = "", b
		di.BackupAnswers += v.tally[key].LastMinute
	}
	di.AnswersLastMinute = di.BackupAnswers
	for _, ps := range r.States(v.state, v.now) {
		pi := PoolInfo{Name: ps.Name, Fallback: ps.Fallback, Values: []ValueInfo{}}
		var effTotal float64
		for _, vs := range ps.Values {
			effTotal += vs.Effective
			key.Pool, key.Value = ps.Name, vs.Value
			c := v.tally[key]
			pi.AnswersLastMinute += c.LastMinute
			pi.Values = append(pi.Values, v.value(vs, c))
		}
		for i := range pi.Values {
			vi := &pi.Values[i]
			if effTotal > 0 {
				vi.EffectiveShare = vi.EffectiveWeight / effTotal
			}
			if pi.AnswersLastMinute > 0 {
				vi.Share = float64(vi.AnswersLastMinute) / float64(pi.AnswersLastMinute)
			}
		}
		di.AnswersLastMinute += pi.AnswersLastMinute
		di.Pools = append(di.Pools, pi)
	}
	return di
}

func (v *view) value(vs pool.ValueState, c pool.TallyCount) ValueInfo {
	vi := ValueInfo{
		Value: vs.Value, Weight: vs.Weight, Status: vs.Status, Override: vs.Override,
		Serving: vs.Serving, EffectiveWeight: vs.Effective,
		AnswersLastMinute: c.LastMinute, AnswersTotal: c.Total,
	}
	if vs.Check != nil && vs.Health != "" {
		h := &HealthInfo{State: vs.Health, Check: Describe(vs.Check)}
		if t, ok := v.probes[vs.Check.Key()]; ok {
			h.State = t.State.String()
			h.LastCheck, h.LastChange = timePtr(t.LastCheck), timePtr(t.LastChange)
			h.LastError = t.LastError
			h.LastDurationSeconds = t.LastDuration.Seconds()
			h.Transitions = t.Transitions
		}
		vi.Health = h
	}
	if l := vs.Load; l != nil {
		li := &LoadInfo{Site: l.Site, Smoothed: l.Smoothed, Fresh: l.Fresh, Draining: l.Draining}
		if st, ok := v.sites[l.Site]; ok {
			li.Load = st.Report.Load
			li.Received = timePtr(st.Received)
			li.AgeSeconds = v.now.Sub(st.Received).Seconds()
		}
		vi.Load = li
	}
	switch {
	case vs.Override != "":
		vi.State = "override " + vs.Override
	case vs.Status == "down":
		vi.State = "disabled"
	case vs.Health == "down":
		vi.State = "down"
	case vs.Load != nil && vs.Load.Fresh && vs.Load.Draining:
		vi.State = "draining"
	case vs.Shed:
		vi.State = "shed"
	default:
		vi.State = "up"
	}
	return vi
}

// Describe says what a check probes: "HTTPS 192.0.2.1:443/health".
func Describe(c *pool.Check) string {
	s := fmt.Sprintf("%s %s", c.Protocol, hostPort(c.Address, c.Port))
	switch c.Protocol {
	case "HTTP", "HTTPS":
		s += c.Path
	case "DNS":
		s += " " + c.DNSName + " " + typeName(c.DNSType)
	}
	return s
}

func hostPort(addr string, port int) string {
	if port == 0 {
		return addr
	}
	if strings.Contains(addr, ":") {
		return fmt.Sprintf("[%s]:%d", addr, port)
	}
	return fmt.Sprintf("%s:%d", addr, port)
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	t = t.UTC()
	return &t
}

func typeName(t uint16) string {
	if s, ok := mdns.TypeToString[t]; ok {
		return s
	}
	return fmt.Sprintf("TYPE%d", t)
}
