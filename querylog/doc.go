// Package querylog records a sample of answered queries as dnstap frames
// (to a collector's unix socket or to a file) and as JSON lines (to a file).
//
// It owns the whole way from the answer path to the log: the sampling
// decision, the bounded queue, the background goroutine that parses and
// encodes, the outputs, and the counters (Stats) that say how much was
// logged, dropped and failed. Query logging is off unless the `query_log:`
// section of the config names an output; Open then returns a nil *Logger,
// whose methods do nothing.
//
// # Why the answer path never waits
//
// The server calls Logger.Log after it has written each response. Log
// first decides whether the query is sampled, with one call to the
// runtime's per-thread random source and a compare: no lock, no shared
// counter, no allocation. When the query is sampled, Log copies the query
// and the response into a pooled buffer and offers it to a channel of
// Config.Buffer slots with a select that has a default case: when the
// channel is full the query is dropped and counted, never waited for. All
// parsing, encoding and I/O happen in one background goroutine, so a slow
// disk or a stalled dnstap collector fills the queue and costs dropped log
// entries, never answer latency. A collector that goes away is dialled
// again by a second goroutine with exponential backoff; while it is away
// its frames are dropped and counted. Close drains the queue, writes the
// frame-stream STOP and flushes, and gives up after a bounded time.
//
// # dnstap messages
//
// Each answered query becomes one Dnstap MESSAGE frame of type
// AUTH_RESPONSE that carries both query_message and response_message,
// query_time (when the query was received) and response_time (when Log
// was called), the socket family and protocol, and the client
// (query_address, query_port) and server (response_address,
// response_port) addresses. A query dropped without an answer (Log with a
// nil response) becomes one AUTH_QUERY frame. Knot and NSD instead emit an
// AUTH_QUERY and an AUTH_RESPONSE frame per query; dnstap.proto makes every
// Message field optional, and one frame carrying both messages halves the
// frame rate, keeps a sampled query and its answer together, and is read
// by the dnstap tools like any other AUTH_RESPONSE. Every frame carries
// the identity (the host name unless configured) and the version given to
// Open. The frame-stream content type is "protobuf:dnstap.Dnstap"; a
// socket uses the bidirectional handshake, a file is written
// unidirectionally and is truncated when opened (a frame-stream file ends
// at its first STOP frame, so appending would hide the new frames).
//
// # JSON lines
//
// The JSON file receives one object per logged query, appended, with
// these fields in this order:
//
//	time        when the query was received, RFC 3339 with nanoseconds, UTC
//	client      the client's IP address
//	port        the client's port
//	proto       "udp" or "tcp"
//	id          the message ID
//	name        the query name as sent (case kept, presentation escapes)
//	type        the query type mnemonic, "TYPE65280" when unknown
//	class       the query class mnemonic, "CLASS1234" when unknown
//	rcode       the response code with the EDNS extended bits ("NOERROR", "BADVERS")
//	flags       header flags of the response ("qr aa rd"), of the query when dropped
//	answers     the number of answer records
//	size        response bytes (0 when dropped)
//	ecs         the query's EDNS client subnet ("192.0.2.0/24"), when present
//	latency_us  microseconds from received to the response being written
//	dropped     true when the query got no response
//	error       why a packet did not parse, when one did not
//
// Fields that cannot be known are left out: rcode and answers need a
// response that parses; id, name, type, class and flags come from the
// query, or from the response when the query does not parse. Every line
// is one valid JSON object whatever the bytes. testdata/ keeps a golden
// file of examples.
package querylog
