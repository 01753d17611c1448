package e2e

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The tutorial (docs/tutorial.md) run as written: the doc is the source of
// truth, and this test runs every command of it, in order, against the real
// binary, and checks the output the doc shows.
//
// How the doc maps to what runs:
//
//   - Fenced blocks are ```sh (commands), ```text (expected output, an
//     excerpt) and ```yaml (expected output, exact: a file shown with
//     cat). A text or yaml block belongs to the sh block before it; any
//     other fence is an error, so a command cannot hide in a block the
//     test skips.
//   - Every command line of every sh block runs, in order, in one bash
//     process whose working directory stands for the repository root (as
//     the reader's shell does): `&` jobs, `$!` and shell variables carry
//     from one block to the next. A line ending in `\` continues; blank
//     and # lines are skipped. Every command must exit 0.
//   - That root holds a copy of examples/tutorial/ and bin/smartdns, a
//     link to the binary the harness built; `make build` is the one
//     command replaced (by a check that bin/smartdns exists). The state
//     file, logs and load files the tutorial writes land in the copy.
//   - The fixed ports 5300 (DNS), 8053 (HTTP) and 8080 (the two web
//     servers) are replaced, as whole numbers, by free ones in the copied
//     files, in the commands and in the expected output.
//   - A line `sleep N` ends its block and is not run: the next block is
//     run again until its expected output matches (up to 5N+5 s), so the
//     test waits only as long as it must. That block must be safe to
//     repeat (dig, curl GETs, grep).
//   - Output matching, ```text: every line of the expected block matches a
//     line of the output, in order, with others allowed before, between
//     and after; a line that is only `...` marks elided lines and `...`
//     inside a line matches any text. Both sides have white space runs
//     collapsed, RFC 3339 times replaced by one token and runs of nine or
//     more digits (serials, sequence numbers) by another. ```yaml: the
//     output equals the block.
//   - A block whose command counts answers with `uniq -c` (a share) is
//     matched on its count lines as a whole: the same addresses, each
//     count within 5 standard deviations of the binomial with the doc's
//     share (100 answers at 20% allow 0..40, at 50% 25..75, at 100% only
//     100).
//
// At the end the copy of examples/tutorial/ must be as it started (the
// last step cleans up) and no process the tutorial started may be left.

const tutorialDoc = "../../docs/tutorial.md"

// tutorialShow logs every block's output, to paste into the doc after a
// change: go test ./test/e2e -run Tutorial -v -args -tutorial.show
var tutorialShow = flag.Bool("tutorial.show", false, "log the output of every command block of docs/tutorial.md")

// tutBlock is one ```sh block and the expected output that follows it.
type tutBlock struct {
	line    int      // line of the opening fence in the doc
	cmds    []tutCmd // logical command lines, in order
	expect  string   // the expected output ("" when the doc shows none)
	expLang string   // "text" or "yaml"
	expLine int
	wait    time.Duration // the block ends with `sleep N`: N
	poll    time.Duration // retry until it matches for this long (the previous block waited)
}

type tutCmd struct {
	line int
	text string
}

var (
	fenceRE = regexp.MustCompile("^\\s*```\\s*(\\S*)\\s*$")
	sleepRE = regexp.MustCompile(`^sleep ([0-9]+)$`)
)

