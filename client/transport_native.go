//go:build !js

package client

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/gorilla/websocket"

	"github.com/tessera-ai/tessera/internal/protocol"
)

// writeWait bounds one write to the hub; a hub that cannot take a frame in
// this time is treated as gone.
const writeWait = 30 * time.Second

// Dial opens a websocket to the hub with gorilla/websocket; a wss:// hub
// must have a certificate the system trusts.
func Dial(ctx context.Context, url string) (Conn, error) {
	return dial(ctx, url, nil)
}

// DialTLS returns a DialFunc for Config.Dial whose wss:// connections use
// cfg, e.g. with RootCAs holding the private CA of a self-hosted hub.
func DialTLS(cfg *tls.Config) DialFunc {
	return func(ctx context.Context, url string) (Conn, error) { return dial(ctx, url, cfg) }
}

func dial(ctx context.Context, url string, tlsCfg *tls.Config) (Conn, error) {
	d := websocket.Dialer{HandshakeTimeout: 15 * time.Second, ReadBufferSize: 64 << 10, WriteBufferSize: 64 << 10, TLSClientConfig: tlsCfg}
	c, resp, err := d.DialContext(ctx, url, http.Header{"User-Agent": {"tessera-edge"}})
	if err != nil {
		if resp != nil {
			return nil, fmt.Errorf("dial %s: %w (HTTP %s)", url, err, resp.Status)
		}
		var unknown x509.UnknownAuthorityError
		if errors.As(err, &unknown) {
			return nil, fmt.Errorf("dial %s: the hub's certificate is not signed by a CA this client trusts (a self-hosted hub's CA must be given to the client): %w", url, err)
		}
		return nil, fmt.Errorf("dial %s: %w", url, err)
	}
	c.SetReadLimit(protocol.MaxFrame)
	return &wsConn{c: c}, nil
}

type wsConn struct{ c *websocket.Conn }

func (w *wsConn) ReadFrame(buf []byte) ([]byte, error) {
	for {
		typ, r, err := w.c.NextReader()
		if err != nil {
			return nil, err
		}
		if typ != websocket.BinaryMessage {
			continue // the protocol is binary only; ignore anything else
		}
		return protocol.ReadFrame(r, buf)
	}
}

func (w *wsConn) WriteFrame(frame []byte) error {
	w.c.SetWriteDeadline(time.Now().Add(writeWait))
	return w.c.WriteMessage(websocket.BinaryMessage, frame)
}

func (w *wsConn) Close() error {
	w.c.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
	return w.c.Close()
}
