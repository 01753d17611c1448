package masterfile

import (
	"path/filepath"
	"testing"
)

// TestParseMasterBINDForms covers presentation forms BIND and NSD accept
// that miekg/dns alone does not, each with its exact rendering.
func TestParseMasterBINDForms(t *testing.T) {
	tests := []struct {
		name, zone, want string
	}{
		{
			name: "$GENERATE modifiers in every base, nibbles, $$ and \\$",
			zone: `$TTL 60
$GENERATE 26-27 ${0,4,d}-${-16,3,o}-${0,4,x}-${0,4,X} TXT "$"
$GENERATE 26-26 ${0,0,n}.ip6 PTR host-${0,0,N}
$GENERATE 1-1 ${0,5,n} A 10.0.0.$
$GENERATE 10-10 x$$ TXT "\$ $$ \\"
$GENERATE 1024-1024 ${-2000,0,n} AAAA 2001:db8::${0,4,x}
$GENERATE 0-0 n${-1} TXT "x"
`,
			want: `2:1 0026-012-001a-001a.example.com.	60	IN	TXT	"26"
2:1 0027-013-001b-001b.example.com.	60	IN	TXT	"27"
3:1 a.1.ip6.example.com.	60	IN	PTR	host-A.1.example.com.
4:1 1.0.0.example.com.	60	IN	A	10.0.0.1
5:1 x$.example.com.	60	IN	TXT	"$ $ \\"
6:1 0.3.c.f.f.f.f.f.example.com.	60	IN	AAAA	2001:db8::400
7:1 n-1.example.com.	60	IN	TXT	"x"
`,
		},
		{
			name: "$GENERATE errors",
			zone: `$GENERATE 1-2 ${0,2,q} A 10.0.0.$
$GENERATE 1-1 x${2147483647} A 10.0.0.1
$GENERATE 1-2 ${0 A 10.0.0.1
$GENERATE 1-2/0 x A 10.0.0.1
$GENERATE 256-260 x$ A 10.0.0.$
`,
			want: `t.zone:1:1: $GENERATE: modifier ${0,2,q}: base "q": want d, o, x, X, n or N
t.zone:2:1: $GENERATE: modifier ${2147483647}: 1+2147483647 is above 2147483647
t.zone:3:1: $GENERATE: "${0 A 10.0.0" has no closing }
t.zone:4:11: bad $GENERATE range "1-2/0": step must be a number from 1 to 2147483647
t.zone:5:1: $GENERATE: the record for 256, "x256 A 10.0.0.256", does not parse: bad A A: "10.0.0.256"
`,
		},
		{
			name: "NSEC, NSEC3 and NXT type bitmaps in any order",
			zone: `$TTL 60
a NSEC b.example.com. TXT RRSIG A NSEC MX
b NSEC3 1 0 1 - 2VPTU5TIMAMQTTGL4LUU9KG21E0AOR3S RRSIG NS A
c NXT d.example.com. NS KEY SOA
`,
			want: `2:1 a.example.com.	60	IN	NSEC	b.example.com. A MX TXT RRSIG NSEC
3:1 b.example.com.	60	IN	NSEC3	1 0 1 - 2VPTU5TIMAMQTTGL4LUU9KG21E0AOR3S A NS RRSIG
4:1 c.example.com.	60	IN	NXT	d.example.com. NS SOA KEY
`,
		},
		{
			name: "WKS and NSAP as RFC 3597 rdata",
			zone: `$TTL 60
@ WKS 192.0.2.1 TCP ( smtp ftp 25
	domain 80 )
w WKS 192.0.2.2 17 53
n NSAP 0x47.0005.80.005a00.0000.0001.e133.ffffff000162.00
t WKS 10.0.0.1 tcp 0 tcpmux 2 ftp telnet smtp 26
`,
			want: `2:1 example.com.	60	CLASS1	TYPE11	\# 16 c0000201060000044000000400000080
4:1 w.example.com.	60	CLASS1	TYPE11	\# 12 c00002021100000000000004
5:1 n.example.com.	60	CLASS1	TYPE22	\# 20 47000580005a0000000001e133ffffff00016200
6:1 t.example.com.	60	CLASS1	TYPE11	\# 9 0a00000106e0000560
`,
		},
		{
			// The types of BIND's all-types test zone (genzone.sh) that
			// miekg/dns cannot read, each in the forms that zone uses.
			name: "ATMA, unquoted NAPTR, A6, SINK, DSYNC, HHIT, BRID, empty URI, DOA, opaque UINFO, empty GPOS",
			zone: `$TTL 60
a1 ATMA +61.2.0000.0000
a2 ATMA 39.246f.000e7c9c.0312.0001.0001.000012345678.00
n NAPTR 100 10 s SIP+D2U !^.*$!sip:x@example.com! _sip._udp
six A6 64 ::1:2:3:4 pfx
six A6 128 .
six A6 0 2001:db8::1
k SINK 8 0 2 l4ik
k SINK 1 0 0
d DSYNC CDS NOTIFY 5359 ns1
h HHIT q80=
b BRID q80=
u URI 30 40 ""
o DOA 0 1 2 "" aHR0cHM6Ly93d3cuaXNjLm9yZy8=
o DOA 1 2 3 "text/plain" -
x UINFO \# 1 01
g GPOS "" "" ""
`,
			want: `2:1 a1.example.com.	60	CLASS1	TYPE34	\# 12 013631323030303030303030
3:1 a2.example.com.	60	CLASS1	TYPE34	\# 21 0039246f000e7c9c03120001000100001234567800
4:1 n.example.com.	60	IN	NAPTR	100 10 "s" "SIP+D2U" "!^.*$!sip:x@example.com!" _sip._udp.example.com.
5:1 six.example.com.	60	CLASS1	TYPE38	\# 26 40000100020003000403706678076578616d706c6503636f6d00
5:1 six.example.com.	60	CLASS1	TYPE38	\# 2 8000
5:1 six.example.com.	60	CLASS1	TYPE38	\# 17 0020010db8000000000000000000000001
8:1 k.example.com.	60	CLASS1	TYPE40	\# 6 0800029788a4
8:1 k.example.com.	60	CLASS1	TYPE40	\# 3 010000
10:1 d.example.com.	60	CLASS1	TYPE66	\# 22 003b0114ef036e7331076578616d706c6503636f6d00
11:1 h.example.com.	60	CLASS1	TYPE67	\# 2 abcd
12:1 b.example.com.	60	CLASS1	TYPE68	\# 2 abcd
13:1 u.example.com.	60	IN	URI	30 40 ""
14:1 o.example.com.	60	CLASS1	TYPE259	\# 30 0000000000000001020068747470733a2f2f7777772e6973632e6f72672f
14:1 o.example.com.	60	CLASS1	TYPE259	\# 20 0000000100000002030a746578742f706c61696e
16:1 x.example.com.	60	CLASS1	TYPE100	\# 1 01
17:1 g.example.com.	60	IN	GPOS	  
`,
		},
		{
			name: "GPOS, X25 and ISDN with quoted character-strings",
			zone: `$TTL 60
g GPOS "-32.6882" "116.8652" "10.0"
h GPOS -22.6882 116.8652 250.0
x X25 "311061700956"
i ISDN "150 862 028 003 217" "004"
`,
			want: `2:1 g.example.com.	60	IN	GPOS	-32.6882 116.8652 10.0
3:1 h.example.com.	60	IN	GPOS	-22.6882 116.8652 250.0
4:1 x.example.com.	60	IN	X25	311061700956
5:1 i.example.com.	60	IN	ISDN	"150 862 028 003 217" "004"
`,
		},
		{
			name: "LOC with minutes, seconds, size and precisions omitted",
			zone: `$TTL 60
a LOC 52 N 4 E 0m
b LOC 52 22 N 4 53 E 10m 20m
c LOC 52 22 23.5 S 4 53 W -5.5m
`,
			want: `2:1 a.example.com.	60	IN	LOC	52 00 0.000 N 04 00 0.000 E 0m 1m 10000m 10m
3:1 b.example.com.	60	IN	LOC	52 22 0.000 N 04 53 0.000 E 10m 20m 10000m 10m
4:1 c.example.com.	60	IN	LOC	52 22 23.500 S 04 53 0.000 W -5.50m 1m 10000m 10m
`,
		},
		{
			name: "DNSSEC algorithm mnemonics",
			zone: `$TTL 60
a DNSKEY 256 3 RSASHA256 AwEAAQ==
a DNSKEY 257 3 ecdsap256sha256 AwEAAQ==
b DS 60485 RSASHA1 1 2BB183AF5F22588179A53B0A98631FAD1A292118
c RRSIG A ED25519 2 60 20250101000000 20240101000000 1 example.com. AwEAAQ==
d CDNSKEY 256 3 PRIVATEDNS AwEAAQ==
e KEY 256 3 DSA AwEAAQ==
`,
			want: `2:1 a.example.com.	60	IN	DNSKEY	256 3 8 AwEAAQ==
2:1 a.example.com.	60	IN	DNSKEY	257 3 13 AwEAAQ==
4:1 b.example.com.	60	IN	DS	60485 5 1 2BB183AF5F22588179A53B0A98631FAD1A292118
5:1 c.example.com.	60	IN	RRSIG	A 15 2 60 20250101000000 20240101000000 1 example.com. AwEAAQ==
6:1 d.example.com.	60	IN	CDNSKEY	256 3 253 AwEAAQ==
7:1 e.example.com.	60	IN	KEY	256 3 3 AwEAAQ==
`,
		},
		{
			name: "SVCB keyNNNNN (the named keys too), tls-supported-groups, IPv4-mapped ipv6hint, also in the generic form",
			zone: `$TTL 60
a SVCB 1 . key00997="quoted" key65000=x key9=""
b HTTPS 1 . alpn=h2 tls-supported-groups=29,23
c SVCB 1 . ipv6hint=::ffff:192.0.2.1,2001:db8::1 port=443
d SVCB 1 . key3=8443 key8 key1=h3
f HTTPS 1 . echconfig=AEj+
e TYPE64 \# 23 0001 00 0006 0010 00000000000000000000ffffc0000201
`,
			want: `2:1 a.example.com.	60	IN	SVCB	1 . key997="quoted" key65000="x" key9=""
3:1 b.example.com.	60	IN	HTTPS	1 . alpn="h2" key9="\000\029\000\023"
4:1 c.example.com.	60	CLASS1	TYPE64	\# 45 0001000003000201bb0006002000000000000000000000ffffc000020120010db8000000000000000000000001
5:1 d.example.com.	60	IN	SVCB	1 . port="8443" ohttp="" alpn="h3"
6:1 f.example.com.	60	IN	HTTPS	1 . ech="AEj+"
7:1 e.example.com.	60	CLASS1	TYPE64	\# 23 0001000006001000000000000000000000ffffc0000201
`,
		},
		{
			name: "continuation lines in column 0 inside parentheses",
			zone: `$TTL 60
a TXT ( "one"
"two" )
b SOA ns hm (
1 2 3 4
5 )
c A 192.0.2.1
`,
			want: `2:1 a.example.com.	60	IN	TXT	"one" "two"
4:1 b.example.com.	60	IN	SOA	ns.example.com. hm.example.com. 1 2 3 4 5
7:1 c.example.com.	60	IN	A	192.0.2.1
`,
		},
		{
			name: "bad rdata of the new forms is refused with a message",
			zone: `$TTL 60
a WKS 192.0.2.300 TCP 25
b WKS 192.0.2.1 ICMPX 25
c WKS 192.0.2.1 TCP nosuchservice
d NSAP 47.0005
e NSAP 0x4
f GPOS "x" "1" "2"
g X25 "12"
h DNSKEY 256 3 NOSUCHALG AwEAAQ==
i SVCB 1 . key65536=x
j SVCB 1 . tls-supported-groups=29,x
k SVCB 1 . ipv6hint=192.0.2.1
l SVCB 1 . ipv6hint=::ffff:192.0.2.256
`,
			want: `t.zone:2:7: WKS address "192.0.2.300" is not an IPv4 address
t.zone:3:17: WKS protocol "ICMPX": want TCP, UDP or a number 0 to 255
t.zone:4:21: WKS service "nosuchservice": want a port number or a known service name (smtp, ftp, telnet, domain, http, ...)
t.zone:5:8: NSAP address "47.0005" must start with 0x (RFC 1706 §5)
t.zone:6:8: NSAP address "0x4": want an even number of hexadecimal digits after 0x, dots allowed between them (RFC 1706 §5)
t.zone:7:8: GPOS longitude "x": want a decimal number (RFC 1712 §3)
t.zone:8:7: X25 PSDN address "12": want at least 4 decimal digits (RFC 1183 §3.1)
t.zone:9:16: unknown DNSSEC algorithm "NOSUCHALG" (RFC 4034 App. A.1: a number or a mnemonic such as RSASHA256, ECDSAP256SHA256, ED25519)
t.zone:10:12: SvcParamKey "key65536": the number must be 0 to 65535 (RFC 9460 §2.1)
t.zone:11:12: tls-supported-groups: "x" is not a TLS group number (0 to 65535)
t.zone:12:12: ipv6hint: "192.0.2.1" is not an IPv6 address
t.zone:13:12: ipv6hint: "::ffff:192.0.2.256" is not an IPv6 address
`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			recs, probs := Parse("t.zone", "example.com.", []byte(tt.zone))
			if got := renderMaster(recs, probs, nil); got != tt.want {
				t.Errorf("got:\n%s\nwant:\n%s\n%s", got, tt.want, lineDiff(tt.want, got))
			}
		})
	}
}

