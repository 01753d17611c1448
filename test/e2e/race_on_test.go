//go:build race

package e2e

// When the tests run with -race, the server under test is built with it
// too, so the end-to-end scenarios also hunt data races in the server.
func init() { buildFlags = append(buildFlags, "-race") }
