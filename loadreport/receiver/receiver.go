package receiver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/smartdns/smartdns/internal/store"
	"github.com/smartdns/smartdns/loadreport"
	"github.com/smartdns/smartdns/pool"
)

// DefaultMaxSkew is how far a report's ts may be from the server's clock.
const DefaultMaxSkew = 30 * time.Second

// PublishInterval is how often Run republishes the loads, so that
// staleness and slow-start ramps follow the clock between reports.
const PublishInterval = time.Second

// StoredReport is what a ReportStore keeps per site: the report as JSON
// (as encoding/json writes a loadreport.Report), when it was received, and
// the table's state for the site after it.
type StoredReport = store.ReportRecord

var _ ReportStore = (*store.Store)(nil)

// ReportStore keeps the latest accepted report of each site across
// restarts; *store.Store is one.
type ReportStore interface {
	SaveReport(site string, r StoredReport) error
	LoadReports() (map[string]StoredReport, error)
}

// Receiver accepts signed load reports over HTTP (it is an http.Handler
// for POST, mounted at loadreport.Path) and publishes the load table. Set
// its fields before first use and do not change them afterwards, except
// the keys through SetKeys. The saved reports are restored on first use (Restore,
// ServeHTTP or Run); until that succeeds, reports are refused with 503.
type Receiver struct {
	// Keys maps each site allowed to report to its HMAC key.
	Keys map[string][]byte
	// Store keeps the latest report of each site; nil keeps nothing, so
	// that a restart forgets loads and seqs.
	Store ReportStore
	// Health receives the loads; nil publishes nothing.
	Health *pool.HealthTable
	// StaleAfter, High and Low configure the load table; see Table for
	// their meaning and zero values.
	StaleAfter time.Duration
	High, Low  float64
	// MaxSkew is the largest accepted distance between a report's ts and
	// the server's clock; 0 means DefaultMaxSkew.
	MaxSkew time.Duration
	// Logger receives refused reports (debug) and store errors; nil
	// discards them.
	Logger *slog.Logger
	// Now is the server's clock; nil means time.Now.
	Now func() time.Time

	mu       sync.Mutex
	keys     map[string][]byte
	table    Table
	restored bool
}

func (rc *Receiver) now() time.Time {
	if rc.Now != nil {
		return rc.Now()
	}
	return time.Now()
}

func (rc *Receiver) log() *slog.Logger {
	if rc.Logger != nil {
		return rc.Logger
	}
	return slog.New(slog.DiscardHandler)
}

// Restore loads the saved reports of the configured sites into the table
// and publishes it. It does the work once; later calls return nil.
func (rc *Receiver) Restore() error {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return rc.restoreLocked()
}

func (rc *Receiver) restoreLocked() error {
	if rc.restored {
		return nil
	}
	if rc.keys == nil {
		rc.keys = rc.Keys
	}
	rc.table.StaleAfter, rc.table.High, rc.table.Low = rc.StaleAfter, rc.High, rc.Low
	if rc.Store != nil {
		saved, err := rc.Store.LoadReports()
		if err != nil {
			return fmt.Errorf("restoring the saved load reports: %w", err)
		}
		for site, sr := range saved {
			if _, ok := rc.keys[site]; !ok {
				continue
			}
			rep, err := loadreport.Decode(sr.Report)
			if err != nil || rep.Site != site {
				rc.log().Warn("ignoring a saved report that does not decode", "site", site, "err", err)
				continue
			}
			rc.table.Set(SiteState{Report: rep, Received: sr.Received, Smoothed: sr.Smoothed, Shed: sr.Shed, Returned: sr.Returned})
		}
	}
	rc.restored = true
	rc.publishLocked(rc.now())
	return nil
}

// SetKeys replaces the sites and their keys (on a configuration reload).
// Sites no longer listed are dropped from the table at once; their saved
// reports stay in the store.
func (rc *Receiver) SetKeys(keys map[string][]byte) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.keys = keys
	for _, s := range rc.table.Sites() {
		if _, ok := keys[s]; !ok {
			rc.table.Remove(s)
		}
	}
	if rc.restored {
		rc.publishLocked(rc.now())
	}
}

// Sites returns the state of every site that has reported, sorted by name,
// for the status API.
func (rc *Receiver) Sites() []SiteState {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	var out []SiteState
	for _, n := range rc.table.Sites() {
		s, _ := rc.table.Site(n)
		out = append(out, s)
	}
	return out
}

func (rc *Receiver) publishLocked(now time.Time) {
	if rc.Health != nil {
		rc.Health.PublishLoads(rc.table.Loads(now))
	}
}

