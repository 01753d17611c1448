package main

import (
	"log/slog"
	"reflect"
	"slices"
	"time"

	"github.com/smartdns/smartdns/dns/alias"
	"github.com/smartdns/smartdns/internal/config"
)

// newAliasCache returns the cache that resolves ALIAS targets outside the
// served zones, or nil when alias.resolvers is not configured (such an
// ALIAS is then refused by the loader).
func newAliasCache(cfg *config.Config, log *slog.Logger) *alias.Cache {
	a := cfg.Alias
	if len(a.Resolvers) == 0 {
		return nil
	}
	stale := time.Duration(0) // the cache's default
	if a.ServeStale != nil {
		stale = *a.ServeStale
		if stale == 0 {
			stale = alias.NoServeStale
		}
	}
	return alias.New(alias.Config{Resolvers: a.Resolvers, Timeout: a.Timeout, MaxTTL: a.MaxTTL, ServeStale: stale, Logger: log})
}

// aliasChanged reports whether the alias section differs (it is read at
// start only).
func aliasChanged(old, cfg *config.Config) bool {
	a, b := old.Alias, cfg.Alias
	return !slices.Equal(a.Resolvers, b.Resolvers) || a.Timeout != b.Timeout || a.MaxTTL != b.MaxTTL || !reflect.DeepEqual(a.ServeStale, b.ServeStale)
}
