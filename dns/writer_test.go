package dns

import (
	"bytes"
	"testing"
)

// TestWriterRdataCase: names in RDATA keep the zone's case (RFC 4343
// §4.1): they compress only against a name written with the same case,
// while owner names compress against any case.
func TestWriterRdataCase(t *testing.T) {
	wire := func(labels ...string) string {
		var b []byte
		for _, l := range labels {
			b = append(append(b, byte(len(l))), l...)
		}
		return string(append(b, 0))
	}
	tests := []struct {
		name      string
		first     string // owner written first (an A record)
		mxTarget  string
		wantBytes string // must appear literally in the message
		wantLen   int    // of the MX record
	}{
		// owner y (3) + header (10) + preference (2) + "MaiL" (5) + pointer to "x" (2)
		{"target differs in case from an earlier owner", wire("mail", "x"), wire("MaiL", "x"), "\x04MaiL\xc0", 22},
		// owner y (3) + header (10) + preference (2) + pointer (2)
		{"target equal to an earlier owner compresses", wire("MaiL", "x"), wire("MaiL", "x"), "", 17},
	}
	for _, tt := range tests {
		var w msgWriter
		buf := make([]byte, 512)
		w.reset(buf, len(buf))
		w.writeRR(tt.first, typeA, 60, []byte{192, 0, 2, 1})
		before := w.off
		rd := append([]byte{0, 10}, tt.mxTarget...)
		if !w.writeRR(wire("y"), typeMX, 60, rd) {
			t.Fatalf("%s: write failed", tt.name)
		}
		msg := buf[:w.off]
		if tt.wantBytes != "" && !bytes.Contains(msg, []byte(tt.wantBytes)) {
			t.Errorf("%s: %q does not contain %q", tt.name, msg, tt.wantBytes)
		}
		if w.off-before != tt.wantLen {
			t.Errorf("%s: MX record is %d bytes, want %d", tt.name, w.off-before, tt.wantLen)
		}
	}
	// An owner name takes whatever case is already in the message.
	var w msgWriter
	buf := make([]byte, 512)
	w.reset(buf, len(buf))
	w.writeRR(wire("MaiL", "x"), typeA, 60, []byte{192, 0, 2, 1})
	before := w.off
	w.writeRR(wire("mail", "x"), typeA, 60, []byte{192, 0, 2, 1})
	if w.off-before != 2+10+4 {
		t.Errorf("owner name not compressed against another case: %d bytes", w.off-before)
	}
}
