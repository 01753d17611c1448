package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/smartdns/smartdns/loadreport/agent"
)

const agentUsage = `usage:
  smartdns agent --config FILE           report the site's load to the nameservers
  smartdns agent drain --config FILE     mark the site draining (kept across restarts)
  smartdns agent undrain --config FILE   clear the draining mark
  smartdns agent status --config FILE    print the state file
`

// cmdAgent runs the site agent, or changes its draining flag.
func cmdAgent(args []string, stdout, stderr io.Writer) int {
	sub := "run"
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		sub, args = args[0], args[1:]
	}
	switch sub {
	case "run", "drain", "undrain", "status":
	case "help":
		fmt.Fprint(stdout, agentUsage)
		return 0
	default:
		fmt.Fprintf(stderr, "smartdns agent: unknown subcommand %q\n%s", sub, agentUsage)
		return 2
	}
	fs := flag.NewFlagSet("agent "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("config", "", "agent config file (YAML)")
	logFormat := fs.String("log-format", "text", "log format: text or json (run only)")
	debug := fs.Bool("debug", false, "log at debug level (run only)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "smartdns agent %s: unexpected argument %q\n", sub, fs.Arg(0))
		return 2
	}
	if *path == "" {
		fmt.Fprintf(stderr, "smartdns agent %s: --config FILE is required\n", sub)
		return 2
	}
	cfg, probs := agent.LoadConfig(*path)
	for _, p := range probs {
		fmt.Fprintln(stderr, p.Error())
	}
	if cfg == nil {
		fmt.Fprintf(stderr, "%d problem(s) in %s\n", len(probs.Errors()), *path)
		return 1
	}
	switch sub {
	case "drain", "undrain":
		on := sub == "drain"
		was, err := agent.SetDraining(cfg.State, on)
		if err != nil {
			fmt.Fprintf(stderr, "smartdns agent %s: %v\n", sub, err)
			if st, _, rerr := agent.ReadState(cfg.State); rerr != nil || st.Draining != on {
				return 1
			}
		}
		switch {
		case on && was:
			fmt.Fprintf(stdout, "site %s was already draining (%s)\n", cfg.Site, cfg.State)
		case on:
			fmt.Fprintf(stdout, "site %s is now draining (%s); the running agent reports it at its next interval (%v)\n", cfg.Site, cfg.State, cfg.Interval)
		case was:
			fmt.Fprintf(stdout, "site %s is no longer draining (%s); the running agent reports it at its next interval (%v)\n", cfg.Site, cfg.State, cfg.Interval)
		default:
			fmt.Fprintf(stdout, "site %s was not draining (%s)\n", cfg.Site, cfg.State)
		}
		return 0
	case "status":
		st, exists, err := agent.ReadState(cfg.State)
		if err != nil {
			fmt.Fprintf(stderr, "smartdns agent status: %v\n", err)
			return 1
		}
		if !exists {
			fmt.Fprintf(stdout, "site %s: no state file yet (%s): not draining\n", cfg.Site, cfg.State)
			return 0
		}
		fmt.Fprintf(stdout, "site %s: draining=%v last seq=%d (%s)\n", cfg.Site, st.Draining, st.Seq, cfg.State)
		return 0
	}

	opts := &slog.HandlerOptions{}
	if *debug {
		opts.Level = slog.LevelDebug
	}
	var log *slog.Logger
	switch *logFormat {
	case "json":
		log = slog.New(slog.NewJSONHandler(stderr, opts))
	case "text":
		log = slog.New(slog.NewTextHandler(stderr, opts))
	default:
		fmt.Fprintf(stderr, "smartdns agent: --log-format %q is not text or json\n", *logFormat)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := agent.New(cfg, log).Run(ctx); err != nil {
		log.Error("agent stopped", "err", err)
		return 1
	}
	log.Info("agent stopped")
	return 0
}
