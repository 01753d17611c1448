// Command smartdns is the smartdns authoritative DNS server and its tools.
//
//	smartdns serve --config FILE   serve the configured zones
//	smartdns check --config FILE   validate the config and every zone
//	smartdns explain --config FILE --client IP[/PREFIX] NAME [TYPE]
//	smartdns agent --config FILE   report a site's load to the nameservers
//	smartdns version               print the version
package main

import (
	"fmt"
	"io"
	"os"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	switch args[0] {
	case "serve":
		return cmdServe(args[1:], stderr)
	case "check":
		return cmdCheck(args[1:], stdout, stderr)
	case "explain":
		return cmdExplain(args[1:], stdout, stderr)
	case "agent":
		return cmdAgent(args[1:], stdout, stderr)
	case "version", "--version", "-v":
		fmt.Fprintf(stdout, "smartdns %s\n", version)
		return 0
	case "help", "-h", "--help":
		usage(stdout)
		return 0
	}
	fmt.Fprintf(stderr, "smartdns: unknown command %q\n", args[0])
	usage(stderr)
	return 2
}

func usage(w io.Writer) {
	fmt.Fprint(w, `usage: smartdns <command> [flags]

commands:
  serve --config FILE   serve the zones of the config
  check --config FILE   validate the config and every zone, print every problem
  explain --config FILE --client IP[/PREFIX] NAME [TYPE]
                        show how NAME is answered for that client, and why
  agent [drain|undrain|status] --config FILE
                        run a site's load-report agent, or set its draining flag
  version               print the version
`)
}
