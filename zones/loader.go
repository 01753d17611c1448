package zones

import (
	"context"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/smartdns/smartdns/internal/diag"
	"github.com/smartdns/smartdns/zones/masterfile"
	"github.com/smartdns/smartdns/zones/octodns"
	"github.com/smartdns/smartdns/zones/zonefile"
)

// SerialStore keeps, per zone, the last serial served and the content hash
// it was served for, so serials never go backwards across restarts.
type SerialStore interface {
	LoadSerial(origin string) (serial uint32, hash [2]uint64, ok bool, err error)
	SaveSerial(origin string, serial uint32, hash [2]uint64) error
}

// Loader reads the zones folder, keeps the last good version of each zone,
// and builds Snapshots. A zone that fails to load is refused with its
// problems and its last good version keeps serving.
type Loader struct {
	Dir     string
	Options CompileOptions
	Store   SerialStore  // optional
	Logger  *slog.Logger // optional
	// Now gives the time used for synthesized serials; time.Now if nil.
	Now func() time.Time

	mu    sync.Mutex
	files map[string]*fileState // by zone file path
	other map[string]time.Time  // other files under Dir (includes) by path
	gen   uint64
	// pending is set when a load was cancelled after it had compiled
	// some zones: the next load builds a snapshot even if it sees no
	// change, so those zones are not left unpublished.
	pending bool
}

type fileState struct {
	origin  string
	modTime time.Time
	size    int64
	// seenTime and seenSize are what the previous scan saw: a changed
	// file is only read once two scans agree, so that a file still being
	// written is not loaded half-way.
	seenTime time.Time
	seenSize int64
	zone     *Zone // last version that compiled, nil if never loaded
	// published is the version in the last snapshot (it differs from zone
	// when zone failed a snapshot-wide check such as its ALIAS).
	published *Zone
	probs     diag.Problems
}

// ZoneReport tells what happened to one zone file in a load.
type ZoneReport struct {
	File     string
	Origin   string
	Loaded   bool // a new version was compiled and published
	Serial   uint32
	Problems diag.Problems
}

// LoadReport is the outcome of one Load.
type LoadReport struct {
	Zones []ZoneReport
	// Skipped are the entries of the zones folder that are not read as
	// zones, with the reason (an $INCLUDE or !include may still read
	// them).
	Skipped []Skipped
	Changed bool // a new snapshot was built
}

// Skipped is an entry of the zones folder that is not read as a zone.
type Skipped struct {
	Path, Reason string
}

// Failed lists the zone reports that have errors.
func (r LoadReport) Failed() []ZoneReport {
	var out []ZoneReport
	for _, z := range r.Zones {
		if z.Problems.HasErrors() {
			out = append(out, z)
		}
	}
	return out
}

// ZoneFile maps a file name to the zone it holds: "<zone>.yaml",
// "<zone>.yml" or "<zone>.zone", the root zone being ".yaml" or ".zone"
// (octoDNS names files after the zone with its trailing dot). ok is false
// for other files, hidden ones (".name.zone") included.
func ZoneFile(name string) (origin string, ok bool) {
	origin, why := zoneFileName(name)
	return origin, why == ""
}

// zoneFileName is ZoneFile, saying why a file is not a zone file.
func zoneFileName(name string) (origin, why string) {
	for _, ext := range []string{".yaml", ".yml", ".zone"} {
		if !strings.HasSuffix(name, ext) {
			continue
		}
		base := strings.TrimSuffix(name, ext)
		switch {
		case base == "" || base == ".":
			return ".", "" // the root zone
		case strings.HasPrefix(base, "."):
			return "", "a hidden file (its name starts with a dot)"
		}
		return asciiOrigin(strings.TrimSuffix(base, ".") + ".")
	}
	return "", "not a zone file (zone files are named <zone>.yaml, <zone>.yml or <zone>.zone)"
}