// parseTutorial reads the doc's fenced blocks into steps.
func parseTutorial(t *testing.T, path string) []*tutBlock {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(data), "\n")
	var blocks []*tutBlock
	var last *tutBlock
	for i := 0; i < len(lines); i++ {
		m := fenceRE.FindStringSubmatch(lines[i])
		if m == nil {
			continue
		}
		lang, start := m[1], i+1
		var body []string
		for i++; i < len(lines) && !fenceRE.MatchString(lines[i]); i++ {
			body = append(body, lines[i])
		}
		if i == len(lines) {
			t.Fatalf("%s:%d: the fenced block never closes", path, start)
		}
		switch lang {
		case "sh":
			b := &tutBlock{line: start}
			if last != nil && last.wait > 0 {
				b.poll = 5*last.wait + 5*time.Second
			}
			b.cmds = shCommands(t, path, start, body)
			for j, c := range b.cmds {
				if m := sleepRE.FindStringSubmatch(c.text); m != nil {
					if j != len(b.cmds)-1 {
						t.Fatalf("%s:%d: a wait (`sleep N`) must be the last command of its block", path, c.line)
					}
					n, _ := strconv.Atoi(m[1])
					b.wait = time.Duration(n) * time.Second
					b.cmds = b.cmds[:j]
				}
			}
			if last != nil && last.wait > 0 && len(b.cmds) == 0 {
				t.Fatalf("%s:%d: the block after a wait must have commands", path, start)
			}
			blocks = append(blocks, b)
			last = b
		case "text", "yaml":
			if last == nil || last.expLang != "" {
				t.Fatalf("%s:%d: a ```%s block must follow the ```sh block whose output it shows (one per block)", path, start, lang)
			}
			last.expect, last.expLang, last.expLine = strings.Join(body, "\n"), lang, start
		default:
			t.Fatalf("%s:%d: a fenced block ```%s: the tutorial's test runs ```sh blocks and checks ```text and ```yaml ones; use one of these", path, start, lang)
		}
	}
	for _, b := range blocks {
		if b.poll > 0 && b.expLang == "" {
			t.Fatalf("%s:%d: the block after a wait must show the output it waits for", path, b.line)
		}
	}
	if len(blocks) == 0 {
		t.Fatalf("%s: no ```sh block", path)
	}
	return blocks
}

