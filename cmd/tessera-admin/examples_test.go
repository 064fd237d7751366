package main

import (
	"strings"
	"testing"

	"github.com/tessera-ai/tessera/hub/train"
)

// TestCreateExamplesParse checks that every example spec in the help of
// `jobs create` is one the hub accepts, so the help cannot drift from the
// spec's fields.
func TestCreateExamplesParse(t *testing.T) {
	var details string
	for _, sub := range jobsCommand().subs {
		if sub.name == "create" {
			details = sub.details
		}
	}
	var examples []string
	for rest := details; ; {
		i := strings.Index(rest, "\n  {")
		if i < 0 {
			break
		}
		rest = rest[i+1:]
		depth, end := 0, -1
		for j, r := range rest {
			switch r {
			case '{':
				depth++
			case '}':
				depth--
			}
			if depth == 0 && r == '}' {
				end = j + 1
				break
			}
		}
		if end < 0 {
			t.Fatalf("unbalanced example in:\n%s", rest)
		}
		examples = append(examples, rest[:end])
		rest = rest[end:]
	}
	if len(examples) < 2 {
		t.Fatalf("found %d examples in the help of jobs create, want an MLP's and a language model's:\n%s", len(examples), details)
	}
	types := map[string]bool{}
	for _, ex := range examples {
		spec, err := train.ParseSpec(strings.NewReader(ex))
		if err != nil {
			t.Errorf("example %s: %v", ex, err)
			continue
		}
		types[spec.Model.Type] = true
	}
	if !types["mlp"] || !types["gpt2"] {
		t.Errorf("the examples cover %v, want mlp and gpt2", types)
	}
}
