package receiver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"sort"
	"sync"
	"sync/atomic"
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
// the sites through SetSites. The saved reports are restored on first use (Restore,
// ServeHTTP or Run); until that succeeds, reports are refused with 503.
type Receiver struct {
	// Keys maps each site allowed to report to its HMAC key.
	Keys map[string][]byte
	// Addresses maps a site to the prefixes its reports may name (a
	// single address is a /32 or /128). A site without an entry may name
	// any address, so that a leaked key could steer every address: Restore
	// and SetSites log a warning for each such site.
	Addresses map[string][]netip.Prefix
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
	addrs    map[string][]netip.Prefix
	table    Table
	restored bool

	refused [numReasons]atomic.Uint64
	// lastLog is when each reason was last logged (Unix nanoseconds), and
	// quiet how many refusals were not logged since.
	lastLog [numReasons]atomic.Int64
	quiet   [numReasons]atomic.Uint64
}

// Reason is why a report was refused, the label of
// smartdns_reports_refused_total.
type Reason int

// The reasons a report is refused.
const (
	ReasonMethod    Reason = iota // not POST (405)
	ReasonSize                    // body over loadreport.MaxBody (413)
	ReasonSignature               // signature missing, malformed or not matching (401)
	ReasonDecode                  // body unreadable or not a valid report (400)
	ReasonSite                    // site not configured (403)
	ReasonAddress                 // an address the site may not report (403)
	ReasonSkew                    // ts too far from the server's clock (409)
	ReasonReplay                  // seq and ts not after the last accepted (409)
	ReasonStore                   // the store failed or is not restored (500, 503)
	numReasons
)

var reasonNames = [numReasons]string{"method", "size", "signature", "decode", "site", "address", "skew", "replay", "store"}

func (r Reason) String() string { return reasonNames[r] }

// Refused returns how many reports were refused, for every reason (zeros
// included), keyed by the reason's name.
func (rc *Receiver) Refused() map[string]uint64 {
	out := make(map[string]uint64, numReasons)
	for i := range numReasons {
		out[reasonNames[i]] = rc.refused[i].Load()
	}
	return out
}

// logInterval is the least time between two log lines of one reason, so
// that a flood of bad reports cannot flood the log.
const logInterval = time.Second

// noteRefused counts a refusal and logs it, at most once per logInterval
// per reason (the line says how many were not logged since the last).
func (rc *Receiver) noteRefused(req *http.Request, site string, rj reject) {
	rc.refused[rj.reason].Add(1)
	now := time.Now().UnixNano()
	last := rc.lastLog[rj.reason].Load()
	if now-last < int64(logInterval) || !rc.lastLog[rj.reason].CompareAndSwap(last, now) {
		rc.quiet[rj.reason].Add(1)
		return
	}
	rc.log().Warn("load report refused", "reason", rj.reason.String(), "remote", req.RemoteAddr, "site", site,
		"status", rj.status, "err", rj.msg, "unlogged_since_last", rc.quiet[rj.reason].Swap(0))
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
		rc.keys, rc.addrs = rc.Keys, rc.Addresses
		rc.warnOpenLocked()
	}
	rc.table.Allow = rc.allowedLocked
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

// SetSites replaces the sites, their keys and the addresses they may
// report (on a configuration reload); see Keys and Addresses. Sites no
// longer listed are dropped from the table at once; their saved reports
// stay in the store. An address a site may no longer report is no longer
// published for it.
func (rc *Receiver) SetSites(keys map[string][]byte, addresses map[string][]netip.Prefix) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.keys, rc.addrs = keys, addresses
	rc.warnOpenLocked()
	for _, s := range rc.table.Sites() {
		if _, ok := keys[s]; !ok {
			rc.table.Remove(s)
		}
	}
	if rc.restored {
		rc.publishLocked(rc.now())
	}
}

// warnOpenLocked logs, for each site that may report any address, that its
// key alone steers every address.
func (rc *Receiver) warnOpenLocked() {
	var open []string
	for site := range rc.keys {
		if _, ok := rc.addrs[site]; !ok {
			open = append(open, site)
		}
	}
	sort.Strings(open)
	for _, site := range open {
		rc.log().Warn("site may report any address: a leaked key could steer every address; list the site's addresses in sites."+site+".addresses", "site", site)
	}
}

