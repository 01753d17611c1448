package yamlx

import (
	"strings"
	"testing"
)

type sample struct {
	Name  string `yaml:"name"`
	Inner struct {
		Port int `yaml:"port"`
	} `yaml:"inner"`
	List []struct {
		X int `yaml:"x"`
	} `yaml:"list"`
}

func TestDecodeReportsEveryProblemWithItsPlace(t *testing.T) {
	for _, tc := range []struct {
		name, doc string
		want      []string
	}{
		{"ok", "name: a\ninner: {port: 5}\n", nil},
		{"typo at top", "nmae: a\n", []string{`1:1: unknown key "nmae" in top level (known: inner, list, name)`}},
		{"typo nested and in a list", "inner:\n  prot: 5\nlist:\n  - {x: 1, y: 2}\n", []string{`2:3: unknown key "prot" in inner (known: port)`, `4:12: unknown key "y" in list (known: x)`}},
		{"wrong type", "inner: {port: many}\n", []string{"1:1: cannot unmarshal"}},
		{"syntax", "name: [a\n", []string{"1:1: did not find expected"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var v sample
			_, errs := Decode([]byte(tc.doc), &v)
			var got []string
			for _, e := range errs {
				got = append(got, e.Error())
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %q, want %d problems like %q", got, len(tc.want), tc.want)
			}
			for i, w := range tc.want {
				if !strings.HasPrefix(got[i], w) && !strings.Contains(got[i], strings.TrimPrefix(w, "1:1: ")) {
					t.Errorf("problem %d: got %q, want %q", i, got[i], w)
				}
			}
		})
	}
}

func TestFind(t *testing.T) {
	var v sample
	root, _ := Decode([]byte("name: a\ninner:\n  port: 5\n"), &v)
	if n := Find(root, "inner", "port"); n == nil || n.Line != 3 || n.Value != "5" {
		t.Fatalf("Find inner.port: %+v", n)
	}
	if Find(root, "nope") != nil || Find(nil, "x") != nil {
		t.Fatal("Find of a missing key should be nil")
	}
}
