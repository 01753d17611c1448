package probes

import (
	"errors"
	"syscall"
)

// localErrnos are the errors that say this host could not run a check,
// not that the target failed it: the process is out of file descriptors
// (EMFILE) or the system is (ENFILE), the kernel has no buffer or memory
// for the socket (ENOBUFS, ENOMEM), no local address can be bound
// (EADDRNOTAVAIL: the source address is gone, or the ephemeral ports are
// exhausted), or the address family is not supported here (EAFNOSUPPORT:
// IPv6 disabled on the host). Counting them as the target failing would
// take healthy values out of answers because of a problem of this host.
//
// Not local, though they may be raised by this host's own stack:
// ECONNREFUSED (the target, or a firewall on its path, refused),
// ETIMEDOUT and deadlines (no answer), EHOSTUNREACH and ENETUNREACH (the
// kernel also reports an ICMP unreachable from a router on the path with
// them, and the two cannot be told apart; a host without a route to a
// target cannot send it traffic either, which is what the check measures),
// ECONNRESET and EPIPE.
var localErrnos = [...]syscall.Errno{
	syscall.EMFILE,
	syscall.ENFILE,
	syscall.ENOBUFS,
	syscall.ENOMEM,
	syscall.EADDRNOTAVAIL,
	syscall.EAFNOSUPPORT,
}

// isLocal reports whether err (as returned by a check, wrapped or not)
// is a failure of this host rather than of the target.
func isLocal(err error) bool {
	if err == nil {
		return false
	}
	// errors.Is rather than errors.As: an error may join several causes
	// (an ICMP check that could open neither socket kind), and any local
	// one among them is enough.
	for _, e := range localErrnos {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}
