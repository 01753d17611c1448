package geo

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"
)

// fileStat is what Watch compares to notice a replaced file.
type fileStat struct {
	size  int64
	mtime int64 // UnixNano
}

func statFile(path string) (fileStat, error) {
	fi, err := os.Stat(path) // follows symlinks, so a swapped link target counts
	if err != nil {
		return fileStat{}, err
	}
	if !fi.Mode().IsRegular() {
		return fileStat{}, fmt.Errorf("%s: not a regular file", path)
	}
	return fileStat{size: fi.Size(), mtime: fi.ModTime().UnixNano()}, nil
}

// DefaultWatchInterval is the poll interval Watch uses for a non-positive one.
const DefaultWatchInterval = time.Minute

// Watch polls the configured files' size and modification time every interval
// until ctx is done or the Resolver is closed; it returns at once when only
// the built-in database is in use. A file whose size or mtime changed is read
// and checked like at Open and, if good, swapped in atomically: lookups move
// to it without a pause and without a lock. A file that fails to read or
// check (say half-written, or a different kind of database) leaves the old
// database in place, and is tried again only once it changes again.
//
// After each poll that tried to reload something, onReload (if not nil) is
// called with nil when every changed file was swapped in, or with the errors,
// each naming its file, when some were not. It is called from Watch's
// goroutine; run Watch in its own goroutine.
//
// Replace files by writing a new file and renaming it over the old one;
// Watch also copes with in-place rewrites, since it never maps files.
func (r *Resolver) Watch(ctx context.Context, interval time.Duration, onReload func(err error)) {
	w := watcher{r: r}
	if r.geoPath != "" {
		w.files = append(w.files, watchedFile{path: r.geoPath, role: roleGeo})
	}
	if r.asnPath != "" {
		w.files = append(w.files, watchedFile{path: r.asnPath, role: roleASN})
	}
	if len(w.files) == 0 {
		return
	}
	if interval <= 0 {
		interval = DefaultWatchInterval
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		tried, closed, err := w.poll()
		if closed {
			return
		}
		if tried && onReload != nil {
			onReload(err)
		}
	}
}

type watcher struct {
	r     *Resolver
	files []watchedFile
}

type watchedFile struct {
	path string
	role role
	// failed is the stat of the file version that last failed to load, so a
	// bad file is reported once rather than on every poll.
	failed    fileStat
	hasFailed bool
}

// poll checks every file once and publishes a new snapshot if any was
// reloaded. It reports whether it tried to reload anything, whether the
// Resolver is closed, and the errors.
func (w *watcher) poll() (tried, closed bool, err error) {
	r := w.r
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return false, true, nil
	}
	cur := r.cur.Load()
	next := *cur
	changed := false
	var errs []error
	for i := range w.files {
		f := &w.files[i]
		slot := &next.geo
		if f.role == roleASN {
			slot = &next.asn
		}
		st, statErr := statFile(f.path)
		if statErr == nil && *slot != nil && st == (*slot).stat {
			f.hasFailed = false // back to the loaded version
			continue
		}
		if f.hasFailed && st == f.failed {
			continue // still the version that failed
		}
		tried = true
		var db *database
		loadErr := statErr
		if statErr == nil {
			db, loadErr = openFile(f.path, f.role)
		} else {
			loadErr = fmt.Errorf("geo: %s database: %w", f.role, statErr)
		}
		if loadErr != nil {
			f.failed, f.hasFailed = st, true
			errs = append(errs, fmt.Errorf("%w (keeping the previously loaded database)", loadErr))
			continue
		}
		f.hasFailed = false
		*slot = db
		changed = true
	}
	if changed {
		r.cur.Store(&next)
	}
	return tried, false, errors.Join(errs...)
}