// shCommands splits a block's body into logical command lines.
func shCommands(t *testing.T, path string, start int, body []string) []tutCmd {
	var cmds []tutCmd
	var cur []string
	curLine := 0
	for i, l := range body {
		if len(cur) == 0 {
			trimmed := strings.TrimSpace(l)
			if trimmed == "" || strings.HasPrefix(trimmed, "#") {
				continue
			}
			curLine = start + 1 + i
		}
		cur = append(cur, l)
		if strings.HasSuffix(l, `\`) {
			continue
		}
		text := strings.Join(cur, "\n")
		if strings.Contains(text, "<<") {
			t.Fatalf("%s:%d: here-documents are not supported by the tutorial's test", path, curLine)
		}
		cmds = append(cmds, tutCmd{line: curLine, text: text})
		cur = nil
	}
	if len(cur) > 0 {
		t.Fatalf("%s:%d: the block ends inside a continued line", path, curLine)
	}
	return cmds
}

func TestTutorial(t *testing.T) {
	start := time.Now()
	blocks := parseTutorial(t, tutorialDoc)
	for _, tool := range []string{"bash", "python3", "curl", "dig"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is not installed: the tutorial needs it (run `make deps`)", tool)
		}
	}

	// Free ports for the doc's fixed ones; the web servers' port must be
	// free on both sites' addresses.
	webPort, ls := sharedPort(t, "127.0.0.2", "127.0.0.3")
	for _, l := range ls {
		l.Close()
	}
	ports := map[string]string{"5300": strconv.Itoa(freePort(t)), "8053": strconv.Itoa(freePort(t)), "8080": strconv.Itoa(webPort)}
	portRE := regexp.MustCompile(`\b(5300|8053|8080)\b`)
	subst := func(s string) string {
		return portRE.ReplaceAllStringFunc(s, func(p string) string { return ports[p] })
	}

	root := t.TempDir()
	tut := filepath.Join(root, "examples", "tutorial")
	// The folder as git has it: what an earlier run by hand left (ignored
	// by its .gitignore) is not copied.
	var ignore []string
	for _, l := range strings.Split(readFile(t, "../../examples/tutorial/.gitignore"), "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			ignore = append(ignore, l)
		}
	}
	for name, content := range tutTree(t, "../../examples/tutorial") {
		if strings.HasSuffix(name, "/") || tutIgnored(ignore, name) {
			continue
		}
		if err := os.MkdirAll(filepath.Dir(filepath.Join(tut, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(tut, name), subst(content))
	}
	before := tutTree(t, tut)
	if err := os.MkdirAll(filepath.Join(root, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(binary, filepath.Join(root, "bin", "smartdns")); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			dumpTutorialLogs(t, tut)
		}
	})

	sh := startTutorialShell(t, root)
	for _, b := range blocks {
		checkTutorialLogs(t, tut)
		began := time.Now()
		deadline := began.Add(b.poll)
		for tries := 1; ; tries++ {
			out, err := sh.runBlock(b, subst)
			if err == nil {
				err = tutMatch(b, out, subst)
			}
			if err == nil {
				if *tutorialShow {
					t.Logf("%s:%d:\n%s", tutorialDoc, b.line, out)
				}
				if b.poll > 0 {
					t.Logf("%s:%d: matched after %v (%d tries)", tutorialDoc, b.line, time.Since(began).Round(time.Millisecond), tries)
				}
				break
			}
			var fatal tutShellError
			if errors.As(err, &fatal) || b.poll == 0 || time.Now().After(deadline) {
				what := ""
				if b.poll > 0 {
					what = fmt.Sprintf(" (after waiting %v)", b.poll)
				}
				t.Fatalf("%s:%d: %v%s\n--- output:\n%s", tutorialDoc, b.line, err, what, out)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}

	// The last step stops every process and removes what the tutorial
	// wrote: the shell ends alone and the folder is as it was.
	if left := sh.close(); len(left) > 0 {
		t.Errorf("processes the tutorial started are still running after its last step:\n%s", strings.Join(left, "\n"))
	}
	after := tutTree(t, tut)
	var diffs []string
	for name, content := range before {
		if got, ok := after[name]; !ok {
			diffs = append(diffs, "missing: "+name)
		} else if got != content {
			diffs = append(diffs, "changed: "+name)
		}
	}
	for name := range after {
		if _, ok := before[name]; !ok {
			diffs = append(diffs, "left behind: "+name)
		}
	}
	if len(diffs) > 0 {
		sort.Strings(diffs)
		t.Errorf("examples/tutorial/ is not as it started after the last step:\n%s", strings.Join(diffs, "\n"))
	}
	t.Logf("ran %d blocks of %s in %v", len(blocks), tutorialDoc, time.Since(start).Round(time.Millisecond))
}

// tutIgnored reports whether a .gitignore's patterns (the simple kind:
// globs on the base name) ignore the file name.
func tutIgnored(patterns []string, name string) bool {
	for _, p := range patterns {
		if ok, _ := filepath.Match(p, filepath.Base(name)); ok {
			return true
		}
	}
	return false
}

// tutTree maps every file under dir (relative, folders with a final /) to
// its content.
func tutTree(t *testing.T, dir string) map[string]string {
	t.Helper()
	tree := map[string]string{}
	err := filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if info.IsDir() {
			tree[rel+"/"] = ""
			return nil
		}
		b, err := os.ReadFile(p)
		tree[rel] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return tree
}

// checkTutorialLogs fails the test when a process the tutorial started
// panicked or raced (their logs are files in the tutorial's folder).
func checkTutorialLogs(t *testing.T, dir string) {
	t.Helper()
	logs, _ := filepath.Glob(filepath.Join(dir, "*.log"))
	for _, p := range logs {
		b, _ := os.ReadFile(p)
		if s := string(b); strings.Contains(s, "WARNING: DATA RACE") || strings.Contains(s, "panic:") {
			t.Fatalf("%s: a process raced or panicked:\n%s", filepath.Base(p), s)
		}
	}
}

func dumpTutorialLogs(t *testing.T, dir string) {
	logs, _ := filepath.Glob(filepath.Join(dir, "*.log"))
	for _, p := range logs {
		b, _ := os.ReadFile(p)
		t.Logf("--- %s:\n%s", filepath.Base(p), b)
	}
}

// tutShell is one bash process that runs the tutorial's commands as the
// reader's shell would.
type tutShell struct {
	t     *testing.T
	cmd   *exec.Cmd
	stdin io.WriteCloser
	lines chan string
	done  chan struct{}
	seq   int
}

// tutShellError is a failure of the shell itself (not of a command):
// retrying would not help.
type tutShellError struct{ error }

func startTutorialShell(t *testing.T, dir string) *tutShell {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	s := &tutShell{t: t, lines: make(chan string, 1024), done: make(chan struct{})}
	s.cmd = exec.Command("bash", "--noprofile", "--norc")
	s.cmd.Dir = dir
	// A -race build sleeps 1s on exit by default.
	s.cmd.Env = append(os.Environ(), "GORACE="+strings.TrimSpace(os.Getenv("GORACE")+" atexit_sleep_ms=0"))
	s.cmd.Stdout, s.cmd.Stderr = w, w
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if s.stdin, err = s.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	go func() {
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			s.lines <- sc.Text()
		}
		close(s.lines)
		r.Close()
	}()
	go func() { s.cmd.Wait(); close(s.done) }()
	// Whatever happens, nothing the tutorial started outlives the test.
	t.Cleanup(func() { s.kill() })
	return s
}

// runBlock runs a block's commands and returns their output; a command
// that exits non-zero ends the block with an error.
func (s *tutShell) runBlock(b *tutBlock, subst func(string) string) (string, error) {
	var out strings.Builder
	for _, c := range b.cmds {
		text := subst(c.text)
		if text == "make build" {
			text = "test -x bin/smartdns" // the harness built it
		}
		o, rc, err := s.run(text, 30*time.Second)
		out.WriteString(o)
		if err != nil {
			return out.String(), tutShellError{fmt.Errorf("line %d: %s: %w", c.line, text, err)}
		}
		if rc != 0 {
			return out.String(), fmt.Errorf("line %d: %s: exit status %d", c.line, text, rc)
		}
	}
	return out.String(), nil
}

// run sends one command line to the shell, then a marker carrying its
// exit status, and collects the output up to the marker.
func (s *tutShell) run(text string, timeout time.Duration) (string, int, error) {
	s.seq++
	marker := fmt.Sprintf("\x1etut %d ", s.seq)
	script := fmt.Sprintf("%s\n__tut_rc=$?; printf '\\n\\036tut %d %%d\\n' \"$__tut_rc\"\n", text, s.seq)
	if _, err := io.WriteString(s.stdin, script); err != nil {
		return "", 0, fmt.Errorf("writing to the shell: %w", err)
	}
	var out []string
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		select {
		case line, ok := <-s.lines:
			if !ok {
				return strings.Join(out, "\n"), 0, errors.New("the shell exited")
			}
			i := strings.Index(line, marker)
			if i < 0 {
				out = append(out, line)
				continue
			}
			if i > 0 {
				out = append(out, line[:i])
			}
			rc, _ := strconv.Atoi(strings.TrimSpace(line[i+len(marker):]))
			for len(out) > 0 && out[len(out)-1] == "" {
				out = out[:len(out)-1]
			}
			if len(out) == 0 {
				return "", rc, nil
			}
			return strings.Join(out, "\n") + "\n", rc, nil
		case <-timer.C:
			return strings.Join(out, "\n"), 0, fmt.Errorf("no end after %v", timeout)
		}
	}
}

// close ends the shell's input, waits for it to exit and returns the
// processes still running in its process group.
func (s *tutShell) close() []string {
	s.stdin.Close()
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
		s.t.Errorf("the shell did not exit after its input ended")
	}
	var left []string
	for _, pid := range groupPids(s.cmd.Process.Pid) {
		cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		left = append(left, fmt.Sprintf("%d %s", pid, strings.ReplaceAll(string(cmdline), "\x00", " ")))
	}
	return left
}

// kill ends every process of the shell's group: TERM, then KILL.
func (s *tutShell) kill() {
	pgid := s.cmd.Process.Pid
	syscall.Kill(-pgid, syscall.SIGTERM)
	deadline := time.Now().Add(5 * time.Second)
	for len(groupPids(pgid)) > 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	syscall.Kill(-pgid, syscall.SIGKILL)
	<-s.done
}

// groupPids lists the live (not zombie) processes of a process group.
func groupPids(pgid int) []int {
	entries, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue
		}
		// pid (comm) state ppid pgrp ...; comm may hold spaces.
		f := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
		if len(f) < 3 || f[0] == "Z" {
			continue
		}
		if g, _ := strconv.Atoi(f[2]); g == pgid {
			pids = append(pids, pid)
		}
	}
	return pids
}

var (
	tutTimeRE   = regexp.MustCompile(`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)`)
	tutDigitsRE = regexp.MustCompile(`\d{9,}`)
	tutSpaceRE  = regexp.MustCompile(`\s+`)
	tutCountRE  = regexp.MustCompile(`^\s*(\d+) (\S+)$`)
)

// tutNorm collapses white space and replaces what varies from run to run.
func tutNorm(s string) string {
	s = tutTimeRE.ReplaceAllString(s, "<time>")
	s = tutDigitsRE.ReplaceAllString(s, "<n>")
	return strings.TrimSpace(tutSpaceRE.ReplaceAllString(s, " "))
}

// tutMatch checks a block's output against the doc's expected output.
func tutMatch(b *tutBlock, out string, subst func(string) string) error {
	if b.expLang == "" {
		return nil
	}
	want := subst(b.expect)
	if b.expLang == "yaml" {
		if strings.TrimRight(out, "\n") != strings.TrimRight(want, "\n") {
			return fmt.Errorf("the output is not the ```yaml block of line %d", b.expLine)
		}
		return nil
	}
	got := strings.Split(strings.TrimRight(out, "\n"), "\n")
	wantLines := strings.Split(want, "\n")
	isShare := false
	for _, c := range b.cmds {
		isShare = isShare || strings.Contains(c.text, "uniq -c")
	}
	if isShare {
		if err := tutShares(wantLines, got); err != nil {
			return fmt.Errorf("the share does not match the ```text block of line %d: %w", b.expLine, err)
		}
		wantLines = dropCounts(wantLines)
		got = dropCounts(got)
	}
	j := 0
	for _, w := range wantLines {
		nw := tutNorm(w)
		if nw == "" || nw == "..." {
			continue
		}
		pattern := regexp.MustCompile("^" + strings.Join(quoteAll(strings.Split(nw, "...")), ".*") + "$")
		for j < len(got) && !pattern.MatchString(tutNorm(got[j])) {
			j++
		}
		if j == len(got) {
			return fmt.Errorf("the output lacks this line of the ```text block of line %d (in this order):\n%s", b.expLine, w)
		}
		j++
	}
	return nil
}

