package main

import (
	"context"
	"io"
	"log/slog"
	"sync"
)

// journalHandler prefixes each log line with its syslog priority
// (sd-daemon(3): "<3>" error, "<4>" warning, "<6>" info, "<7>" debug), which
// journald reads from a service's stderr. It keeps one inner handler per
// priority, each writing through its own prefix.
type journalHandler struct {
	byPrio [4]slog.Handler // error, warn, info, debug
}

func newJournalHandler(w io.Writer, mk func(io.Writer) slog.Handler) *journalHandler {
	var mu sync.Mutex // one line at a time across the four writers
	h := &journalHandler{}
	for i, p := range []string{"<3>", "<4>", "<6>", "<7>"} {
		h.byPrio[i] = mk(&prefixWriter{w: w, prefix: []byte(p), mu: &mu})
	}
	return h
}

func (h *journalHandler) pick(l slog.Level) slog.Handler {
	switch {
	case l >= slog.LevelError:
		return h.byPrio[0]
	case l >= slog.LevelWarn:
		return h.byPrio[1]
	case l >= slog.LevelInfo:
		return h.byPrio[2]
	}
	return h.byPrio[3]
}

func (h *journalHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.pick(l).Enabled(ctx, l)
}

func (h *journalHandler) Handle(ctx context.Context, r slog.Record) error {
	return h.pick(r.Level).Handle(ctx, r)
}

func (h *journalHandler) WithAttrs(as []slog.Attr) slog.Handler {
	out := &journalHandler{}
	for i, in := range h.byPrio {
		out.byPrio[i] = in.WithAttrs(as)
	}
	return out
}

func (h *journalHandler) WithGroup(name string) slog.Handler {
	out := &journalHandler{}
	for i, in := range h.byPrio {
		out.byPrio[i] = in.WithGroup(name)
	}
	return out
}

// prefixWriter writes each line (slog writes one record per Write) after
// its prefix, in one write.
type prefixWriter struct {
	w      io.Writer
	prefix []byte
	mu     *sync.Mutex
	buf    []byte
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.buf = append(append(p.buf[:0], p.prefix...), b...)
	if _, err := p.w.Write(p.buf); err != nil {
		return 0, err
	}
	return len(b), nil
}
