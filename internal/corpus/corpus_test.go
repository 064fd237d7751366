package corpus

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// writeFiles creates files (relative slash paths → contents) under dir.
func writeFiles(tb testing.TB, dir string, files map[string]string) {
	tb.Helper()
	for rel, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			tb.Fatal(err)
		}
	}
}

func open(tb testing.TB, o Options) *Corpus {
	tb.Helper()
	c, err := Open(context.Background(), o)
	if err != nil {
		tb.Fatalf("Open: %v", err)
	}
	return c
}

// docs joins documents the way a split holds them.
func docs(ds ...string) string {
	var b strings.Builder
	for _, d := range ds {
		b.WriteByte(Separator)
		b.WriteString(d)
	}
	return b.String()
}

func TestOpen(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"a.txt":            "alpha",
		"b/c.txt":          "gamma",
		"b.txt":            "beta",
		"net/http.txt":     "http",
		"encoding/x.txt":   "x",
		"empty.txt":        "",
		".git/config":      "\x00binary",
		"b/.hidden.txt":    "\xff",
		"skip/me.md":       "markdown",
		"records.jsonl":    `{"text":"r1"}` + "\n\n" + `{"text":"","id":2}` + "\r\n" + `{"id":3,"text":"r3\u00e9"}`,
		"netx/not-val.txt": "not validation: prefix is net/",
	})
	if err := os.Symlink(filepath.Join(dir, "a.txt"), filepath.Join(dir, "link.txt")); err != nil {
		t.Fatal(err)
	}
	txt := func(rel string) bool { return !strings.HasSuffix(rel, ".md") }

	tests := []struct {
		name                string
		o                   Options
		train, val          string
		trainFiles, valFile []string
		trainDocs           int
	}{{
		name:       "DirectoryByPrefix",
		o:          Options{Path: dir, Include: txt, ValidationPrefixes: []string{"net/", "encoding/"}},
		train:      docs("alpha", "beta", "gamma", "not validation: prefix is net/", "r1", "r3é"),
		val:        docs("x", "http"),
		trainFiles: []string{"a.txt", "b.txt", "b/c.txt", "netx/not-val.txt", "records.jsonl"},
		valFile:    []string{"encoding/x.txt", "net/http.txt"},
		trainDocs:  6,
	}, {
		name:       "Glob",
		o:          Options{Path: filepath.Join(dir, "*", "*.txt"), ValidationPrefixes: []string{"net/"}},
		train:      docs("gamma", "x", "not validation: prefix is net/"),
		val:        docs("http"),
		trainFiles: []string{"b/c.txt", "encoding/x.txt", "netx/not-val.txt"},
		valFile:    []string{"net/http.txt"},
		trainDocs:  3,
	}, {
		name:       "JSONLByPercent",
		o:          Options{Path: filepath.Join(dir, "records.jsonl"), ValidationPercent: 50},
		train:      docs("r3é"), // fnv1a("r1")%100 = 4, fnv1a("r3é")%100 = 86
		val:        docs("r1"),
		trainFiles: []string{"records.jsonl"},
		valFile:    []string{"records.jsonl"},
		trainDocs:  1,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := open(t, tt.o)
			if got := string(c.Train.Data); got != tt.train {
				t.Errorf("Train.Data = %q, want %q", got, tt.train)
			}
			if got := string(c.Validation.Data); got != tt.val {
				t.Errorf("Validation.Data = %q, want %q", got, tt.val)
			}
			if !reflect.DeepEqual(c.Train.Files, tt.trainFiles) || !reflect.DeepEqual(c.Validation.Files, tt.valFile) {
				t.Errorf("Files = %q / %q, want %q / %q", c.Train.Files, c.Validation.Files, tt.trainFiles, tt.valFile)
			}
			if c.Train.Documents != tt.trainDocs {
				t.Errorf("Train.Documents = %d, want %d", c.Train.Documents, tt.trainDocs)
			}
		})
	}
}

func TestOpenSingleFile(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"book.txt":   "line one\nline two\nline three\nline four\n",
		"oneline.md": "aé€😀bcdefghij",
	})
	tests := []struct {
		name, file string
		percent    int
		train, val string
		err        string
	}{
		// 39 bytes: a cut at 29 is a line start, one at 19 moves to 29.
		{"CutAtLineStart", "book.txt", 25, "line one\nline two\nline three\n", "line four\n", ""},
		{"CutOnLine", "book.txt", 50, "line one\nline two\nline three\n", "line four\n", ""},
		{"CutEarly", "book.txt", 90, "line one\n", "line two\nline three\nline four\n", ""},
		// 19 bytes, no line break: the cut at 2, inside "é", moves after it.
		{"CutAtRune", "oneline.md", 88, "aé", "€😀bcdefghij", ""},
		{"NoValidation", "book.txt", 0, "", "", "validation split is empty"},
		{"NoTrain", "book.txt", 100, "", "", "training split is empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := Options{Path: filepath.Join(dir, tt.file), ValidationPercent: tt.percent, ValidationPrefixes: []string{"book"}}
			c, err := Open(context.Background(), o)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("Open error %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if string(c.Train.Data) != docs(tt.train) || string(c.Validation.Data) != docs(tt.val) {
				t.Errorf("split %q / %q, want %q / %q", c.Train.Data, c.Validation.Data, docs(tt.train), docs(tt.val))
			}
			if c.Root != dir || c.Train.Files[0] != tt.file || c.Validation.Files[0] != tt.file {
				t.Errorf("Root %q, files %q %q", c.Root, c.Train.Files, c.Validation.Files)
			}
		})
	}
}

