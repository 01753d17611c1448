// Package zonefile holds what a zone file says, in the form both readers
// (package octodns for octoDNS YAML, package masterfile for RFC 1035)
// produce and the compiler in package zones consumes: one Record per RRset
// with the position it was written at. It is a leaf: the readers, the
// compiler and the loader all import it, and it imports none of them.
package zonefile
