package zones

// parentOf returns the wire name with its first label removed, and false
// at the root.
func parentOf(name string) (string, bool) {
	if len(name) <= 1 {
		return "", false
	}
	return name[1+int(name[0]):], true
}

// labelStarts fills starts with the offset of each label of a wire name,
// leftmost first, and returns how many there are (the root is not counted).
func labelStarts(name string, starts *[128]int) int {
	n := 0
	for off := 0; off < len(name) && name[off] != 0 && n < len(starts); off += 1 + int(name[off]) {
		starts[n] = off
		n++
	}
	return n
}

// isBelow reports whether wire name child is at or below parent.
func isBelow(child, parent string) bool {
	if len(child) < len(parent) || child[len(child)-len(parent):] != parent {
		return false
	}
	// The suffix must start on a label boundary.
	off := 0
	for off < len(child)-len(parent) {
		off += 1 + int(child[off])
	}
	return off == len(child)-len(parent)
}
