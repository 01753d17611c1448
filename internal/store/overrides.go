package store

import (
	"fmt"

	bolt "go.etcd.io/bbolt"
)

var bucketOverrides = []byte("overrides")

// SaveOverride records the operator's runtime override of a value ("up" or
// "down"); status "" removes it. Idempotent.
func (s *Store) SaveOverride(value, status string) error {
	err := s.update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bucketOverrides)
		if err != nil {
			return err
		}
		if status == "" {
			return b.Delete([]byte(value))
		}
		return b.Put([]byte(value), []byte(status))
	})
	if err != nil {
		return fmt.Errorf("saving the override of %s to %s: %w", value, s.path, err)
	}
	return nil
}

// LoadOverrides returns every override in force, by value.
func (s *Store) LoadOverrides() (map[string]string, error) {
	out := map[string]string{}
	err := s.view(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketOverrides)
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, v []byte) error {
			out[string(k)] = string(v)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("reading overrides from %s: %w", s.path, err)
	}
	return out, nil
}