// TestSplitByPercentIsStable checks that the hash split depends only on
// each file's relative path: adding files moves no existing file.
func TestSplitByPercentIsStable(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{}
	for i := range 200 {
		files[fmt.Sprintf("d%d/f%03d.txt", i%7, i)] = fmt.Sprint(i)
	}
	writeFiles(t, dir, files)
	o := Options{Path: dir, ValidationPercent: 20}
	before := open(t, o)
	if n := len(before.Validation.Files); n < 20 || n > 60 {
		t.Errorf("%d of 200 files in validation at 20%%", n)
	}
	writeFiles(t, dir, map[string]string{"d3/new.txt": "new", "a/first.txt": "first"})
	after := open(t, o)
	val := map[string]bool{}
	for _, f := range after.Validation.Files {
		val[f] = true
	}
	for _, f := range before.Validation.Files {
		if !val[f] {
			t.Errorf("%s left validation when files were added", f)
		}
	}
	for _, f := range before.Train.Files {
		if val[f] {
			t.Errorf("%s joined validation when files were added", f)
		}
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"text/a.txt":      "hello",
		"text/b.txt":      "world",
		"nul/a.txt":       "hello",
		"nul/bin.dat":     "ab\x00cd",
		"utf/a.txt":       "hello",
		"utf/latin1.txt":  "caf\xe9 au lait",
		"big/a.txt":       "hello",
		"big/b.txt":       "0123456789",
		"empty/a.txt":     "",
		"bad/a.jsonl":     `{"text":"ok"}` + "\n" + `{"text":"ok",}`,
		"notext/a.jsonl":  `{"text":"ok"}` + "\n" + `{"body":"x"}`,
		"number/a.jsonl":  `{"text":5}`,
		"array/a.jsonl":   `["text"]`,
		"nulrec/a.jsonl":  `{"text":"a\u0000b"}`,
		"longrec/a.jsonl": `{"text":"0123456789"}`,
	})
	tests := []struct {
		name string
		o    Options
		want string
	}{
		{"NoPath", Options{}, "no path given"},
		{"BadPercent", Options{Path: dir, ValidationPercent: 101}, "ValidationPercent 101 is not between 0 and 100"},
		{"EmptyPrefix", Options{Path: dir, ValidationPrefixes: []string{""}}, "empty validation prefix"},
		{"NegativeLimit", Options{Path: dir, MaxFileBytes: -1}, "negative size limit"},
		{"Missing", Options{Path: filepath.Join(dir, "missing")}, "missing: no such file or directory"},
		{"NoMatchingGlob", Options{Path: filepath.Join(dir, "*.none"), ValidationPercent: 50}, "*.none: no matching files"},
		{"BadGlob", Options{Path: filepath.Join(dir, "[")}, "syntax error in pattern"},
		{"NoMatchingInclude", Options{Path: dir, Include: func(string) bool { return false }}, "no matching files"},
		{"AllEmpty", Options{Path: filepath.Join(dir, "empty"), ValidationPercent: 50}, "every matching file is empty"},
		{"NoValidation", Options{Path: filepath.Join(dir, "text")}, "validation split is empty (set ValidationPrefixes or ValidationPercent: corpus.validation_prefixes or corpus.validation_percent in a job spec)"},
		{"NoTrain", Options{Path: filepath.Join(dir, "text"), ValidationPercent: 100}, "training split is empty"},
		{"NUL", Options{Path: filepath.Join(dir, "nul"), ValidationPercent: 50}, "bin.dat: not UTF-8 text: NUL byte at offset 2"},
		{"InvalidUTF8", Options{Path: filepath.Join(dir, "utf"), ValidationPercent: 50}, "latin1.txt: not UTF-8 text: invalid UTF-8 at offset 3"},
		{"FileTooBig", Options{Path: filepath.Join(dir, "big"), ValidationPercent: 50, MaxFileBytes: 9}, "b.txt: 10 bytes, more than the 9 a document may have"},
		{"TotalTooBig", Options{Path: filepath.Join(dir, "big"), ValidationPercent: 50, MaxTotalBytes: 16}, "b.txt: the corpus passes 16 bytes (MaxTotalBytes)"},
		{"JSONLInvalid", Options{Path: filepath.Join(dir, "bad"), ValidationPercent: 50}, "a.jsonl: line 2: invalid JSON"},
		{"JSONLNoText", Options{Path: filepath.Join(dir, "notext"), ValidationPercent: 50}, `a.jsonl: line 2: no "text" field`},
		{"JSONLTextNotString", Options{Path: filepath.Join(dir, "number"), ValidationPercent: 50}, `line 1: "text" is 5, not a string`},
		{"JSONLNotObject", Options{Path: filepath.Join(dir, "array"), ValidationPercent: 50}, "line 1: not a JSON object"},
		{"JSONLNUL", Options{Path: filepath.Join(dir, "nulrec"), ValidationPercent: 50}, "line 1: \"text\" holds a NUL character"},
		{"JSONLLineTooLong", Options{Path: filepath.Join(dir, "longrec"), ValidationPercent: 50, MaxFileBytes: 20}, "line 1: longer than 20 bytes (MaxFileBytes)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Open(context.Background(), tt.o)
			if err == nil {
				t.Fatalf("Open succeeded: train %q, validation %q", c.Train.Data, c.Validation.Data)
			}
			if !strings.HasPrefix(err.Error(), "corpus: ") || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Open error %q, want it to contain %q", err, tt.want)
			}
		})
	}
	t.Run("Canceled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, err := Open(ctx, Options{Path: filepath.Join(dir, "text"), ValidationPercent: 50}); err == nil || !strings.Contains(err.Error(), "context canceled") {
			t.Fatalf("Open with a canceled context = %v", err)
		}
	})
}