// ParseFile reads one zone file in the format its extension names.
func ParseFile(path, origin string) ([]zonefile.Record, diag.Problems) {
	if strings.HasSuffix(path, ".zone") {
		return masterfile.ParseFile(path, origin)
	}
	return octodns.ParseFile(path, origin)
}

// ParseBytes parses zone file content already read, in the format the
// path's extension names.
func ParseBytes(path, origin string, data []byte) ([]zonefile.Record, diag.Problems) {
	if strings.HasSuffix(path, ".zone") {
		return masterfile.Parse(path, origin, data)
	}
	return octodns.Parse(path, origin, data)
}

// zoneEntry maps an entry of the zones folder to its zone: a file
// "<zone>.yaml", "<zone>.yml" or "<zone>.zone", or a folder "<zone>." in
// octoDNS's split form (one YAML file per record, or per group of them).
// why says why an entry that is not a zone is skipped.
func zoneEntry(name string, isDir bool) (origin, why string) {
	if !isDir {
		return zoneFileName(name)
	}
	switch {
	case strings.HasPrefix(name, "."):
		return "", "a hidden folder"
	case !strings.HasSuffix(name, ".") || len(name) < 2:
		return "", "a folder that is not a split zone (split zone folders are named <zone>. with the trailing dot)"
	}
	return asciiOrigin(name)
}

// asciiOrigin is the zone a file or folder name holds, lower case, a
// UTF-8 name in its xn-- form (as octoDNS names zones).
func asciiOrigin(name string) (string, string) {
	a, bad := octodns.ASCIIName(name)
	if bad != "" {
		return "", "its name " + bad
	}
	return strings.ToLower(a), ""
}

// splitFiles lists the YAML files of a split zone folder, sorted.
func splitFiles(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		if !e.IsDir() && (strings.HasSuffix(e.Name(), ".yaml") || strings.HasSuffix(e.Name(), ".yml")) {
			out = append(out, filepath.Join(dir, e.Name()))
		}
	}
	sort.Strings(out)
	return out, nil
}

// sourceStat summarises a zone source for change detection: for a file
// its modification time and size; for a split folder the newest time and
// a size that changes when any file's size or the set of files does.
func sourceStat(path string, isDir bool) (time.Time, int64, error) {
	if !isDir {
		st, err := os.Stat(path)
		if err != nil {
			return time.Time{}, 0, err
		}
		return st.ModTime(), st.Size(), nil
	}
	files, err := splitFiles(path)
	if err != nil {
		return time.Time{}, 0, err
	}
	var newest time.Time
	var size int64
	for i, f := range files {
		st, err := os.Stat(f)
		if err != nil {
			return time.Time{}, 0, err
		}
		if st.ModTime().After(newest) {
			newest = st.ModTime()
		}
		size += st.Size()*int64(len(files)+1) + int64(i)
	}
	if st, err := os.Stat(path); err == nil && st.ModTime().After(newest) {
		newest = st.ModTime() // a file added or removed
	}
	return newest, size, nil
}

// readSource reads and parses a zone file, or every file of a split zone
// folder. ok is false when a file changed while it was read.
func readSource(path, origin string, isDir bool) ([]zonefile.Record, diag.Problems, bool) {
	files := []string{path}
	if isDir {
		var err error
		if files, err = splitFiles(path); err != nil {
			return nil, diag.Problems{{Pos: diag.Pos{File: path}, Msg: err.Error()}}, true
		}
		if len(files) == 0 {
			return nil, diag.Problems{{Pos: diag.Pos{File: path}, Msg: "the split zone folder has no .yaml files; refusing it"}}, true
		}
	}
	var recs []zonefile.Record
	var probs diag.Problems
	for _, f := range files {
		st, err := os.Stat(f)
		if err != nil {
			return nil, nil, false
		}
		data, ok := readStable(f, st)
		if !ok {
			return nil, nil, false
		}
		if len(data) == 0 {
			// Most often a file caught between truncation and write by an
			// editor or deploy that rewrites in place; never wipe a zone
			// for it. An empty zone is written "---" (YAML) or as SOA+NS.
			probs.Add(diag.Pos{File: f, Line: 1, Col: 1}, "the zone file is empty; refusing it (write \"---\" for a YAML zone with no records)")
			continue
		}
		r, p := ParseBytes(f, origin, data)
		recs = append(recs, r...)
		probs = append(probs, p...)
	}
	return recs, probs, true
}