func quoteAll(parts []string) []string {
	for i, p := range parts {
		parts[i] = regexp.QuoteMeta(p)
	}
	return parts
}

func dropCounts(lines []string) []string {
	var out []string
	for _, l := range lines {
		if !tutCountRE.MatchString(l) {
			out = append(out, l)
		}
	}
	return out
}

// tutShares compares `uniq -c` counts: the same keys, each count within
// 5 standard deviations of the binomial with the expected share.
func tutShares(want, got []string) error {
	counts := func(lines []string) (map[string]int, int) {
		m, n := map[string]int{}, 0
		for _, l := range lines {
			if c := tutCountRE.FindStringSubmatch(l); c != nil {
				v, _ := strconv.Atoi(c[1])
				m[c[2]] += v
				n += v
			}
		}
		return m, n
	}
	w, n := counts(want)
	g, _ := counts(got)
	if n == 0 {
		return errors.New("the expected output has no counts")
	}
	for k, c := range w {
		p := float64(c) / float64(n)
		tol := int(math.Ceil(5 * math.Sqrt(float64(n)*p*(1-p))))
		if gc, ok := g[k]; !ok || gc < c-tol || gc > c+tol {
			return fmt.Errorf("%s: got %d, want %d±%d", k, gc, c, tol)
		}
	}
	for k, c := range g {
		if _, ok := w[k]; !ok {
			return fmt.Errorf("%s: got %d, want none", k, c)
		}
	}
	return nil
}
