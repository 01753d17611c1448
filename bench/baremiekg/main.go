// Command baremiekg is the benchmark baseline: a bare github.com/miekg/dns
// UDP server that answers every query with one fixed A record, doing no zone
// lookup at all. bench/run.sh measures it next to smartdns so the cost of the
// library's packet handling can be told apart from smartdns's own work.
package main

import (
	"flag"
	"log"
	"net"
	"os"
	"os/signal"
	"syscall"

	"github.com/miekg/dns"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:5399", "UDP address to listen on")
	ip := flag.String("a", "192.0.2.1", "IPv4 address returned in every answer")
	flag.Parse()

	answer := net.ParseIP(*ip).To4()
	if answer == nil {
		log.Fatalf("baremiekg: -a %q is not an IPv4 address", *ip)
	}

	handler := dns.HandlerFunc(func(w dns.ResponseWriter, req *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(req)
		m.Authoritative = true
		if len(req.Question) == 1 {
			m.Answer = []dns.RR{&dns.A{
				Hdr: dns.RR_Header{
					Name:   req.Question[0].Name,
					Rrtype: dns.TypeA,
					Class:  dns.ClassINET,
					Ttl:    3600,
				},
				A: answer,
			}}
		}
		_ = w.WriteMsg(m)
	})

	srv := &dns.Server{
		Addr:              *addr,
		Net:               "udp",
		Handler:           handler,
		NotifyStartedFunc: func() { log.Printf("baremiekg: msg=ready addr=%s", *addr) },
	}

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		<-sig
		_ = srv.Shutdown()
	}()

	if err := srv.ListenAndServe(); err != nil {
		log.Fatalf("baremiekg: %v", err)
	}
}
