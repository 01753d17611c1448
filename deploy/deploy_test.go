package deploy_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/smartdns/smartdns/internal/config"
	"github.com/smartdns/smartdns/loadreport/agent"
)

// installedBinary is where docs/operations.md installs smartdns and where
// the units run it from.
const installedBinary = "/usr/local/bin/smartdns"

var units = []string{"smartdns.service", "smartdns-agent.service"}

// unitFile is a parsed systemd unit: section, then key, then every value
// assigned to the key in order (a key may be assigned more than once; an
// empty assignment resets a list).
type unitFile map[string]map[string][]string

// last is the value a key ends up with, as systemd reads it for
// single-valued settings; ok is false when the key is never assigned.
func (u unitFile) last(section, key string) (string, bool) {
	vs := u[section][key]
	if len(vs) == 0 {
		return "", false
	}
	return vs[len(vs)-1], true
}

// parseUnit reads the subset of the systemd unit syntax the units use:
// [Section] headers, Key=Value lines, comments starting with # or ;,
// blank lines, and a trailing backslash continuing a line. Anything else
// is an error.
func parseUnit(name string, data string) (unitFile, error) {
	u := unitFile{}
	section := ""
	sc := bufio.NewScanner(strings.NewReader(data))
	lineNo, pending, pendingLine := 0, "", 0
	for sc.Scan() {
		lineNo++
		line := strings.TrimSpace(sc.Text())
		if pending == "" && (line == "" || line[0] == '#' || line[0] == ';') {
			continue
		}
		if pending == "" {
			pendingLine = lineNo
		}
		if cont, ok := strings.CutSuffix(line, `\`); ok {
			pending += strings.TrimSpace(cont) + " "
			continue
		}
		line, pending = pending+line, ""
		if strings.HasPrefix(line, "[") {
			if !strings.HasSuffix(line, "]") || len(line) < 3 {
				return nil, fmt.Errorf("%s:%d: bad section header %q", name, pendingLine, line)
			}
			section = line[1 : len(line)-1]
			if u[section] == nil {
				u[section] = map[string][]string{}
			}
			continue
		}
		key, value, ok := strings.Cut(line, "=")
		key = strings.TrimSpace(key)
		if !ok || key == "" || strings.ContainsAny(key, " \t") {
			return nil, fmt.Errorf("%s:%d: not Key=Value: %q", name, pendingLine, line)
		}
		if section == "" {
			return nil, fmt.Errorf("%s:%d: %s outside a section", name, pendingLine, key)
		}
		u[section][key] = append(u[section][key], strings.TrimSpace(value))
	}
	if pending != "" {
		return nil, fmt.Errorf("%s:%d: the file ends in a continued line", name, pendingLine)
	}
	return u, sc.Err()
}

func readUnit(t *testing.T, name string) unitFile {
	t.Helper()
	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	u, err := parseUnit(name, string(data))
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestParseUnit(t *testing.T) {
	u, err := parseUnit("t", "# c\n; c\n[A]\nK=v\nK=\nL = x \\\n  y\n\n[B]\nM=a=b\n")
	if err != nil {
		t.Fatal(err)
	}
	if got := u["A"]["K"]; !slices.Equal(got, []string{"v", ""}) {
		t.Errorf("K = %q", got)
	}
	if got, _ := u.last("A", "L"); got != "x y" {
		t.Errorf("L = %q, want the continued line joined", got)
	}
	if got, _ := u.last("B", "M"); got != "a=b" {
		t.Errorf("M = %q", got)
	}
	for _, bad := range []string{"K=v\n", "[A]\nnot a setting\n", "[A\n", "[A]\nK=a \\\n"} {
		if _, err := parseUnit("t", bad); err == nil {
			t.Errorf("%q parsed without an error", bad)
		}
	}
}

// hardening is the sandbox both units share, value for value.
var hardening = []struct{ key, want string }{
	{"NoNewPrivileges", "yes"},
	{"ProtectSystem", "strict"},
	{"ProtectHome", "yes"},
	{"PrivateTmp", "yes"},
	{"PrivateDevices", "yes"},
	{"ProtectKernelTunables", "yes"},
	{"ProtectKernelModules", "yes"},
	{"ProtectKernelLogs", "yes"},
	{"ProtectControlGroups", "yes"},
	{"ProtectClock", "yes"},
	{"ProtectHostname", "yes"},
	{"RestrictAddressFamilies", "AF_INET AF_INET6 AF_UNIX AF_NETLINK"},
	{"RestrictNamespaces", "yes"},
	{"RestrictRealtime", "yes"},
	{"RestrictSUIDSGID", "yes"},
	{"LockPersonality", "yes"},
	{"MemoryDenyWriteExecute", "yes"},
	{"SystemCallArchitectures", "native"},
	{"SystemCallFilter", "@system-service"},
	{"UMask", "0077"},
	{"LimitNOFILE", "65536"},
	{"KillSignal", "SIGTERM"},
	{"TimeoutStopSec", "15s"},
	{"Restart", "on-failure"},
	{"Type", "exec"},
	{"ConfigurationDirectory", "smartdns"},
}

// listKeys are compared as sets of words: their order does not matter.
var listKeys = map[string]bool{
	"RestrictAddressFamilies": true, "AmbientCapabilities": true, "CapabilityBoundingSet": true,
	"After": true, "Wants": true,
}

func sameValue(key, got, want string) bool {
	if !listKeys[key] {
		return got == want
	}
	g, w := strings.Fields(got), strings.Fields(want)
	slices.Sort(g)
	slices.Sort(w)
	return slices.Equal(g, w)
}

func TestUnitDirectives(t *testing.T) {
	type directive struct{ section, key, want string }
	own := map[string][]directive{
		"smartdns.service": {
			{"Unit", "After", "network-online.target"},
			{"Unit", "Wants", "network-online.target"},
			{"Service", "ExecStartPre", installedBinary + " check --config /etc/smartdns/smartdns.yaml"},
			{"Service", "ExecStart", installedBinary + " serve --config /etc/smartdns/smartdns.yaml"},
			{"Service", "ExecReload", "/bin/kill -HUP $MAINPID"},
			{"Service", "DynamicUser", "yes"},
			{"Service", "StateDirectory", "smartdns"},
			{"Service", "LogsDirectory", "smartdns"},
			{"Service", "AmbientCapabilities", "CAP_NET_BIND_SERVICE"},
			{"Service", "CapabilityBoundingSet", "CAP_NET_BIND_SERVICE"},
			{"Install", "WantedBy", "multi-user.target"},
		},
		"smartdns-agent.service": {
			{"Unit", "After", "network-online.target"},
			{"Unit", "Wants", "network-online.target"},
			{"Service", "ExecStart", installedBinary + " agent --config /etc/smartdns/agent.yaml"},
			{"Service", "DynamicUser", "yes"},
			{"Service", "StateDirectory", "smartdns-agent"},
			{"Service", "AmbientCapabilities", ""},
			{"Service", "CapabilityBoundingSet", ""},
			{"Install", "WantedBy", "multi-user.target"},
		},
	}
	for _, name := range units {
		u := readUnit(t, name)
		want := own[name]
		for _, h := range hardening {
			want = append(want, directive{"Service", h.key, h.want})
		}
		for _, d := range want {
			t.Run(name+"/"+d.key, func(t *testing.T) {
				got, ok := u.last(d.section, d.key)
				if !ok {
					t.Fatalf("[%s] %s= is missing (want %q)", d.section, d.key, d.want)
				}
				if !sameValue(d.key, got, d.want) {
					t.Errorf("[%s] %s=%s, want %q", d.section, d.key, got, d.want)
				}
			})
		}
	}
}

// TestStopTimeout keeps TimeoutStopSec above the server's shutdown: 5 s
// for queries in flight, then up to 5 s for HTTP requests in flight.
func TestStopTimeout(t *testing.T) {
	u := readUnit(t, "smartdns.service")
	v, _ := u.last("Service", "TimeoutStopSec")
	d, err := time.ParseDuration(v)
	if err != nil {
		t.Fatalf("TimeoutStopSec=%s: %v", v, err)
	}
	if d <= 10*time.Second {
		t.Errorf("TimeoutStopSec=%s leaves no margin over the 5 s + 5 s shutdown", v)
	}
}

// TestExecPaths: every command smartdns runs is the installed binary, at
// the path docs/operations.md installs it to, with a config in
// /etc/smartdns that the docs name.
func TestExecPaths(t *testing.T) {
	ops, err := os.ReadFile(filepath.Join("..", "docs", "operations.md"))
	if err != nil {
		t.Fatal(err)
	}
	docs := string(ops)
	if !strings.Contains(docs, "install -m 0755 bin/smartdns "+installedBinary) {
		t.Errorf("docs/operations.md does not install the binary to %s", installedBinary)
	}
	for _, name := range units {
		u := readUnit(t, name)
		for _, key := range []string{"ExecStartPre", "ExecStart"} {
			for _, cmd := range u["Service"][key] {
				argv := strings.Fields(strings.TrimLeft(cmd, "-@:+!"))
				if len(argv) == 0 || argv[0] != installedBinary {
					t.Errorf("%s: %s=%s does not run %s", name, key, cmd, installedBinary)
					continue
				}
				i := slices.Index(argv, "--config")
				if i < 0 || i+1 >= len(argv) {
					t.Errorf("%s: %s=%s has no --config", name, key, cmd)
					continue
				}
				if cfg := argv[i+1]; !strings.HasPrefix(cfg, "/etc/smartdns/") || !strings.Contains(docs, cfg) {
					t.Errorf("%s: %s reads %s, which docs/operations.md does not name", name, key, cfg)
				}
			}
		}
	}
}

// yamlBlocks returns the ```yaml blocks of a Markdown file.
func yamlBlocks(md string) []string {
	var out []string
	for _, part := range strings.Split(md, "```yaml\n")[1:] {
		if body, _, ok := strings.Cut(part, "```"); ok {
			out = append(out, body)
		}
	}
	return out
}

var keyFileRE = regexp.MustCompile(`key_file:\s*([^\s,}]+)`)

// TestOperationsConfigs checks the two example configs of
// docs/operations.md against the code and the units: each is valid, and
// its state file is in its unit's StateDirectory. The absolute paths are
// moved under a temporary root, with the folder and key files they name.
func TestOperationsConfigs(t *testing.T) {
	ops, err := os.ReadFile(filepath.Join("..", "docs", "operations.md"))
	if err != nil {
		t.Fatal(err)
	}
	var server, agentYAML string
	for _, b := range yamlBlocks(string(ops)) {
		switch {
		case strings.Contains(b, "\nzones:") || strings.HasPrefix(b, "listen:"):
			server = b
		case strings.HasPrefix(b, "site:"):
			agentYAML = b
		}
	}
	if server == "" || agentYAML == "" {
		t.Fatal("docs/operations.md needs a server config (listen:, zones:) and an agent config (site:) in ```yaml blocks")
	}
	root := t.TempDir()
	relocate := func(yaml string) string {
		for _, p := range []string{"/etc/smartdns/", "/var/lib/", "/run/credentials/"} {
			yaml = strings.ReplaceAll(yaml, " "+p, " "+root+p)
		}
		for _, m := range keyFileRE.FindAllStringSubmatch(yaml, -1) {
			if err := os.MkdirAll(filepath.Dir(m[1]), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(m[1], []byte("0123456789abcdef0123456789abcdef\n"), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		return yaml
	}
	if err := os.MkdirAll(filepath.Join(root, "etc/smartdns/zones"), 0o755); err != nil {
		t.Fatal(err)
	}

	stateDir := func(name string) string {
		v, _ := readUnit(t, name).last("Service", "StateDirectory")
		return "/var/lib/" + v + "/"
	}

	cfg, probs := config.Parse(filepath.Join(root, "etc/smartdns/smartdns.yaml"), []byte(relocate(server)))
	for _, p := range probs {
		t.Errorf("server config: %v", p)
	}
	if cfg != nil {
		if dir := root + stateDir("smartdns.service"); !strings.HasPrefix(cfg.Data, dir) {
			t.Errorf("server config: data: %s is not in the unit's StateDirectory %s", cfg.Data, dir)
		}
	}

	acfg, probs := agent.ParseConfig(filepath.Join(root, "etc/smartdns/agent.yaml"), []byte(relocate(agentYAML)))
	for _, p := range probs {
		t.Errorf("agent config: %v", p)
	}
	if acfg != nil {
		if dir := root + stateDir("smartdns-agent.service"); !strings.HasPrefix(acfg.State, dir) {
			t.Errorf("agent config: state: %s is not in the unit's StateDirectory %s", acfg.State, dir)
		}
	}
}

// TestSystemdAnalyzeVerify runs systemd-analyze verify on copies of the
// units whose smartdns path points at a binary that exists here (the test
// binary), so that verify checks everything else: unknown or misspelt
// directives, bad values, missing commands.
func TestSystemdAnalyzeVerify(t *testing.T) {
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze is not installed; the directives are checked by TestUnitDirectives only")
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	var paths []string
	for _, name := range units {
		data, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(strings.ReplaceAll(string(data), installedBinary, self)), 0o644); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, analyze, append([]string{"verify"}, paths...)...)
	cmd.Env = append(os.Environ(), "SYSTEMD_LOG_COLOR=0", "SYSTEMD_PAGER=")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
	// verify exits 0 on unknown keys and unparsable values, and says so
	// with the file's name; lines about other units are the host's.
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if line == "" {
			continue
		}
		mine := false
		for _, name := range units {
			mine = mine || strings.Contains(line, name)
		}
		if mine {
			t.Errorf("systemd-analyze verify: %s", line)
		} else {
			t.Logf("systemd-analyze verify (not about these units): %s", line)
		}
	}
}
