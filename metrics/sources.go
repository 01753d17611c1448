package metrics

import (
	"time"

	"github.com/smartdns/smartdns/internal/qstats"
	"github.com/smartdns/smartdns/loadreport/receiver"
	"github.com/smartdns/smartdns/pool"
	"github.com/smartdns/smartdns/probes"
	"github.com/smartdns/smartdns/status"
	"github.com/smartdns/smartdns/zones"
)

// Sources are the parts of the server the collector reads at every
// scrape, each through the narrowest view that serves it, so that the
// metrics depend on what they show and nothing else. Any field may be nil
// or zero: its metrics are then left out.
type Sources struct {
	// Version and Started say which build runs, and since when.
	Version string
	Started time.Time
	// Snapshot returns the zones being served.
	Snapshot func() *zones.Snapshot
	// Queries holds the query path's counters.
	Queries *qstats.Registry
	// Answers counts the answers per dynamic value.
	Answers AnswerCounter
	// Dynamic lists the dynamic records with their values' state.
	Dynamic DynamicLister
	// Overrides returns the operator's runtime overrides in force.
	Overrides func() map[string]pool.Status
	// Probes lists the health-check targets.
	Probes ProbeLister
	// Sites lists the sites' last reports; StaleAfter is when a report no
	// longer counts (receiver.DefaultStaleAfter when zero).
	Sites      SiteLister
	StaleAfter time.Duration
	// ReportsRefused counts the refused load reports by reason
	// (receiver.Receiver.Refused).
	ReportsRefused func() map[string]uint64
	// Reloads counts the zone loads.
	Reloads *status.Reloads
	// StateErrors counts the failed state-file transactions.
	StateErrors func() uint64
	// QueryLog and AliasResolutions read those counters.
	QueryLog         func() (logged, dropped, errors uint64)
	AliasResolutions func() (ok, negative, failed uint64)
}

// AnswerCounter is the answer tally (pool.Tally).
type AnswerCounter interface{ Counts() []pool.TallyCount }

// DynamicLister lists the dynamic records and their values' state
// (status.Sources).
type DynamicLister interface{ AllDynamic() []status.DynamicInfo }

// ProbeLister lists the health-check targets (probes.Runner).
type ProbeLister interface{ Status() []probes.TargetStatus }

// SiteLister lists the sites' last reports (receiver.Receiver).
type SiteLister interface{ Sites() []receiver.SiteState }