// TestParseMasterIncludeInherits: an included file starts with the current
// owner (its first entry may start with a blank), and `$INCLUDE file
// origin` sets the origin for that file only.
func TestParseMasterIncludeInherits(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"main.zone": `$TTL 60
www A 192.0.2.1
$INCLUDE more.inc
	TXT "back in main: owner www"
$INCLUDE other.inc sub.example.com.
x A 192.0.2.9
`,
		"more.inc":  "\tAAAA 2001:db8::1\n",
		"other.inc": "@ A 192.0.2.3\ny A 192.0.2.4\n",
	})
	recs, probs := ParseFile(filepath.Join(dir, "main.zone"), "example.com.")
	want := `2:1 www.example.com.	60	IN	A	192.0.2.1
1:2 www.example.com.	60	IN	AAAA	2001:db8::1
4:2 www.example.com.	60	IN	TXT	"back in main: owner www"
1:1 sub.example.com.	60	IN	A	192.0.2.3
2:1 y.sub.example.com.	60	IN	A	192.0.2.4
6:1 x.example.com.	60	IN	A	192.0.2.9
`
	if got := renderMaster(recs, probs, nil); got != want {
		t.Errorf("got:\n%s\nwant:\n%s\n%s", got, want, lineDiff(want, got))
	}
}