// readStable reads a file and confirms that it did not change while it
// was read (same size as stat'ed before, same modification time and size
// after), so that a file being rewritten in place is never loaded half
// written.
func readStable(path string, before os.FileInfo) ([]byte, bool) {
	data, err := os.ReadFile(path)
	if err != nil || int64(len(data)) != before.Size() {
		return nil, false
	}
	after, err := os.Stat(path)
	if err != nil || !after.ModTime().Equal(before.ModTime()) || after.Size() != before.Size() {
		return nil, false
	}
	return data, true
}

// Load scans the folder and recompiles every zone file that changed (all
// of them when force is set). It returns the new snapshot, or nil when
// nothing changed.
func (l *Loader) Load(force bool) (*Snapshot, LoadReport) {
	return l.LoadContext(context.Background(), force)
}

// LoadContext is Load that gives up between two zone files once ctx
// ends (a shutdown does not wait for a large reload): it then returns a
// nil snapshot and what it had done so far, and the next load publishes
// what was compiled.
//
// Snapshots get increasing generations in the order loads finish; the
// caller publishes them from one goroutine (see Requests), and the
// publish point refuses a generation not above the one served.
func (l *Loader) LoadContext(ctx context.Context, force bool) (*Snapshot, LoadReport) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.files == nil {
		l.files = map[string]*fileState{}
	}
	var rep LoadReport
	entries, err := os.ReadDir(l.Dir)
	if err != nil {
		rep.Zones = append(rep.Zones, ZoneReport{File: l.Dir, Problems: diag.Problems{{Pos: diag.Pos{File: l.Dir}, Msg: err.Error()}}})
		return nil, rep
	}
	// A change to any other file under the folder (an !include or
	// $INCLUDE target) reloads every zone.
	other := l.scanOther()
	if !force && l.other != nil && !sameTimes(other, l.other) {
		force = true
	}
	l.other = other

	seen := map[string]bool{}
	byOrigin := map[string]string{}
	var names []string
	for _, e := range entries {
		if _, why := zoneEntry(e.Name(), e.IsDir()); why == "" {
			names = append(names, e.Name())
		} else {
			rep.Skipped = append(rep.Skipped, Skipped{Path: filepath.Join(l.Dir, e.Name()), Reason: why})
		}
	}
	sort.Strings(names)
	changed := false
	for _, name := range names {
		if ctx.Err() != nil {
			l.pending = l.pending || changed
			return nil, rep
		}
		path := filepath.Join(l.Dir, name)
		isDir := strings.HasSuffix(name, ".") // an octoDNS split zone
		origin, _ := zoneEntry(name, isDir)
		if prev, dup := byOrigin[origin]; dup {
			rep.Zones = append(rep.Zones, ZoneReport{File: path, Origin: origin, Problems: diag.Problems{{Pos: diag.Pos{File: path}, Msg: fmt.Sprintf("zone %s is also defined by %s; remove one of the files", origin, prev)}}})
			continue
		}
		byOrigin[origin] = path
		seen[path] = true
		mtime, size, err := sourceStat(path, isDir)
		if err != nil {
			continue
		}
		fsState := l.files[path]
		if fsState != nil && !force {
			if mtime.Equal(fsState.modTime) && size == fsState.size {
				continue
			}
			settled := mtime.Equal(fsState.seenTime) && size == fsState.seenSize
			fsState.seenTime, fsState.seenSize = mtime, size
			if !settled {
				continue // changed since the last scan: may still be being written
			}
		}
		if fsState == nil {
			fsState = &fileState{origin: origin}
			l.files[path] = fsState
			if !force {
				// A new file is read once a second scan sees it unchanged,
				// like a changed one: it may still be being written.
				fsState.seenTime, fsState.seenSize = mtime, size
				continue
			}
		}
		fsState.seenTime, fsState.seenSize = mtime, size
		recs, probs, ok := readSource(path, origin, isDir)
		if !ok {
			// Written to while we read it: try again at the next scan.
			fsState.seenTime = time.Time{}
			continue
		}
		fsState.modTime, fsState.size = mtime, size
		var z *Zone
		if !probs.HasErrors() {
			var cprobs diag.Problems
			var cancelled bool
			z, cprobs, cancelled = compile(ctx, origin, path, recs, l.Options)
			if cancelled {
				// Stopped mid-zone (shutdown): nothing of it is kept, and
				// the next load reads it again.
				fsState.modTime = time.Time{} // seen settled: the next scan reads it
				l.pending = l.pending || changed
				return nil, rep
			}
			probs = append(probs, cprobs...)
		}
		zr := ZoneReport{File: path, Origin: origin, Problems: probs}
		if z != nil {
			if fsState.zone != nil && fsState.zone.Hash == z.Hash && fsState.zone.FileSerial == z.FileSerial {
				// Same content: keep serving the same compiled zone.
				zr.Serial = fsState.zone.Serial
			} else {
				l.assignSerial(z, fsState.zone)
				fsState.zone = z
				zr.Loaded = true
				zr.Serial = z.Serial
				changed = true
			}
		} else if fsState.zone != nil {
			zr.Serial = fsState.zone.Serial
		}
		fsState.probs = probs
		rep.Zones = append(rep.Zones, zr)
	}
	for path := range l.files {
		if !seen[path] {
			delete(l.files, path)
			changed = true
		}
	}
	if l.pending {
		changed, l.pending = true, false
	}
	if !changed && !force {
		return nil, rep
	}

	// Assemble, then check what needs the whole snapshot (an ALIAS needs
	// its target served). A zone that fails falls back to the version
	// last published, if that one passes; it is checked again at every
	// load, so fixing the target zone is enough.
	var zs []*Zone
	for _, st := range l.files {
		if st.zone != nil {
			zs = append(zs, st.zone)
		}
	}
	l.gen++
	snap := NewSnapshot(l.gen, zs)
	snap.externalAlias = l.Options.AliasResolvers
	index := map[string]int{}
	for i, zr := range rep.Zones {
		index[zr.File] = i
	}
	for path, st := range l.files {
		if st.zone == nil {
			continue
		}
		use := st.zone
		if msg, ok := snap.checkAlias(st.zone); !ok {
			i, seen := index[path]
			if !seen {
				rep.Zones = append(rep.Zones, ZoneReport{File: path, Origin: st.origin})
				i = len(rep.Zones) - 1
				index[path] = i
			}
			zr := &rep.Zones[i]
			zr.Problems = append(zr.Problems, &diag.Problem{Pos: st.zone.aliasPos, Msg: msg})
			zr.Loaded = false
			use = nil
			if st.published != nil && st.published != st.zone {
				if _, ok := snap.checkAlias(st.published); ok {
					use = st.published
				}
			}
			if use == nil {
				delete(snap.zones, st.zone.Apex)
			} else {
				snap.zones[use.Apex] = use
				zr.Serial = use.Serial
			}
		}
		st.published = use
	}
	snap.indexAliases() // after the refused zones are gone
	return snap, rep
}

