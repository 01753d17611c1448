package diag

import (
	"fmt"
	"strings"
)

// Pos is a place in a source file. Line and Col count from 1; zero means unknown.
type Pos struct {
	File string
	Line int
	Col  int
}

// String formats the position as path:line:col, the form editors and
// compilers use, so an operator can jump to it.
func (p Pos) String() string {
	line, col := p.Line, p.Col
	if line < 1 {
		line = 1
	}
	if col < 1 {
		col = 1
	}
	return fmt.Sprintf("%s:%d:%d", p.File, line, col)
}

// Problem is one thing wrong (or worth a warning) in a zone or config file.
type Problem struct {
	Pos     Pos
	Msg     string
	Warning bool // the file still loads; the operator should know
}

func (p *Problem) Error() string {
	if p.Warning {
		return p.Pos.String() + ": warning: " + p.Msg
	}
	return p.Pos.String() + ": " + p.Msg
}

// Problems collects every problem found in a file, in the order found.
type Problems []*Problem

// Add records an error at pos.
func (ps *Problems) Add(pos Pos, format string, args ...any) {
	*ps = append(*ps, &Problem{Pos: pos, Msg: fmt.Sprintf(format, args...)})
}

// Warn records a warning at pos.
func (ps *Problems) Warn(pos Pos, format string, args ...any) {
	*ps = append(*ps, &Problem{Pos: pos, Msg: fmt.Sprintf(format, args...), Warning: true})
}

// HasErrors reports whether any problem is an error rather than a warning.
func (ps Problems) HasErrors() bool {
	for _, p := range ps {
		if !p.Warning {
			return true
		}
	}
	return false
}

// Errors returns only the errors.
func (ps Problems) Errors() Problems {
	var out Problems
	for _, p := range ps {
		if !p.Warning {
			out = append(out, p)
		}
	}
	return out
}

// Warnings returns only the warnings.
func (ps Problems) Warnings() Problems {
	var out Problems
	for _, p := range ps {
		if p.Warning {
			out = append(out, p)
		}
	}
	return out
}

// Err returns the problems as an error when at least one is an error, else nil.
func (ps Problems) Err() error {
	if !ps.HasErrors() {
		return nil
	}
	return ps.Errors()
}

func (ps Problems) Error() string {
	var b strings.Builder
	for i, p := range ps {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(p.Error())
	}
	return b.String()
}
