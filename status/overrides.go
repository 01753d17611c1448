package status

import (
	"fmt"
	"net/netip"
	"strings"

	mdns "github.com/miekg/dns"

	"github.com/smartdns/smartdns/pool"
)

// RestoreOverrides loads the saved overrides and publishes them; call it
// once before serving.
func (s *Sources) RestoreOverrides() error {
	if s.Store == nil || s.Health == nil {
		return nil
	}
	saved, err := s.Store.LoadOverrides()
	if err != nil {
		return err
	}
	m := map[string]pool.Status{}
	for v, st := range saved {
		if o, ok := overrideStatus(st); ok {
			m[v] = o
		} else {
			s.logger().Warn("ignoring an unknown override in the state file", "value", v, "status", st)
		}
	}
	s.Health.PublishOverrides(m)
	if len(m) > 0 {
		s.logger().Warn("runtime overrides in force", "count", len(m), "overrides", fmt.Sprint(m))
	}
	return nil
}

// CanonicalValue puts a value as the API received it into the form the
// zones use: an IP address as netip prints it (IPv4-mapped unmapped), or
// a host name in lower case with a final dot. ok is false for neither.
func CanonicalValue(s string) (string, bool) {
	if a, err := netip.ParseAddr(s); err == nil {
		if a.Zone() != "" {
			return "", false
		}
		return a.Unmap().String(), true
	}
	name := strings.ToLower(mdns.Fqdn(s))
	if s == "" || strings.ContainsAny(s, " \t/\\") {
		return "", false
	}
	if _, ok := mdns.IsDomainName(name); !ok {
		return "", false
	}
	return name, true
}

// SetOverride sets (up, down) or clears (obey) the override of a value,
// returning the previous status ("obey" when none). The state file is
// written first and the health table published after, so what answers use
// is always what a restart restores; a failed write changes nothing.
func (s *Sources) SetOverride(value string, st string) (previous string, err error) {
	if s.Store == nil || s.Health == nil {
		return "", fmt.Errorf("overrides need the state file and the health table")
	}
	s.overrideMu.Lock()
	defer s.overrideMu.Unlock()
	cur := s.Health.Overrides()
	previous = "obey"
	if o, ok := cur[value]; ok {
		previous = o.String()
	}
	save := st
	if st == "obey" {
		save = ""
	}
	if err := s.Store.SaveOverride(value, save); err != nil {
		return previous, err
	}
	next := make(map[string]pool.Status, len(cur)+1)
	for k, v := range cur {
		next[k] = v
	}
	if o, ok := overrideStatus(st); ok {
		next[value] = o
	} else {
		delete(next, value) // obey
	}
	s.Health.PublishOverrides(next)
	return previous, nil
}

// overrideStatus maps an override's name to its status; obey (no
// override) and anything else is false.
func overrideStatus(s string) (pool.Status, bool) {
	switch s {
	case "up":
		return pool.Up, true
	case "down":
		return pool.Down, true
	}
	return pool.Obey, false
}

// ValueUse is a place a value appears: a pool of a dynamic record.
type ValueUse struct {
	Zone   string `json:"zone"`
	Record string `json:"record"`
	Type   string `json:"type"`
	Pool   string `json:"pool"`
}

// Uses lists where a value appears among the served dynamic records.
func (s *Sources) Uses(value string) []ValueUse {
	out := []ValueUse{}
	snap := s.snapshot()
	if snap == nil {
		return out
	}
	for _, z := range snap.Zones() {
		for _, d := range z.Dynamic() {
			for _, p := range d.Record.Pools {
				for _, v := range p.Values {
					if v.Text == value {
						out = append(out, ValueUse{Zone: z.Origin, Record: d.Name, Type: typeName(d.Type), Pool: p.Name})
					}
				}
			}
		}
	}
	return out
}
