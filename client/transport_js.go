//go:build js

package client

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"syscall/js"
	"time"

	"github.com/tessera-ai/tessera/internal/protocol"
)

// Limits of the browser transport.
const (
	// recvQueue is how many received frames may wait for ReadFrame. The
	// hub sends at most one task per slot plus small verdicts, so a full
	// queue means the reader has stopped; the connection is then dropped
	// rather than blocking the browser's event loop.
	recvQueue = 256
	// sendHighWater is how many bytes may sit in the WebSocket's send
	// buffer before WriteFrame waits for it to drain.
	sendHighWater = 16 << 20
	// writeWait bounds how long WriteFrame waits for the send buffer to
	// drain; a hub that cannot take a frame in this time is treated as gone.
	writeWait = 30 * time.Second
	// drainPoll is how often WriteFrame looks at the send buffer while it
	// waits (the browser gives no event for it).
	drainPoll = 10 * time.Millisecond
)

// WebSocket.readyState values.
const (
	wsOpen = 1
)

// errConnClosed is returned by reads and writes after Close.
var errConnClosed = errors.New("websocket: connection closed")

// Dial opens a websocket to the hub with the browser's WebSocket API. It
// waits until the socket opens, fails or ctx ends.
func Dial(ctx context.Context, url string) (Conn, error) {
	ctor := js.Global().Get("WebSocket")
	if ctor.Type() != js.TypeFunction {
		return nil, fmt.Errorf("dial %s: this browser has no WebSocket", url)
	}
	ws, err := newWebSocket(ctor, url)
	if err != nil {
		return nil, fmt.Errorf("dial %s: open websocket: %w", url, err)
	}
	c := &jsConn{
		ws:     ws,
		frames: make(chan []byte, recvQueue),
		opened: make(chan struct{}, 1),
		done:   make(chan struct{}),
		u8:     js.Global().Get("Uint8Array"),
		abuf:   js.Global().Get("ArrayBuffer"),
	}
	ws.Set("binaryType", "arraybuffer")
	c.handle("onopen", c.onOpen)
	c.handle("onmessage", c.onMessage)
	c.handle("onerror", c.onError)
	c.handle("onclose", c.onClose)

	select {
	case <-c.opened:
		return c, nil
	case <-c.done:
		return nil, fmt.Errorf("dial %s: %w", url, c.err)
	case <-ctx.Done():
		c.shutdown(ctx.Err(), true)
		return nil, fmt.Errorf("dial %s: %w", url, ctx.Err())
	}
}

// newWebSocket calls new WebSocket(url), turning a thrown exception (a
// malformed URL, a blocked port) into an error.
func newWebSocket(ctor js.Value, url string) (ws js.Value, err error) {
	err = catchJS(func() { ws = ctor.New(url) })
	return ws, err
}

// catchJS runs fn and returns a JavaScript exception it throws as an error.
func catchJS(fn func()) (err error) {
	defer func() {
		if r := recover(); r != nil {
			jerr, ok := r.(js.Error)
			if !ok {
				panic(r)
			}
			err = errors.New(jerr.Get("message").String())
		}
	}()
	fn()
	return nil
}

// jsConn is a Conn over a browser WebSocket. The socket's event handlers
// run on the browser's event loop and must never block: they only copy
// data and do non-blocking channel sends.
type jsConn struct {
	ws     js.Value
	u8     js.Value // the Uint8Array constructor
	abuf   js.Value // the ArrayBuffer constructor
	funcs  []js.Func
	frames chan []byte   // received frames, in order
	opened chan struct{} // receives once when the socket opens
	done   chan struct{} // closed by shutdown

	errored atomic.Bool // an error event was seen
	once    sync.Once
	err     error // why the connection ended; written once before done closes
	local   bool  // closed by Close or a cancelled dial, not by the peer
}

// handle installs fn as the socket's event handler prop.
func (c *jsConn) handle(prop string, fn func(ev js.Value)) {
	f := js.FuncOf(func(_ js.Value, args []js.Value) any {
		var ev js.Value
		if len(args) > 0 {
			ev = args[0]
		}
		fn(ev)
		return nil
	})
	c.funcs = append(c.funcs, f)
	c.ws.Set(prop, f)
}

