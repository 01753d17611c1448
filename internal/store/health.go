package store

import (
	"encoding/binary"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// bucketHealth maps a health-check target's key (pool.Check.Key) to its
// last known health, so that a restarted server starts from what it knew.
// It is created by the first save; until then every load finds nothing.
var bucketHealth = []byte("health")

// HealthRecord is what is kept about one probed target.
type HealthRecord struct {
	// State is the target's pool.State (0 unknown, 1 up, 2 down), kept
	// as a number so that the store does not depend on the pool package.
	State uint8
	// Checked is when the last result came in; the prober trusts State
	// after a restart only when Checked is recent.
	Checked time.Time
	// Changed is when State last changed.
	Changed time.Time
	// Transitions counts the state changes seen so far.
	Transitions uint32
	// LastError is the last failure's text ("" after a success); it is
	// cut to maxHealthError bytes.
	LastError string
}

const (
	healthVersion  = 1
	healthFixed    = 1 + 1 + 8 + 8 + 4 // version, state, checked, changed, transitions
	maxHealthError = 512
)

func encodeHealth(r HealthRecord) []byte {
	msg := r.LastError
	if len(msg) > maxHealthError {
		msg = msg[:maxHealthError]
	}
	v := make([]byte, healthFixed, healthFixed+len(msg))
	v[0] = healthVersion
	v[1] = r.State
	binary.BigEndian.PutUint64(v[2:], uint64(unixNano(r.Checked)))
	binary.BigEndian.PutUint64(v[10:], uint64(unixNano(r.Changed)))
	binary.BigEndian.PutUint32(v[18:], r.Transitions)
	return append(v, msg...)
}

// decodeHealth reads a stored record. It copies everything it keeps, so
// it may be called on memory owned by a bbolt transaction.
func decodeHealth(v []byte) (HealthRecord, bool) {
	if len(v) < healthFixed || v[0] != healthVersion {
		return HealthRecord{}, false
	}
	return HealthRecord{
		State:       v[1],
		Checked:     fromUnixNano(int64(binary.BigEndian.Uint64(v[2:]))),
		Changed:     fromUnixNano(int64(binary.BigEndian.Uint64(v[10:]))),
		Transitions: binary.BigEndian.Uint32(v[18:]),
		LastError:   string(v[healthFixed:]), // string() copies
	}, true
}

func unixNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromUnixNano(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n)
}

// LoadHealth returns the record kept for a target. A record written by an
// unknown (newer) format counts as absent.
func (s *Store) LoadHealth(key string) (rec HealthRecord, ok bool, err error) {
	err = s.view(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketHealth)
		if b == nil {
			return nil
		}
		rec, ok = decodeHealth(b.Get([]byte(key)))
		return nil
	})
	if err != nil {
		err = fmt.Errorf("reading health of %s from %s: %w", key, s.path, err)
	}
	return
}

// SaveHealth writes many records in one transaction. Writing the same
// records again leaves the file as it was.
func (s *Store) SaveHealth(recs map[string]HealthRecord) error {
	if len(recs) == 0 {
		return nil
	}
	err := s.update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bucketHealth)
		if err != nil {
			return err
		}
		for k, r := range recs {
			if err := b.Put([]byte(k), encodeHealth(r)); err != nil {
				return fmt.Errorf("key %s: %w", k, err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("saving %d health records to %s: %w", len(recs), s.path, err)
	}
	return nil
}

// DeleteHealth forgets targets that are no longer probed. Deleting a key
// that is not there is not an error.
func (s *Store) DeleteHealth(keys []string) error {
	if len(keys) == 0 {
		return nil
	}
	err := s.update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketHealth)
		if b == nil {
			return nil
		}
		for _, k := range keys {
			if err := b.Delete([]byte(k)); err != nil {
				return fmt.Errorf("key %s: %w", k, err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("deleting %d health records from %s: %w", len(keys), s.path, err)
	}
	return nil
}
