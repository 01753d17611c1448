package pool

import (
	"sync/atomic"
	"time"
)

// PoolState is one pool of a record as it stands: what the status API,
// the status page and the metrics show. Built off the query path.
type PoolState struct {
	Name     string       `json:"name"`
	Fallback string       `json:"fallback,omitempty"`
	Values   []ValueState `json:"values"`
}

// ValueState is one value of a pool: what the zone says, what health,
// reports and the operator say, and the weight it gets as a result.
type ValueState struct {
	Value string `json:"value"`
	// Weight is the static weight from the zone.
	Weight uint32 `json:"weight"`
	// Status is the zone's status: obey, up or down.
	Status string `json:"status"`
	// Override is the operator's runtime override (up or down), "" when
	// none.
	Override string `json:"override,omitempty"`
	// Health is the probe state: up, down, unknown, or "" when the value
	// is not probed.
	Health string `json:"health,omitempty"`
	// Check is how the value is probed; nil when it is not.
	Check *Check `json:"-"`
	// Load is what the site's reports say, when a report covers it.
	Load *Load `json:"-"`
	// Shed: above the high watermark and not yet back under the low one.
	Shed bool `json:"shed"`
	// Serving: the value may be answered now.
	Serving bool `json:"serving"`
	// Effective is the weight it is picked with: 0 when not serving or
	// shed (unless the whole pool is shed), the static weight times the
	// site's headroom under least-loaded, else the static weight.
	Effective float64 `json:"effective_weight"`
}

// Stater is implemented by a Health that can tell a member's state.
type Stater interface {
	State(member int) State
}

// States returns the record's pools with the state of each value.
func (r *Record) States(h Health, now time.Time) []PoolState {
	loads, _ := h.(Loads)
	states, _ := h.(Stater)
	ov := overridesOf(h)
	out := make([]PoolState, len(r.Pools))
	for p := range r.Pools {
		pl := &r.Pools[p]
		ps := PoolState{Name: pl.Name, Values: make([]ValueState, len(pl.Values))}
		if pl.Fallback >= 0 {
			ps.Fallback = r.Pools[pl.Fallback].Name
		}
		allShed := true
		for i := range pl.Values {
			v := &pl.Values[i]
			vs := ValueState{Value: v.Text, Weight: v.Weight, Status: v.Status.String(), Check: v.Check}
			o, forced := ov[v.Text]
			if forced {
				vs.Override = o.String()
			}
			if v.Member >= 0 && v.Check != nil && v.Status == Obey {
				vs.Health = Unknown.String()
				if states != nil {
					vs.Health = states.State(v.Member).String()
				}
			}
			vs.Serving = up(v, h, ov)
			w := float64(max(v.Weight, 1))
			if loads != nil {
				if l, ok := loads.Load(v.Text); ok {
					vs.Load = &l
					if l.Fresh && !forced {
						if l.Draining {
							vs.Serving = false
						}
						if r.Policy == LeastLoaded {
							w *= r.factor(l, now)
							vs.Shed = atomic.LoadUint32(&v.shed) == 1
						}
					}
				}
			}
			if vs.Serving {
				vs.Effective = w
				if !vs.Shed {
					allShed = false
				}
			}
			ps.Values[i] = vs
		}
		if !allShed {
			for i := range ps.Values {
				if ps.Values[i].Shed {
					ps.Values[i].Effective = 0
				}
			}
		}
		out[p] = ps
	}
	return out
}

// BackupValues returns the record's own values, served when its chains
// are exhausted.
func (r *Record) BackupValues() []string {
	out := make([]string, len(r.Backup))
	for i := range r.Backup {
		out[i] = r.Backup[i].Text
	}
	return out
}
