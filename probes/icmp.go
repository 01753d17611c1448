package probes

import (
	"bytes"
	"context"
	crand "crypto/rand"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"

	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"

	"github.com/smartdns/smartdns/pool"
)

const (
	protoICMP   = 1  // IANA protocol number of ICMP
	protoICMPv6 = 58 // and of ICMPv6
)

// CheckICMP reports whether this process can send ICMP echo requests
// (IPv4): nil when it can, else an error that says what to change. The
// zone loader calls it to refuse ICMP health checks at load time rather
// than mark every such value down.
//
// ICMP checks use unprivileged ping sockets where the kernel allows them
// (Linux: sysctl net.ipv4.ping_group_range includes the process's group;
// it covers IPv6 too) and raw sockets otherwise (root or CAP_NET_RAW).
func CheckICMP() error { return checkICMP(false) }

// CheckICMPv6 is CheckICMP for IPv6 targets.
func CheckICMPv6() error { return checkICMP(true) }

func checkICMP(v6 bool) error {
	c, _, err := openICMP(v6)
	if err != nil {
		return err
	}
	return c.Close()
}

// openICMP opens an ICMP socket: a ping socket if the kernel allows one,
// else a raw socket. raw tells which, since a raw socket sees every ICMP
// message the host receives and replies must be told apart by their ID.
func openICMP(v6 bool) (c *icmp.PacketConn, raw bool, err error) {
	dgram, rawNet, laddr := "udp4", "ip4:icmp", "0.0.0.0"
	if v6 {
		dgram, rawNet, laddr = "udp6", "ip6:ipv6-icmp", "::"
	}
	c, err1 := icmp.ListenPacket(dgram, laddr)
	if err1 == nil {
		return c, false, nil
	}
	c, err2 := icmp.ListenPacket(rawNet, laddr)
	if err2 == nil {
		return c, true, nil
	}
	return nil, false, fmt.Errorf("ICMP health checks are not possible: this process may open neither a ping socket "+
		"(the sysctl net.ipv4.ping_group_range must include its group %d: %w) nor a raw socket "+
		"(that takes root or CAP_NET_RAW: %w)", os.Getgid(), err1, err2)
}

// resolveIP returns the address to probe: addr itself when it is an IP,
// else its first address from the resolver (a CNAME value's target).
func (k *checker) resolveIP(ctx context.Context, addr string) (netip.Addr, error) {
	addr = bare(addr)
	if ip, err := netip.ParseAddr(addr); err == nil {
		return ip.Unmap(), nil
	}
	res := k.dialer.Resolver
	if res == nil {
		res = net.DefaultResolver
	}
	ips, err := res.LookupNetIP(ctx, "ip", addr)
	if err != nil {
		return netip.Addr{}, err
	}
	if len(ips) == 0 {
		return netip.Addr{}, fmt.Errorf("%s has no address", addr)
	}
	return ips[0].Unmap(), nil
}

// icmp sends one echo request and waits for its reply.
func (k *checker) icmp(ctx context.Context, c *pool.Check) error {
	ip, err := k.resolveIP(ctx, c.Address)
	if err != nil {
		return err
	}
	v6 := ip.Is6()
	conn, raw, err := openICMP(v6)
	if err != nil {
		return err
	}
	defer conn.Close()
	defer bindDeadline(ctx, conn)()

	var token [16]byte
	crand.Read(token[:])
	echo := &icmp.Echo{ID: rand.IntN(0xffff) + 1, Seq: rand.IntN(0x10000), Data: token[:]}
	msg := icmp.Message{Type: ipv4.ICMPTypeEcho, Body: echo}
	var reply icmp.Type = ipv4.ICMPTypeEchoReply
	proto := protoICMP
	if v6 {
		msg.Type, reply, proto = ipv6.ICMPTypeEchoRequest, ipv6.ICMPTypeEchoReply, protoICMPv6
	}
	wire, err := msg.Marshal(nil) // the kernel fills the ICMPv6 checksum
	if err != nil {
		return fmt.Errorf("building the echo request: %w", err)
	}
	var dst net.Addr = &net.UDPAddr{IP: ip.AsSlice(), Zone: ip.Zone()}
	if raw {
		dst = &net.IPAddr{IP: ip.AsSlice(), Zone: ip.Zone()}
	}
	if _, err := conn.WriteTo(wire, dst); err != nil {
		return fmt.Errorf("sending the echo request to %s: %w", ip, err)
	}
	buf := make([]byte, 1500)
	for {
		n, _, err := conn.ReadFrom(buf)
		if err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				return fmt.Errorf("no echo reply from %s", ip)
			}
			return fmt.Errorf("waiting for the echo reply from %s: %w", ip, err)
		}
		m, err := icmp.ParseMessage(proto, buf[:n])
		if err != nil || m.Type != reply {
			continue
		}
		// A ping socket's ID is the kernel's; a raw socket sees every
		// reply on the host, so the random data tells ours apart.
		if e, ok := m.Body.(*icmp.Echo); ok && e.Seq == echo.Seq && bytes.Equal(e.Data, token[:]) {
			return nil
		}
	}
}
