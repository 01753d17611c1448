package config

import (
	"errors"
	"fmt"
	"math"
	"path/filepath"
)

// QueryLog is the `query_log:` section of the server config (package
// querylog writes it). Its zero value
// logs nothing.
type QueryLog struct {
	// Sample is the fraction of queries logged, in (0, 1]; 0 (unset) means 1.
	Sample float64 `yaml:"sample"`
	// JSON is a file that receives one JSON object per logged query
	// (appended, created 0640).
	JSON   string `yaml:"json"`
	Dnstap Dnstap `yaml:"dnstap"`
	// Buffer bounds the queries waiting to be written; 10000 when zero.
	// Beyond it queries are dropped (counted), never waited for.
	Buffer int `yaml:"buffer"`
	// BufferBytes bounds the bytes of the packets waiting to be written
	// (the buffers their copies are held in); DefaultQueryLogBufferBytes
	// when zero. Beyond it queries are dropped (counted) too: Buffer
	// alone would let large TCP answers hold up to 128 KiB each.
	BufferBytes int64 `yaml:"buffer_bytes"`
}

// Dnstap is the `query_log.dnstap:` section: at most one of Socket
// and File.
type Dnstap struct {
	// Socket is the unix socket of a dnstap collector (frame streams,
	// bidirectional handshake). It need not exist when the server starts,
	// and it is dialled again in the background when it goes away.
	Socket string `yaml:"socket"`
	// File receives a frame stream; it is truncated when opened.
	File string `yaml:"file"`
	// Identity is the dnstap identity on every frame; the host name when
	// empty.
	Identity string `yaml:"identity"`
}

const (
	// DefaultQueryLogBuffer is the queue length when QueryLog.Buffer is zero.
	DefaultQueryLogBuffer = 10000
	// DefaultQueryLogBufferBytes is the byte bound when
	// QueryLog.BufferBytes is zero: 64 MiB.
	DefaultQueryLogBufferBytes = 64 << 20
	// MinQueryLogBufferBytes lets the largest entry in, a TCP query and
	// answer of 64 KiB each, so that no query is too large to be logged.
	MinQueryLogBufferBytes = 128 << 10
	// maxBufferBytes keeps a typo from letting the log hold gigabytes.
	maxBufferBytes = 4 << 30
	// maxBuffer keeps a typo from reserving gigabytes: each slot holds
	// about 150 bytes of bookkeeping plus the copied packets.
	maxBuffer = 1_000_000
	// maxSocketPath is the longest unix socket path Linux accepts
	// (sun_path is 108 bytes including the terminating NUL).
	maxSocketPath = 107
)

// Enabled reports whether any output is configured.
func (c QueryLog) Enabled() bool {
	return c.JSON != "" || c.Dnstap.Socket != "" || c.Dnstap.File != ""
}

// Validate checks every key and returns all problems joined (errors.Join),
// each naming its key, e.g. "query_log.sample: must be in (0, 1], got 1.5".
// The zero Config is valid.
func (c QueryLog) Validate() error { return c.ValidateOutputs(true) }

// ValidateOutputs is Validate; needOutput false accepts a section with no
// output (a test that adds outputs of its own).
func (c QueryLog) ValidateOutputs(needOutput bool) error {
	var errs []error
	add := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf(format, args...))
	}
	if math.IsNaN(c.Sample) || c.Sample < 0 || c.Sample > 1 {
		add("query_log.sample: must be in (0, 1], got %v", c.Sample)
	}
	if c.Buffer < 0 || c.Buffer > maxBuffer {
		add("query_log.buffer: must be between 0 (meaning %d) and %d, got %d", DefaultQueryLogBuffer, maxBuffer, c.Buffer)
	}
	if c.BufferBytes != 0 && (c.BufferBytes < MinQueryLogBufferBytes || c.BufferBytes > maxBufferBytes) {
		add("query_log.buffer_bytes: must be 0 (meaning %d) or between %d and %d bytes, got %d",
			DefaultQueryLogBufferBytes, MinQueryLogBufferBytes, int64(maxBufferBytes), c.BufferBytes)
	}
	d := c.Dnstap
	if d.Socket != "" && d.File != "" {
		add("query_log.dnstap: give socket or file, not both")
	}
	if len(d.Socket) > maxSocketPath {
		add("query_log.dnstap.socket: the path is %d bytes; unix sockets allow at most %d", len(d.Socket), maxSocketPath)
	}
	if c.JSON != "" && d.File != "" && filepath.Clean(c.JSON) == filepath.Clean(d.File) {
		add("query_log.json and query_log.dnstap.file: both name %s; use two files", c.JSON)
	}
	if needOutput && !c.Enabled() && c != (QueryLog{}) {
		add("query_log: no output; set json, dnstap.socket or dnstap.file")
	}
	return errors.Join(errs...)
}

// QueueLength is the queue length, with the default applied.
func (c QueryLog) QueueLength() int {
	if c.Buffer == 0 {
		return DefaultQueryLogBuffer
	}
	return c.Buffer
}

// QueueBytes is the byte bound of the queue, with the default applied.
func (c QueryLog) QueueBytes() int64 {
	if c.BufferBytes == 0 {
		return DefaultQueryLogBufferBytes
	}
	return c.BufferBytes
}

// Threshold turns Sample into a compare against a uniform uint64: a query
// is logged when all is true or rand.Uint64() < t.
func (c QueryLog) Threshold() (t uint64, all bool) {
	if c.Sample == 0 || c.Sample >= 1 {
		return 0, true
	}
	// Sample < 1, so the product is below 2^64 and converts exactly.
	return uint64(math.Ldexp(c.Sample, 64)), false
}