// assignSerial picks the serial for a new version of a zone: the file's
// own when it moved forward, else one above the last served; never lower
// than what was served before, also across restarts (via Store).
func (l *Loader) assignSerial(z *Zone, prev *Zone) {
	var last uint32
	var lastHash [2]uint64
	known := false
	if prev != nil {
		last, lastHash, known = prev.Serial, prev.Hash, true
	} else if l.Store != nil {
		s, h, ok, err := l.Store.LoadSerial(z.Origin)
		if err != nil && l.Logger != nil {
			l.Logger.Warn("reading stored serial", "zone", z.Origin, "err", err)
		}
		if ok {
			last, lastHash, known = s, h, true
		}
	}
	var serial uint32
	switch {
	case z.HasFileSOA && (!known || serialGreater(z.FileSerial, last)):
		serial = z.FileSerial
	case z.HasFileSOA && lastHash == z.Hash:
		serial = last // unchanged content; the file's serial went back or stayed
	case known && lastHash == z.Hash:
		serial = last
	default:
		serial = uint32(l.now().Unix())
		if known && !serialGreater(serial, last) {
			serial = last + 1
		}
		if z.HasFileSOA && l.Logger != nil {
			l.Logger.Warn("zone content changed but its SOA serial did not increase; serving a higher serial", "zone", z.Origin, "file_serial", z.FileSerial, "serial", serial)
		}
	}
	z.SetSerial(serial)
	if l.Store != nil && (!known || serial != last || lastHash != z.Hash) {
		if err := l.Store.SaveSerial(z.Origin, serial, z.Hash); err != nil && l.Logger != nil {
			l.Logger.Error("saving serial", "zone", z.Origin, "err", err)
		}
	}
}