func (c *jsConn) onOpen(js.Value) {
	select {
	case c.opened <- struct{}{}:
	default:
	}
}

func (c *jsConn) onMessage(ev js.Value) {
	data := ev.Get("data")
	if !data.InstanceOf(c.abuf) {
		return // a text message: the protocol is binary only, ignore it
	}
	n := data.Get("byteLength").Int()
	if n > protocol.MaxFrame {
		c.shutdown(protocol.Errorf(protocol.CodeTooLarge, "hub sent a %d-byte message, over the %d-byte limit", n, protocol.MaxFrame), true)
		return
	}
	frame := make([]byte, n)
	js.CopyBytesToGo(frame, c.u8.New(data))
	select {
	case c.frames <- frame:
	default:
		c.shutdown(fmt.Errorf("websocket: %d received frames are waiting to be read; dropping the connection", recvQueue), true)
	}
}

func (c *jsConn) onError(js.Value) {
	// Browsers give no detail on error events and always follow one with a
	// close event, which ends the connection.
	c.errored.Store(true)
}

func (c *jsConn) onClose(ev js.Value) {
	code := ev.Get("code").Int()
	reason := ev.Get("reason").String()
	var err error
	switch {
	case c.errored.Load():
		err = fmt.Errorf("websocket failed (close code %d)", code)
	case reason != "":
		err = fmt.Errorf("websocket closed by hub (code %d): %s", code, reason)
	default:
		err = fmt.Errorf("websocket closed by hub (code %d)", code)
	}
	c.shutdown(err, false)
}

// shutdown ends the connection once: it records err, wakes blocked calls,
// detaches and releases the event handlers and closes the socket. It never
// blocks, so the event handlers may call it.
func (c *jsConn) shutdown(err error, local bool) {
	c.once.Do(func() {
		c.err, c.local = err, local
		close(c.done)
		for _, prop := range []string{"onopen", "onmessage", "onerror", "onclose"} {
			c.ws.Set(prop, js.Null())
		}
		for _, f := range c.funcs {
			f.Release()
		}
		c.funcs = nil
		if local {
			_ = catchJS(func() { c.ws.Call("close", 1000) }) // nothing to do if it throws
		}
	})
}

// ReadFrame returns the next received frame. buf is not reused: each frame
// is already a fresh copy out of JavaScript memory. After the peer closes,
// frames received before the close are still returned first, so a final
// error message from the hub is not lost.
func (c *jsConn) ReadFrame(_ []byte) ([]byte, error) {
	select {
	case f := <-c.frames:
		return f, nil
	default:
	}
	select {
	case f := <-c.frames:
		return f, nil
	case <-c.done:
		if !c.local {
			select {
			case f := <-c.frames:
				return f, nil
			default:
			}
		}
		return nil, c.err
	}
}

// WriteFrame copies frame into a JavaScript Uint8Array and sends it. When
// the socket's send buffer is over sendHighWater it first waits, at most
// writeWait, for the buffer to drain.
func (c *jsConn) WriteFrame(frame []byte) error {
	if err := c.waitDrained(); err != nil {
		return err
	}
	arr := c.u8.New(len(frame))
	js.CopyBytesToJS(arr, frame)
	return c.send(arr)
}

func (c *jsConn) waitDrained() error {
	deadline := time.Now().Add(writeWait)
	for {
		select {
		case <-c.done:
			return c.err
		default:
		}
		if c.ws.Get("readyState").Int() != wsOpen {
			return errConnClosed
		}
		if c.ws.Get("bufferedAmount").Int() <= sendHighWater {
			return nil
		}
		if time.Now().After(deadline) {
			err := fmt.Errorf("websocket: hub took no data for %v", writeWait)
			c.shutdown(err, true)
			return err
		}
		time.Sleep(drainPoll)
	}
}

// send calls ws.send, turning a thrown exception into an error.
func (c *jsConn) send(arr js.Value) error {
	if err := catchJS(func() { c.ws.Call("send", arr) }); err != nil {
		return fmt.Errorf("websocket send: %w", err)
	}
	return nil
}

// Close closes the socket; blocked and later reads and writes return an
// error.
func (c *jsConn) Close() error {
	c.shutdown(errConnClosed, true)
	return nil
}
