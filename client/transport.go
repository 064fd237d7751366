package client

import "context"

// Conn is one websocket connection to the hub carrying binary frames. The
// native build implements it with gorilla/websocket (transport_native.go),
// the browser build with the page's WebSocket (transport_js.go).
//
// ReadFrame and WriteFrame may be called concurrently with each other, but
// each by only one goroutine at a time.
type Conn interface {
	// ReadFrame blocks for the next binary message and returns it, reusing
	// buf when it is large enough.
	ReadFrame(buf []byte) ([]byte, error)
	// WriteFrame sends one binary message.
	WriteFrame(frame []byte) error
	// Close closes the connection; blocked reads and writes return.
	Close() error
}

// DialFunc opens a Conn to a websocket URL.
type DialFunc func(ctx context.Context, url string) (Conn, error)
