package sandbox

import (
	"strings"
	"sync"
)

// stderrMax bounds what is kept of a guest's stderr: enough for the Go
// runtime's "fatal error" line and the first frames of its trace.
const stderrMax = 4 << 10

// stderrBuffer keeps the first stderrMax bytes written to it and drops the
// rest, so a guest cannot grow host memory by writing.
type stderrBuffer struct {
	mu  sync.Mutex
	buf []byte
}

// Write implements io.Writer; it never fails.
func (w *stderrBuffer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if room := stderrMax - len(w.buf); room > 0 {
		w.buf = append(w.buf, p[:min(room, len(p))]...)
	}
	return len(p), nil
}

// firstLine returns the first non-empty line written, trimmed.
func (w *stderrBuffer) firstLine() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	for line := range strings.Lines(string(w.buf)) {
		if s := strings.TrimSpace(line); s != "" {
			return s
		}
	}
	return ""
}
