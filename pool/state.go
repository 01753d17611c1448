package pool

import "time"

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
	// Effective is the weight it is picked with: 0 when not serving, when
	// shed (unless the whole pool is shed) or when the pool has nothing to
	// serve (it falls back); the static weight times the least-loaded
	// factor under least-loaded, else the static weight.
	Effective float64 `json:"effective_weight"`
}

// States returns the record's pools with the state of each value in view
// v at now: the same judgement Pick makes, so what the status API shows
// is what is answered.
func (r *Record) States(v *View, now time.Time) []PoolState {
	out := make([]PoolState, len(r.Pools))
	for p := range r.Pools {
		pl := &r.Pools[p]
		ps := PoolState{Name: pl.Name, Values: make([]ValueState, len(pl.Values))}
		if pl.Fallback >= 0 {
			ps.Fallback = r.Pools[pl.Fallback].Name
		}
		set, _, _ := r.serving(pl, v, now)
		for i := range pl.Values {
			val := &pl.Values[i]
			vs := ValueState{Value: val.Text, Weight: val.Weight, Status: val.Status.String(), Check: val.Check}
			s := v.addr(val.addr - 1)
			if s != nil && s.forced {
				vs.Override = s.override.String()
			}
			if val.Member >= 0 && val.Check != nil && val.Status == Obey {
				vs.Health = v.State(val.Member).String()
			}
			if s != nil && s.hasLoad {
				l := s.load
				vs.Load = &l
			}
			cl, w := r.judge(val, v, now)
			vs.Serving = cl != classOut
			vs.Shed = cl == classShed
			if set != classOut && cl == set {
				vs.Effective = w
			}
			ps.Values[i] = vs
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