// allowedLocked reports whether site may report addr (canonical form, as
// Decode leaves it).
func (rc *Receiver) allowedLocked(site, addr string) bool {
	prefixes, ok := rc.addrs[site]
	if !ok {
		return true
	}
	a, err := netip.ParseAddr(addr)
	if err != nil {
		return false
	}
	a = a.WithZone("")
	for _, p := range prefixes {
		if p.Contains(a) {
			return true
		}
	}
	return false
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
	reason Reason
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
		rj := reject{http.StatusMethodNotAllowed, ReasonMethod, "method " + req.Method + " not allowed; use POST"}
		rc.noteRefused(req, "", rj)
		writeError(w, rj)
		return
	}
	site, rj := rc.accept(w, req)
	if rj.status != 0 {
		rc.noteRefused(req, site, rj)
		writeError(w, rj)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (rc *Receiver) accept(w http.ResponseWriter, req *http.Request) (site string, _ reject) {
	body, err := io.ReadAll(http.MaxBytesReader(w, req.Body, loadreport.MaxBody))
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return "", reject{http.StatusRequestEntityTooLarge, ReasonSize, fmt.Sprintf("body larger than %d bytes", loadreport.MaxBody)}
		}
		return "", reject{http.StatusBadRequest, ReasonDecode, "reading body: " + err.Error()}
	}
	sig := req.Header.Get(loadreport.SignatureHeader)
	if sig == "" {
		return "", reject{http.StatusUnauthorized, ReasonSignature, "missing " + loadreport.SignatureHeader + " header"}
	}
	if _, err := loadreport.ParseSignature(sig); err != nil {
		return "", reject{http.StatusUnauthorized, ReasonSignature, err.Error()}
	}
	// Only the site is read before the signature is checked, so that an
	// unauthenticated sender learns nothing about the rest of the format.
	var head struct {
		Site *string `json:"site"`
	}
	if err := json.Unmarshal(body, &head); err != nil || head.Site == nil {
		return "", reject{http.StatusBadRequest, ReasonDecode, "body is not a JSON object with a string site"}
	}
	site = *head.Site

	rc.mu.Lock()
	defer rc.mu.Unlock()
	if err := rc.restoreLocked(); err != nil {
		rc.log().Error("cannot restore saved reports", "err", err)
		return site, reject{http.StatusServiceUnavailable, ReasonStore, "saved reports not restored yet"}
	}
	key, ok := rc.keys[site]
	if !ok {
		return site, reject{http.StatusForbidden, ReasonSite, fmt.Sprintf("unknown site %q", site)}
	}
	if !loadreport.Verify(body, key, sig) {
		return site, reject{http.StatusUnauthorized, ReasonSignature, "signature does not match"}
	}
	rep, err := loadreport.Decode(body)
	if err != nil {
		return site, reject{http.StatusBadRequest, ReasonDecode, err.Error()}
	}
	for _, a := range rep.Addresses {
		if !rc.allowedLocked(site, a) {
			return site, reject{http.StatusForbidden, ReasonAddress, fmt.Sprintf("address %s is not one site %s may report (sites.%s.addresses)", a, site, site)}
		}
	}
	now := rc.now()
	maxSkew := int64(DefaultMaxSkew / time.Second)
	if rc.MaxSkew > 0 {
		maxSkew = int64(rc.MaxSkew / time.Second)
	}
	if d := now.Unix() - rep.TS; d > maxSkew || d < -maxSkew {
		return site, reject{http.StatusConflict, ReasonSkew, fmt.Sprintf("ts %d is %ds from the server's clock (%d); at most %ds allowed", rep.TS, d, now.Unix(), maxSkew)}
	}
	if prev, ok := rc.table.Site(site); ok {
		if msg := after(rep, prev, now, maxSkew); msg != "" {
			return site, reject{http.StatusConflict, ReasonReplay, msg}
		}
	}
	next := rc.table.Next(rep, now)
	if rc.Store != nil {
		enc, err := json.Marshal(rep)
		if err == nil {
			err = rc.Store.SaveReport(site, StoredReport{Report: enc, Received: now, Smoothed: next.Smoothed, Shed: next.Shed, Returned: next.Returned})
		}
		if err != nil {
			rc.log().Error("cannot store report", "site", site, "err", err)
			return site, reject{http.StatusInternalServerError, ReasonStore, "report not stored"}
		}
	}
	rc.table.Set(next)
	rc.publishLocked(now)
	return site, reject{}
}

// after says why r, received at now, may not follow last, the site's last
// accepted report, or returns "" when it may. It may when its seq is
// above last's, or when last was received more than 2·maxSkew seconds
// ago. The second case keeps a huge seq from locking its site out for
// ever, and it lets no report be accepted twice: a report accepted at
// server time T has a ts of at most T+maxSkew, so from T+2·maxSkew on it
// fails the ts window; every report accepted before last was accepted no
// later than last, so once the gap since last passes 2·maxSkew none of
// them can pass the window again. The bound rests on the server's clock
// (Received is stored, so it holds across restarts).
func after(r loadreport.Report, last SiteState, now time.Time, maxSkew int64) string {
	gap := now.Unix() - last.Received.Unix()
	if r.Seq > last.Report.Seq || gap > 2*maxSkew {
		return ""
	}
	return fmt.Sprintf("seq %d is not above %d, the last accepted (received %ds ago; a seq not above it is accepted only once that is more than %ds, twice the ts window)", r.Seq, last.Report.Seq, gap, 2*maxSkew)
}

func writeError(w http.ResponseWriter, rj reject) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(rj.status)
	json.NewEncoder(w).Encode(struct {
		Error string `json:"error"`
	}{rj.msg})
}
