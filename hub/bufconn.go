package hub

import (
	"bufio"
	"errors"
	"net"
	"net/http"
	"sync"
)

// bufConn buffers writes to a websocket's network connection so that the
// session's writer can send a verdict and the next task in one system call:
// gorilla/websocket writes every message straight to the connection, and
// the syscalls, not the protocol, limited the hub's task rate. The writer
// flushes whenever its queue runs dry, except that accepted verdicts may
// wait a little for company (verdictDelay); control frames that the
// reader answers (pong, close) flush at once.
//
// gorilla serializes its own writes, but Flush runs outside its lock, so
// bufConn has a mutex of its own.
type bufConn struct {
	net.Conn
	mu sync.Mutex
	w  *bufio.Writer // from writers while data waits; nil when empty
}

var writers = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, 64<<10) }}

func (c *bufConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.w == nil {
		c.w = writers.Get().(*bufio.Writer)
		c.w.Reset(c.Conn)
	}
	return c.w.Write(p)
}

// Flush sends everything buffered.
func (c *bufConn) Flush() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.w == nil {
		return nil
	}
	err := c.w.Flush()
	if err == nil {
		c.w.Reset(nil)
		writers.Put(c.w)
		c.w = nil
	}
	return err
}

// hijacker hands the upgrader a bufConn in place of the raw connection.
type hijacker struct {
	http.ResponseWriter
	conn *bufConn
}

func (h *hijacker) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	hj, ok := h.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, errors.New("the connection cannot be taken over for a websocket")
	}
	c, rw, err := hj.Hijack()
	if err != nil {
		return nil, nil, err
	}
	h.conn = &bufConn{Conn: c}
	return h.conn, rw, nil
}
