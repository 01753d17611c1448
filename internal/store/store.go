// Package store keeps the state that must survive a restart (zone serials,
// health states, load reports and the operator's overrides) in one bbolt
// file. It is never read on the query path.
package store

import (
	"encoding/binary"
	"fmt"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
)

var bucketSerials = []byte("serials")

// Store is an open state file. The zero value is not usable; call Open.
type Store struct {
	db     *bolt.DB
	path   string
	errors atomic.Uint64
}

// Open opens (creating if needed) the bbolt file at path. It fails fast
// when another process holds the file, rather than waiting forever.
func Open(path string) (*Store, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 2 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("opening state file %s: %w", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		_, err := tx.CreateBucketIfNotExists(bucketSerials)
		return err
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("initialising state file %s: %w", path, err)
	}
	return &Store{db: db, path: path}, nil
}

// Close closes the file.
func (s *Store) Close() error { return s.db.Close() }

// LoadSerial returns the last serial served for a zone and the content
// hash it was served for.
func (s *Store) LoadSerial(origin string) (serial uint32, hash [2]uint64, ok bool, err error) {
	err = s.view(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketSerials).Get([]byte(origin))
		if len(v) != 20 {
			return nil
		}
		serial = binary.BigEndian.Uint32(v)
		hash[0] = binary.BigEndian.Uint64(v[4:])
		hash[1] = binary.BigEndian.Uint64(v[12:])
		ok = true
		return nil
	})
	if err != nil {
		err = fmt.Errorf("reading serial of %s from %s: %w", origin, s.path, err)
	}
	return
}

// SaveSerial records the serial served for a zone and its content hash.
func (s *Store) SaveSerial(origin string, serial uint32, hash [2]uint64) error {
	var v [20]byte
	binary.BigEndian.PutUint32(v[:], serial)
	binary.BigEndian.PutUint64(v[4:], hash[0])
	binary.BigEndian.PutUint64(v[12:], hash[1])
	err := s.update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketSerials).Put([]byte(origin), v[:])
	})
	if err != nil {
		return fmt.Errorf("saving serial of %s to %s: %w", origin, s.path, err)
	}
	return nil
}

// update and view run a transaction, counting failures for the metrics.
func (s *Store) update(f func(*bolt.Tx) error) error {
	err := s.db.Update(f)
	if err != nil {
		s.errors.Add(1)
	}
	return err
}

func (s *Store) view(f func(*bolt.Tx) error) error {
	err := s.db.View(f)
	if err != nil {
		s.errors.Add(1)
	}
	return err
}

// Errors counts the transactions that failed since Open.
func (s *Store) Errors() uint64 { return s.errors.Load() }

// Path is the state file's path.
func (s *Store) Path() string { return s.path }
