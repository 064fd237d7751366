package corpus

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"path"
	"path/filepath"
	"runtime"
	"strings"
)

// Defaults for the size limits of [Options] left at zero.
const (
	DefaultMaxFileBytes  = 16 << 20 // one document; the largest Go source file is 3 MB
	DefaultMaxTotalBytes = 1 << 30  // everything held in memory
)

// Options says which text makes up a corpus and how it is split.
type Options struct {
	// Path is a directory (walked recursively; entries whose names begin
	// with "." are skipped, symbolic links are not followed), a
	// filepath.Glob pattern (its matches that are regular files; as in a
	// shell, a wildcard does not match a leading "."), or a single file. Files named *.jsonl are JSON Lines: one JSON object per
	// line, each record's "text" string a document; blank lines are
	// skipped. Any other file is one UTF-8 document.
	Path string

	// Include, if not nil, keeps only the files for which it returns true.
	// It gets the path relative to the corpus root, slash-separated (the
	// base name for a single file).
	Include func(rel string) bool

	// TrainKeep, if not nil, is asked about every text file headed for
	// the training split (read from a directory or a glob; not a
	// single-file corpus, not JSON Lines records) once it is read and
	// checked; the files it refuses are left out and listed in
	// Corpus.Dropped. The validation split is never filtered: it stays the
	// yardstick its files name.
	TrainKeep func(doc []byte) bool

	// ValidationPrefixes sends every document of a file whose relative
	// path begins with one of them (such as "net/") to validation.
	ValidationPrefixes []string

	// ValidationPercent (0 to 100) sends a stable pseudo-random share of
	// the remaining documents to validation: a file when the FNV-1a hash
	// of its relative path, modulo 100, is below it; a JSON Lines record
	// likewise by the hash of its text, so duplicate records share a split.
	//
	// When Path names a single text file, that file is split by position
	// instead: its last ValidationPercent percent, from a line break on, is
	// validation (as nanoGPT splits Shakespeare); ValidationPrefixes do not
	// apply.
	ValidationPercent int

	// MaxFileBytes bounds one document: a text file, or one line of a JSON
	// Lines file. Zero means DefaultMaxFileBytes.
	MaxFileBytes int64

	// MaxTotalBytes bounds the bytes of both splits together, separators
	// included. Zero means DefaultMaxTotalBytes.
	MaxTotalBytes int64
}

// GoSource returns the options of the default corpus: the Go
// distribution's source tree under goroot, non-test .go files only
// (no _test.go files, nothing under a testdata directory), with the
// packages under net/ and encoding/ as validation, and only files written
// by people in training (generated ones, IsGenerated, are left out).
//
// Generated files are half of the tree's bytes (Go 1.26: 36 of 72 MB,
// chiefly the compiler's rule and op tables, syscall constants and
// embedded data such as time/tzdata's zip) but a sixth of net/'s and
// encoding/'s; trained on them, a model spent half its windows on tables
// and scored worse on validation (RATIONALE.md, "The default corpus
// trains on code people wrote").
func GoSource(goroot string) Options {
	return Options{
		Path:               filepath.Join(goroot, "src"),
		Include:            isGoSource,
		TrainKeep:          func(doc []byte) bool { return !IsGenerated(doc) },
		ValidationPrefixes: []string{"net/", "encoding/"},
	}
}

// IsGenerated reports whether a Go source file says it was generated, by
// the convention of https://go.dev/s/generatedcode: a line comment
// "// Code generated ... DO NOT EDIT." before the first text that is
// neither a comment nor blank.
func IsGenerated(src []byte) bool {
	inBlock := false
	for len(src) > 0 {
		line := src
		if i := bytes.IndexByte(src, '\n'); i >= 0 {
			line, src = src[:i], src[i+1:]
		} else {
			src = nil
		}
		line = bytes.TrimRight(line, "\r")
		trimmed := bytes.TrimSpace(line)
		if !inBlock && bytes.HasPrefix(trimmed, []byte("/*")) {
			inBlock, trimmed = true, trimmed[2:]
		}
		switch {
		case inBlock:
			// A block comment: text after its end must be a comment too.
			if i := bytes.Index(trimmed, []byte("*/")); i >= 0 {
				inBlock = false
				if rest := bytes.TrimSpace(trimmed[i+2:]); len(rest) > 0 && !bytes.HasPrefix(rest, []byte("//")) {
					return false
				}
			}
		case len(trimmed) == 0:
		case bytes.HasPrefix(line, []byte("// Code generated ")) && bytes.HasSuffix(line, []byte(" DO NOT EDIT.")):
			return true
		case bytes.HasPrefix(trimmed, []byte("//")):
		default:
			return false
		}
	}
	return false
}

// isGoSource reports whether rel names a non-test Go file outside testdata.
func isGoSource(rel string) bool {
	if path.Ext(rel) != ".go" || strings.HasSuffix(rel, "_test.go") {
		return false
	}
	for _, dir := range strings.Split(path.Dir(rel), "/") {
		if dir == "testdata" {
			return false
		}
	}
	return true
}

// GoRoot returns the root of the Go installation: what `go env GOROOT`
// prints, or, when the go command is not available, the root this program
// was built with.
func GoRoot(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOROOT").Output()
	if ctxErr := ctx.Err(); ctxErr != nil {
		return "", fmt.Errorf("corpus: go env GOROOT: %w", ctxErr)
	}
	if dir := strings.TrimSpace(string(out)); err == nil && dir != "" {
		return dir, nil
	}
	//lint:ignore SA1019 only a fallback for when the go command is missing.
	if dir := runtime.GOROOT(); dir != "" {
		return dir, nil
	}
	if err == nil {
		err = errors.New("it printed nothing")
	}
	return "", fmt.Errorf("corpus: cannot find GOROOT: go env GOROOT: %w", err)
}

// check validates o and fills in default limits.
func (o Options) check() (Options, error) {
	if o.Path == "" {
		return o, errors.New("corpus: no path given")
	}
	if o.ValidationPercent < 0 || o.ValidationPercent > 100 {
		return o, fmt.Errorf("corpus: ValidationPercent %d is not between 0 and 100", o.ValidationPercent)
	}
	for _, p := range o.ValidationPrefixes {
		if p == "" {
			return o, errors.New("corpus: an empty validation prefix would match every file")
		}
	}
	if o.MaxFileBytes < 0 || o.MaxTotalBytes < 0 {
		return o, errors.New("corpus: negative size limit")
	}
	if o.MaxFileBytes == 0 {
		o.MaxFileBytes = DefaultMaxFileBytes
	}
	if o.MaxTotalBytes == 0 {
		o.MaxTotalBytes = DefaultMaxTotalBytes
	}
	return o, nil
}

// validation reports whether a document belongs to validation: by the
// prefixes of its file's relative path, then by the hash of key (the
// relative path for a file, the text for a JSON Lines record).
func (o Options) validation(rel string, key []byte) bool {
	for _, p := range o.ValidationPrefixes {
		if strings.HasPrefix(rel, p) {
			return true
		}
	}
	return o.ValidationPercent > 0 && fnv1a(key)%100 < uint64(o.ValidationPercent)
}

// fnv1a is the 64-bit FNV-1a hash.
func fnv1a(b []byte) uint64 {
	h := uint64(14695981039346656037)
	for _, c := range b {
		h ^= uint64(c)
		h *= 1099511628211
	}
	return h
}
