package corpus

import (
	"cmp"
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
)

// source is one file of the corpus.
type source struct {
	path  string // as opened
	rel   string // slash-separated, relative to the root
	size  int64
	jsonl bool
}

// list finds the corpus files in the order of their relative paths, and
// says whether o.Path names a single file.
func list(ctx context.Context, o Options) (root string, srcs []source, single bool, err error) {
	info, statErr := os.Stat(o.Path)
	switch {
	case statErr == nil && info.IsDir():
		root, srcs, err = walk(ctx, o)
	case statErr == nil && info.Mode().IsRegular():
		root, single = filepath.Dir(o.Path), true
		srcs = []source{{path: o.Path, rel: filepath.Base(o.Path), size: info.Size()}}
	case statErr == nil:
		return "", nil, false, fmt.Errorf("corpus: %s is not a regular file or a directory", o.Path)
	case hasMeta(o.Path):
		root, srcs, err = glob(o)
	default:
		return "", nil, false, fmt.Errorf("corpus: %w", statErr)
	}
	if err != nil {
		return "", nil, false, err
	}
	srcs = slices.DeleteFunc(srcs, func(s source) bool { return o.Include != nil && !o.Include(s.rel) })
	if len(srcs) == 0 {
		return "", nil, false, fmt.Errorf("corpus: %s: no matching files", o.Path)
	}
	for i := range srcs {
		srcs[i].jsonl = strings.HasSuffix(srcs[i].rel, ".jsonl")
	}
	slices.SortFunc(srcs, func(a, b source) int { return cmp.Compare(a.rel, b.rel) })
	return root, srcs, single, nil
}

// walk lists the regular files under the directory o.Path.
func walk(ctx context.Context, o Options) (string, []source, error) {
	root, err := filepath.EvalSymlinks(o.Path)
	if err != nil {
		return "", nil, fmt.Errorf("corpus: %w", err)
	}
	var srcs []source
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if p != root && strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		srcs = append(srcs, source{path: p, rel: filepath.ToSlash(rel), size: info.Size()})
		return nil
	})
	if err != nil {
		return "", nil, fmt.Errorf("corpus: walk %s: %w", o.Path, err)
	}
	return root, srcs, nil
}

// glob lists the regular files matching the pattern o.Path, relative to
// the longest leading directory of the pattern free of metacharacters. As
// in a shell, a wildcard does not match a leading "." of a name.
func glob(o Options) (string, []source, error) {
	matches, err := filepath.Glob(o.Path)
	if err != nil {
		return "", nil, fmt.Errorf("corpus: pattern %s: %w", o.Path, err)
	}
	root := filepath.Dir(o.Path)
	for hasMeta(root) {
		root = filepath.Dir(root)
	}
	patRel, err := filepath.Rel(root, o.Path)
	if err != nil {
		return "", nil, fmt.Errorf("corpus: pattern %s: %w", o.Path, err)
	}
	pattern := strings.Split(filepath.ToSlash(patRel), "/")
	var srcs []source
	for _, m := range matches {
		if hidden(root, m, pattern) {
			continue
		}
		info, err := os.Lstat(m)
		if err != nil {
			return "", nil, fmt.Errorf("corpus: %w", err)
		}
		if !info.Mode().IsRegular() {
			continue
		}
		rel, err := filepath.Rel(root, m)
		if err != nil {
			return "", nil, fmt.Errorf("corpus: %w", err)
		}
		srcs = append(srcs, source{path: m, rel: filepath.ToSlash(rel), size: info.Size()})
	}
	return root, srcs, nil
}

// hidden reports whether a component of match below root begins with "."
// where the pattern's component does not.
func hidden(root, match string, pattern []string) bool {
	rel, err := filepath.Rel(root, match)
	if err != nil {
		return false
	}
	for i, name := range strings.Split(filepath.ToSlash(rel), "/") {
		if strings.HasPrefix(name, ".") && i < len(pattern) && !strings.HasPrefix(pattern[i], ".") {
			return true
		}
	}
	return false
}

// hasMeta reports whether p holds filepath.Match metacharacters.
func hasMeta(p string) bool {
	magic := `*?[\`
	if runtime.GOOS == "windows" {
		magic = `*?[`
	}
	return strings.ContainsAny(p, magic)
}
