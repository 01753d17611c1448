// Package yamlx decodes YAML strictly while keeping positions: every unknown
// key is reported with its line and column, which yaml.v3's KnownFields loses
// inside custom unmarshalers.
package yamlx

import (
	"fmt"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// KeyError is one problem in a YAML document, with its position.
type KeyError struct {
	Line, Col int
	Msg       string
}

func (e *KeyError) Error() string { return fmt.Sprintf("%d:%d: %s", e.Line, e.Col, e.Msg) }

// UnknownKeys walks node against the yaml tags of typ (a struct type, or a
// pointer, slice or map of one) and returns an error for every key that typ
// does not know, so a typo in a config file is an error with its place.
func UnknownKeys(node *yaml.Node, typ reflect.Type) []*KeyError {
	var errs []*KeyError
	walk(node, typ, "", &errs)
	return errs
}

func walk(n *yaml.Node, t reflect.Type, path string, errs *[]*KeyError) {
	if n == nil {
		return
	}
	if n.Kind == yaml.DocumentNode {
		for _, c := range n.Content {
			walk(c, t, path, errs)
		}
		return
	}
	if n.Kind == yaml.AliasNode {
		walk(n.Alias, t, path, errs)
		return
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			return // the decoder reports the type mismatch
		}
		fields := map[string]reflect.Type{}
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			tag := strings.Split(f.Tag.Get("yaml"), ",")[0]
			if tag == "-" || !f.IsExported() {
				continue
			}
			if tag == "" {
				tag = strings.ToLower(f.Name)
			}
			fields[tag] = f.Type
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			ft, ok := fields[k.Value]
			if !ok {
				known := make([]string, 0, len(fields))
				for name := range fields {
					known = append(known, name)
				}
				sort.Strings(known)
				where := "top level"
				if path != "" {
					where = path
				}
				*errs = append(*errs, &KeyError{k.Line, k.Column,
					fmt.Sprintf("unknown key %q in %s (known: %s)", k.Value, where, strings.Join(known, ", "))})
				continue
			}
			p := k.Value
			if path != "" {
				p = path + "." + k.Value
			}
			walk(v, ft, p, errs)
		}
	case reflect.Slice, reflect.Array:
		if n.Kind == yaml.SequenceNode {
			for _, c := range n.Content {
				walk(c, t.Elem(), path, errs)
			}
		}
	case reflect.Map:
		if n.Kind == yaml.MappingNode {
			for i := 0; i+1 < len(n.Content); i += 2 {
				walk(n.Content[i+1], t.Elem(), path+"."+n.Content[i].Value, errs)
			}
		}
	}
}

var lineRE = regexp.MustCompile(`line (\d+):? ?(.*)`)

// DecodeErrors turns an error from yaml.v3 (syntax or type errors, which
// carry "line N: msg" text) into positioned errors.
func DecodeErrors(err error) []*KeyError {
	if err == nil {
		return nil
	}
	var out []*KeyError
	if te, ok := err.(*yaml.TypeError); ok {
		for _, e := range te.Errors {
			out = append(out, fromText(e))
		}
		return out
	}
	return []*KeyError{fromText(strings.TrimPrefix(err.Error(), "yaml: "))}
}

func fromText(s string) *KeyError {
	if m := lineRE.FindStringSubmatch(s); m != nil {
		line, _ := strconv.Atoi(m[1])
		return &KeyError{Line: line, Col: 1, Msg: strings.TrimSpace(m[2])}
	}
	return &KeyError{Line: 1, Col: 1, Msg: s}
}

// Decode unmarshals a YAML document into v (a pointer to a struct)
// strictly, the way every config file of smartdns is read: it returns the
// document's root node, for positions, and every problem found (syntax
// errors, unknown keys, wrong types), each with its line and column. The
// root is nil after a syntax error; an empty document gives a root with no
// content and no problems, for the caller to refuse in its own words.
func Decode(data []byte, v any) (*yaml.Node, []*KeyError) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, DecodeErrors(err)
	}
	if len(root.Content) == 0 {
		return &root, nil
	}
	errs := UnknownKeys(&root, reflect.TypeOf(v))
	if err := root.Decode(v); err != nil {
		errs = append(errs, DecodeErrors(err)...)
	}
	return &root, errs
}

// Find returns the value node at the key path below the document's top
// mapping (the top mapping itself for an empty path), or nil.
func Find(root *yaml.Node, path ...string) *yaml.Node {
	n := root
	if n == nil {
		return nil
	}
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	for _, k := range path {
		if n.Kind != yaml.MappingNode {
			return nil
		}
		var next *yaml.Node
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == k {
				next = n.Content[i+1]
			}
		}
		if next == nil {
			return nil
		}
		n = next
	}
	return n
}
