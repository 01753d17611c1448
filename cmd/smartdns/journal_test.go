package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/smartdns/smartdns/internal/config"
)

func TestJournalPriorities(t *testing.T) {
	for _, format := range []string{"text", "json"} {
		t.Run(format, func(t *testing.T) {
			t.Setenv("JOURNAL_STREAM", "8:1234")
			var buf bytes.Buffer
			log := newLogger(config.Log{Level: "debug", Format: format}, &buf)
			log = log.With("zone", "example.com.")
			log.Debug("d")
			log.Info("i")
			log.Warn("w")
			log.Error("e")
			lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
			want := []string{"<7>", "<6>", "<4>", "<3>"}
			if len(lines) != len(want) {
				t.Fatalf("lines %q", lines)
			}
			for i, l := range lines {
				if !strings.HasPrefix(l, want[i]) || !strings.Contains(l, "example.com.") {
					t.Errorf("line %d: %q, want prefix %s and the attribute", i, l, want[i])
				}
			}
		})
	}
	t.Run("not under systemd", func(t *testing.T) {
		t.Setenv("JOURNAL_STREAM", "")
		var buf bytes.Buffer
		newLogger(config.Log{}, &buf).Warn("w")
		if strings.HasPrefix(buf.String(), "<") {
			t.Errorf("prefixed outside the journal: %q", buf.String())
		}
	})
}
