package zones

import "github.com/miekg/dns"

// Kind is the outcome of a lookup in one zone (the closed set of RFC 1034
// §4.3.2 outcomes, as CoreDNS's file plugin names them).
type Kind uint8

const (
	// Success: Set answers the question at the node (or, when Wildcard, at
	// the qname, synthesized from the wildcard node).
	Success Kind = iota
	// NoData: the name exists (perhaps as an empty non-terminal) without
	// the type asked for.
	NoData
	// NameError: the name does not exist (NXDOMAIN).
	NameError
	// Delegation: the name is at or below a zone cut; Node is the cut.
	Delegation
	// CNAMEAlias: Set is a CNAME at the name that must be followed.
	CNAMEAlias
	// DNAMERedirect: Node holds a DNAME above the name (RFC 6672).
	DNAMERedirect
	// ApexAlias: the name is an apex with an ALIAS and the question is
	// for its addresses; Node.Alias is the target.
	ApexAlias
	// Any: the question was type ANY at an existing name with data; the
	// caller picks which RRsets to give (RFC 8482).
	Any
)

// Result is what a lookup found. It holds pointers into the immutable zone
// and is returned by value, so a lookup allocates nothing.
type Result struct {
	Kind     Kind
	Node     *Node
	Set      *RRset
	Wildcard bool
}

// Lookup answers qtype for qname (lower-cased wire form, at or below the
// apex) following RFC 1034 §4.3.2 with the wildcard rules of RFC 4592 and
// DNAME of RFC 6672.
func (z *Zone) Lookup(qname string, qtype uint16) Result {
	if z.hasCuts {
		// Walk down from the apex: the highest cut or DNAME wins.
		var starts [128]int
		n := labelStarts(qname, &starts)
		if n > z.apexLabels {
			// A DNAME at the apex redirects every name below it
			// (RFC 6672 §2.3 allows it there).
			if apex := z.nodes[z.Apex]; apex.DNAME {
				return Result{Kind: DNAMERedirect, Node: apex, Set: apex.Set(dns.TypeDNAME)}
			}
		}
		for i := n - z.apexLabels - 1; i >= 0; i-- {
			node := z.nodes[qname[starts[i]:]]
			if node == nil {
				return z.closest(qname[starts[i]:], qtype)
			}
			if node.Cut && !(i == 0 && qtype == dns.TypeDS) {
				return Result{Kind: Delegation, Node: node, Set: node.Set(dns.TypeNS)}
			}
			if node.DNAME && i > 0 {
				return Result{Kind: DNAMERedirect, Node: node, Set: node.Set(dns.TypeDNAME)}
			}
			if i == 0 {
				return answerAt(node, qtype, false)
			}
		}
		return answerAt(z.nodes[z.Apex], qtype, false)
	}
	if node := z.nodes[qname]; node != nil {
		return answerAt(node, qtype, false)
	}
	var starts [128]int
	n := labelStarts(qname, &starts)
	for i := 1; i < n; i++ {
		if node := z.nodes[qname[starts[i]:]]; node != nil {
			return wildcardAt(node, qtype)
		}
	}
	return Result{Kind: NameError}
}

// closest handles a name that does not exist: missing is the first
// ancestor found absent; the closest encloser is its parent.
func (z *Zone) closest(missing string, qtype uint16) Result {
	node := z.nodes[missing[1+int(missing[0]):]]
	if node == nil {
		return Result{Kind: NameError}
	}
	return wildcardAt(node, qtype)
}

// wildcardAt answers from the wildcard child of the closest encloser ce,
// or NXDOMAIN when there is none (RFC 4592 §3.3.1).
func wildcardAt(ce *Node, qtype uint16) Result {
	if ce.Wild == nil {
		return Result{Kind: NameError}
	}
	return answerAt(ce.Wild, qtype, true)
}

func answerAt(node *Node, qtype uint16, wild bool) Result {
	if qtype == dns.TypeANY {
		if node.Empty() {
			return Result{Kind: NoData, Node: node, Wildcard: wild}
		}
		return Result{Kind: Any, Node: node, Wildcard: wild}
	}
	if node.CNAME != nil && qtype != dns.TypeCNAME {
		return Result{Kind: CNAMEAlias, Node: node, Set: node.CNAME, Wildcard: wild}
	}
	if s := node.Set(qtype); s != nil {
		return Result{Kind: Success, Node: node, Set: s, Wildcard: wild}
	}
	if node.Alias != "" && (qtype == dns.TypeA || qtype == dns.TypeAAAA) {
		return Result{Kind: ApexAlias, Node: node, Wildcard: wild}
	}
	return Result{Kind: NoData, Node: node, Wildcard: wild}
}

func labelCount(name string) int {
	n := 0
	for off := 0; off < len(name) && name[off] != 0; off += 1 + int(name[off]) {
		n++
	}
	return n
}
