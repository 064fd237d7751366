package corpus

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

// readAll returns the texts readJSONL passes on.
func readAll(data string, maxLine int64) ([]string, error) {
	var texts []string
	err := readJSONL(strings.NewReader(data), maxLine, func(_ int, text []byte) error {
		texts = append(texts, string(text))
		return nil
	})
	return texts, err
}

func TestReadJSONL(t *testing.T) {
	tests := []struct {
		name, data string
		want       []string
		err        string
	}{
		{"Empty", "", nil, ""},
		{"Records", "{\"text\":\"a\"}\n{\"text\":\"b\\n\\u00e9\",\"meta\":{\"x\":[1]}}\n", []string{"a", "b\né"}, ""},
		{"CRLFAndBlankLines", "\r\n  \n{\"text\":\"a\"}\r\n\n{\"text\":\"b\"}", []string{"a", "b"}, ""},
		{"EmptyTextSkipped", `{"text":""}` + "\n" + `{"text":"x"}`, []string{"x"}, ""},
		{"SurroundingSpace", ` {"text":"a"} `, []string{"a"}, ""},
		{"NotJSON", "{\"text\":\"a\"}\nnope", nil, "line 2: not a JSON object"},
		{"Truncated", `{"text":"a`, nil, "line 1: invalid JSON"},
		{"TwoValues", `{"text":"a"} {}`, nil, "line 1: invalid JSON"},
		{"Null", `null`, nil, "line 1: not a JSON object"},
		{"NoText", `{"Text":"a"}`, nil, `line 1: no "text" field`},
		{"TextNull", `{"text":null}`, nil, `line 1: "text" is null, not a string`},
		{"TextArray", `{"text":["a"]}`, nil, `"text" is ["a"], not a string`},
		{"InvalidUTF8", "{\"text\":\"\xff\"}", nil, "line 1: not UTF-8 text: invalid UTF-8 at offset 9"},
		{"NULEscape", `{"text":"\u0000"}`, nil, "NUL character"},
		{"TooLong", `{"text":"abc"}` + "\n" + `{"text":"abcd"}`, nil, "line 2: longer than 14 bytes"},
		{"FarTooLong", `{"text":"` + strings.Repeat("a", 100) + `"}`, nil, "line 1: longer than 14 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := readAll(tt.data, 14)
			if tt.name != "TooLong" && tt.name != "FarTooLong" {
				got, err = readAll(tt.data, 1<<20)
			}
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil || strings.Join(got, "|") != strings.Join(tt.want, "|") || len(got) != len(tt.want) {
				t.Fatalf("got %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

// FuzzJSONL checks that readJSONL never panics and that what it accepts
// is consistent: at most one non-empty, NUL-free UTF-8 text per line, and
// the texts written back as JSON Lines read back unchanged.
func FuzzJSONL(f *testing.F) {
	f.Add([]byte("{\"text\":\"a\"}\n{\"text\":\"b\\u00e9\",\"id\":1}\r\n\n"), int64(100))
	f.Add([]byte(`{"text":"\ud800"}`), int64(100))
	f.Add([]byte(`{"text":"x"}`), int64(3))
	f.Add([]byte("[1]\n{}"), int64(100))
	f.Fuzz(func(t *testing.T, data []byte, maxLine int64) {
		maxLine = max(1, maxLine%4096)
		var texts []string
		err := readJSONL(bytes.NewReader(data), maxLine, func(_ int, text []byte) error {
			texts = append(texts, string(text))
			return nil
		})
		if err != nil {
			if !strings.HasPrefix(err.Error(), "line ") {
				t.Fatalf("error %q does not name the line", err)
			}
			return
		}
		if lines := bytes.Count(data, []byte("\n")) + 1; len(texts) > lines {
			t.Fatalf("%d texts from %d lines", len(texts), lines)
		}
		var again bytes.Buffer
		for _, text := range texts {
			if text == "" || !utf8.ValidString(text) || strings.IndexByte(text, 0) >= 0 {
				t.Fatalf("bad text %q", text)
			}
			line, err := json.Marshal(map[string]string{"text": text})
			if err != nil {
				t.Fatal(err)
			}
			again.Write(append(line, '\n'))
		}
		got, err := readAll(again.String(), 1<<30)
		if err != nil || strings.Join(got, "\x00") != strings.Join(texts, "\x00") {
			t.Fatalf("re-encoded texts read back as %q, %v; want %q", got, err, texts)
		}
	})
}