// Run republishes the load table every PublishInterval until ctx ends,
// then returns nil. It returns an error only when the saved reports
// cannot be restored.
func (rc *Receiver) Run(ctx context.Context) error {
	if err := rc.Restore(); err != nil {
		return err
	}
	tick := time.NewTicker(PublishInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
			rc.mu.Lock()
			rc.publishLocked(rc.now())
			rc.mu.Unlock()
		}
	}
}

// reject is an HTTP refusal.
type reject struct {
	status int
	msg    string
}

// ServeHTTP handles POST loadreport.Path. The checks, in order (see the
// package documentation for why): method (405), size (413), signature
// header present and well formed (401), body a JSON object with a string
// site (400), site known (403), signature matches (401), strict decoding
// (400), ts window and seq (409), store (500 on failure); then 204.
func (rc *Receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if req.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeError(w, reject{http.StatusMethodNotAllowed, "method " + req.Method + " not allowed; use POST"})
		return
	}
	site, rj := rc.accept(w, req)
	if rj.status != 0 {
		rc.log().Debug("report refused", "remote", req.RemoteAddr, "site", site, "status", rj.status, "err", rj.msg)
		writeError(w, rj)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (rc *Receiver) accept(w http.ResponseWriter, req *http.Request) (site string, _ reject) {
	body, err := io.ReadAll(http.MaxBytesReader(w, req.Body, loadreport.MaxBody))
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return "", reject{http.StatusRequestEntityTooLarge, fmt.Sprintf("body larger than %d bytes", loadreport.MaxBody)}
		}
		return "", reject{http.StatusBadRequest, "reading body: " + err.Error()}
	}
	sig := req.Header.Get(loadreport.SignatureHeader)
	if sig == "" {
		return "", reject{http.StatusUnauthorized, "missing " + loadreport.SignatureHeader + " header"}
	}
	if _, err := loadreport.ParseSignature(sig); err != nil {
		return "", reject{http.StatusUnauthorized, err.Error()}
	}
	// Only the site is read before the signature is checked, so that an
	// unauthenticated sender learns nothing about the rest of the format.
	var head struct {
		Site *string `json:"site"`
	}
	if err := json.Unmarshal(body, &head); err != nil || head.Site == nil {
		return "", reject{http.StatusBadRequest, "body is not a JSON object with a string site"}
	}
	site = *head.Site

	rc.mu.Lock()
	defer rc.mu.Unlock()
	if err := rc.restoreLocked(); err != nil {
		rc.log().Error("cannot restore saved reports", "err", err)
		return site, reject{http.StatusServiceUnavailable, "saved reports not restored yet"}
	}
	key, ok := rc.keys[site]
	if !ok {
		return site, reject{http.StatusForbidden, fmt.Sprintf("unknown site %q", site)}
	}
	if !loadreport.Verify(body, key, sig) {
		return site, reject{http.StatusUnauthorized, "signature does not match"}
	}
	rep, err := loadreport.Decode(body)
	if err != nil {
		return site, reject{http.StatusBadRequest, err.Error()}
	}
	now := rc.now()
	maxSkew := int64(DefaultMaxSkew / time.Second)
	if rc.MaxSkew > 0 {
		maxSkew = int64(rc.MaxSkew / time.Second)
	}
	if d := now.Unix() - rep.TS; d > maxSkew || d < -maxSkew {
		return site, reject{http.StatusConflict, fmt.Sprintf("ts %d is %ds from the server's clock (%d); at most %ds allowed", rep.TS, d, now.Unix(), maxSkew)}
	}
	if prev, ok := rc.table.Site(site); ok && rep.Seq <= prev.Report.Seq {
		return site, reject{http.StatusConflict, fmt.Sprintf("seq %d is not above %d, the last accepted", rep.Seq, prev.Report.Seq)}
	}
	next := rc.table.Next(rep, now)
	if rc.Store != nil {
		enc, err := json.Marshal(rep)
		if err == nil {
			err = rc.Store.SaveReport(site, StoredReport{Report: enc, Received: now, Smoothed: next.Smoothed, Shed: next.Shed, Returned: next.Returned})
		}
		if err != nil {
			rc.log().Error("cannot store report", "site", site, "err", err)
			return site, reject{http.StatusInternalServerError, "report not stored"}
		}
	}
	rc.table.Set(next)
	rc.publishLocked(now)
	return site, reject{}
}

func writeError(w http.ResponseWriter, rj reject) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(rj.status)
	json.NewEncoder(w).Encode(struct {
		Error string `json:"error"`
	}{rj.msg})
}
