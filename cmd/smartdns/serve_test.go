package main

import (
	"strings"
	"testing"

	"github.com/smartdns/smartdns/internal/config"
)

func TestRestartOnly(t *testing.T) {
	old := &config.Config{Listen: []string{"127.0.0.1:53"}, Data: "a.db", MaxUDPSize: 1232}
	same := *old
	if keys := restartOnly(old, &same); len(keys) != 0 {
		t.Fatalf("nothing changed, got %v", keys)
	}
	cfg := *old
	cfg.Listen = []string{"127.0.0.1:5353"}
	cfg.MaxUDPSize = 4096
	cfg.API.Token = "0123456789abcdef" // reloaded: not listed
	if keys := restartOnly(old, &cfg); strings.Join(keys, ",") != "listen,max_udp_size" {
		t.Fatalf("got %v", keys)
	}
}
