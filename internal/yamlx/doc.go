package yamlx

import (
	"os"

	"gopkg.in/yaml.v3"

	"github.com/smartdns/smartdns/internal/diag"
)

// File is an operator's YAML file (the server or the agent config) decoded
// strictly into a struct, with what it needs to report every problem at
// its path:line:col.
type File struct {
	Path     string
	Root     *yaml.Node // nil when the file did not parse
	Problems diag.Problems
}

// ReadFile reads path; a file that cannot be read is one problem.
func ReadFile(path string) ([]byte, diag.Problems) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, diag.Problems{{Pos: diag.Pos{File: path}, Msg: err.Error()}}
	}
	return data, nil
}

// DecodeFile decodes data (the file at path) into v, strictly. ok is
// false when there is nothing to validate further: the YAML did not parse,
// or the document is empty (reported with empty, which says what the file
// needs).
func DecodeFile(path string, data []byte, v any, empty string) (f *File, ok bool) {
	f = &File{Path: path}
	root, errs := Decode(data, v)
	for _, e := range errs {
		f.Problems.Add(f.At(e.Line, e.Col), "%s", e.Msg)
	}
	f.Root = root
	if root == nil {
		return f, false
	}
	if len(root.Content) == 0 {
		f.Problems.Add(f.At(1, 1), "empty config: %s", empty)
		return f, false
	}
	return f, true
}

// At is a position in the file.
func (f *File) At(line, col int) diag.Pos { return diag.Pos{File: f.Path, Line: line, Col: col} }

// Pos is where the value of key (a path of mapping keys) is, or the top of
// the file when it is absent.
func (f *File) Pos(key ...string) diag.Pos {
	if n := Find(f.Root, key...); n != nil {
		return f.At(n.Line, n.Column)
	}
	return f.At(1, 1)
}