// serialGreater compares serials with RFC 1982 arithmetic.
func serialGreater(a, b uint32) bool { return a != b && int32(a-b) > 0 }

func (l *Loader) now() time.Time {
	if l.Now != nil {
		return l.Now()
	}
	return time.Now()
}

// scanOther records the modification time of every file under Dir that
// is not a top-level zone file.
func (l *Loader) scanOther() map[string]time.Time {
	out := map[string]time.Time{}
	_ = filepath.WalkDir(l.Dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		if _, isZone := ZoneFile(d.Name()); isZone && filepath.Dir(path) == filepath.Clean(l.Dir) {
			return nil
		}
		if parent := filepath.Dir(path); filepath.Dir(parent) == filepath.Clean(l.Dir) && strings.HasSuffix(parent, ".") {
			return nil // a file of a split zone: that zone's own change detection sees it
		}
		if info, err := d.Info(); err == nil {
			out[path] = info.ModTime()
		}
		return nil
	})
	return out
}

func sameTimes(a, b map[string]time.Time) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || !w.Equal(v) {
			return false
		}
	}
	return true
}

// Request asks the loading goroutine for a load.
type Request struct {
	// Force recompiles every zone, changed or not.
	Force bool
	// Config re-reads the config first (SIGHUP).
	Config bool
}

// merge is what two requests waiting together ask for: the most of each.
func (r Request) merge(o Request) Request {
	return Request{Force: r.Force || o.Force, Config: r.Config || o.Config}
}

// Requests is the queue of the one goroutine that loads zones and
// publishes snapshots. File-change scans and SIGHUP only ask; the owner
// takes what was asked and runs one load at a time, so loads never race
// each other to publish. A request made while another waits is merged
// into it, so a burst of changes or signals costs one load, not a queue
// of them.
type Requests struct {
	mu      sync.Mutex
	pending Request
	queued  bool
	wake    chan struct{}
}

// NewRequests returns an empty queue.
func NewRequests() *Requests { return &Requests{wake: make(chan struct{}, 1)} }

// Ask queues r, merged with a request already waiting. It never blocks.
func (q *Requests) Ask(r Request) {
	q.mu.Lock()
	q.pending = q.pending.merge(r)
	q.queued = true
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default: // the owner is already woken
	}
}

// Ready is signalled when a request may be waiting; call Take.
func (q *Requests) Ready() <-chan struct{} { return q.wake }

// Take removes the waiting request. ok is false when none waits.
func (q *Requests) Take() (r Request, ok bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	r, ok = q.pending, q.queued
	q.pending, q.queued = Request{}, false
	return r, ok
}

// Reconfigure changes the folder and compile options used by the next Load
// (a SIGHUP with a new config).
func (l *Loader) Reconfigure(dir string, opt CompileOptions) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if dir != l.Dir {
		l.files = nil
		l.other = nil
	}
	l.Dir, l.Options = dir, opt
}
