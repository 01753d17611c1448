package agent

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// Run by root (sudo smartdns agent drain), the state file keeps the owner
// of its folder, so the agent's own (dynamic) user can read it.
func TestDrainAsRootKeepsTheFolderOwner(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to chown")
	}
	dir := filepath.Join(t.TempDir(), "state")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	const uid, gid = 61234, 61235
	if err := os.Chown(dir, uid, gid); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "agent.state")
	if _, err := SetDraining(path, true); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	st := fi.Sys().(*syscall.Stat_t)
	if st.Uid != uid || st.Gid != gid {
		t.Fatalf("state file owned by %d:%d, want the folder's %d:%d", st.Uid, st.Gid, uid, gid)
	}
	if s, _, err := ReadState(path); err != nil || !s.Draining {
		t.Fatalf("state %+v %v", s, err)
	}
}
