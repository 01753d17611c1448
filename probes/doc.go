// Package probes health-checks the values of dynamic records and
// publishes, for the query path, which of them are up.
//
// # Targets
//
// A target is one distinct pool.Check (its Key: protocol, address, port,
// host, path, interval, timeout, rise, fall, expectations, headers, DNS
// question, UDP payload). However many records and pools use it, a target is probed
// by one prober. Runner.SetTargets is given the distinct checks of the
// current zones on every load: new targets are checked at once, targets
// no longer used stop being probed, the others go on untouched. A check
// whose settings change is a new target.
//
// # Protocols
//
//   - HTTP and HTTPS: GET Path (default "/") from Address:Port (default
//     80 or 443), with the Host header and the TLS server name set to
//     Host (default: the address), the Headers given, no redirect
//     followed, a fresh connection each time. Healthy when the status is
//     in ExpectStatus (default 200) and, when ExpectBody is set, the
//     first 64 KiB of the body contain it. TLSVerify false accepts any
//     certificate.
//   - TCP: healthy when a connection to Address:Port opens.
//   - UDP: Payload (possibly empty) is sent in one datagram from a socket
//     connected to Address:Port. Healthy when a reply comes back within
//     the timeout and, when ExpectReply is set, holds it. Down when no
//     reply comes, or at once when the target's host answers ICMP port
//     unreachable (a connected socket reads it as connection refused);
//     the error says which. A service that answers nothing to Payload
//     cannot be told from one that is down, so it is always down.
//   - ICMP: healthy when an echo request is answered. It uses a ping
//     socket when the kernel allows one (Linux: the process's group is
//     in sysctl net.ipv4.ping_group_range) and a raw socket otherwise
//     (root or CAP_NET_RAW); CheckICMP says at load time whether either
//     is possible.
//   - DNS: a non-recursive query for DNSName/DNSType (default A) to
//     Address:Port (default 53), over UDP (TCP when truncated). Healthy on
//     NOERROR with at least one answer record.
//
// An address that is a host name (a CNAME value) is resolved at each
// check. Every check ends after Timeout (default 3s, never more than the
// interval).
//
// # Schedule
//
// The first check of a target runs at once. The next one starts a random
// 10-100% of the interval after it, which spreads targets added together
// (say 10,000 at start-up) over the interval; later checks start 90-100%
// of the interval after the previous one started. The time between two
// checks never exceeds the interval. At most Runner.MaxInFlight checks
// (default 64) run at once; the others wait their turn, so a start-up with
// many targets is a queue, not a burst.
//
// # States
//
// A target is unknown, up or down (pool.Unknown, Healthy, Unhealthy).
// Unknown counts as up: a server that has not checked yet answers with
// every value rather than with none.
//
//   - Unknown: the first success makes it up at once; Fall failures in a
//     row make it down.
//   - Up: Fall failures in a row make it down.
//   - Down: Rise successes in a row make it up.
//
// (Rise and Fall below 1 count as 1.) So a server that stops answering
// leaves the answers within interval × fall + timeout, and one that comes
// back returns within interval × rise + timeout, as long as the timeout
// is below 90% of the interval and the checks are not held up by
// MaxInFlight. A flapping target, whose results alternate, never changes
// state once known when rise and fall are 2 or more, and is never taken
// down from unknown: it keeps being served.
//
// A check that fails on this host rather than on the target (out of file
// descriptors, no buffer space or memory for a socket, no local address;
// see localErrnos for the list and why) has no result: the target keeps
// its state and its runs of successes and failures, the failure is
// counted (TargetStatus.LocalErrors) and logged at Warn once per target
// and state. A starved prober therefore never changes answers.
//
// Each change is logged (Info: target, from, to, reason, error; the
// change from unknown to up, which changes no answer, at Debug) and a new
// pool.HealthTable is published within 10ms (changes that come together
// share one table): an immutable slice of the states of every member id
// (pool.Members), where a member without a target is unknown.
// SetTargets also publishes one before it returns, restored states
// included. The query path reads the table with one atomic load; it never
// waits for a lock or the disk.
//
// # Persistence
//
// With a StateStore (the bbolt state file), a target's state is written
// at once when it changes, otherwise at most once every 3 intervals (the
// pending records go in one write transaction per FlushInterval, 1s), and
// every target's when Run ends.
// After a restart a target starts from its saved state when that state's
// last result is younger than 10 intervals, and from unknown otherwise.
// Targets removed by SetTargets are deleted from the store.
//
// # Several nameservers
//
// Every nameserver probes on its own: they share no results, so during a
// failure they may disagree for up to about one interval, and a web
// server sees each target's checks once per interval from each
// nameserver. To keep that load small: use a longer interval (the
// reaction time, interval × fall, grows with it); give a site one
// value (its load balancer's address, probed once however many records
// and pools use it) rather than one per web server; and
// give values that need no probing a fixed status (up or down), which
// makes no target at all.
package probes
