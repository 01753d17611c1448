package main

import (
	"log/slog"
	"slices"

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
	return alias.New(alias.Config{Resolvers: a.Resolvers, Timeout: a.Timeout, MaxTTL: a.MaxTTL, ServeStale: a.ServeStale, Logger: log})
}

// aliasChanged reports whether the alias section differs (it is read at
// start only).
func aliasChanged(old, cfg *config.Config) bool {
	a, b := old.Alias, cfg.Alias
	return !slices.Equal(a.Resolvers, b.Resolvers) || a.Timeout != b.Timeout || a.MaxTTL != b.MaxTTL || a.ServeStale != b.ServeStale
}
