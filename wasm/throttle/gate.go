package throttle

import (
	"context"
	"fmt"
	"sync"

	"github.com/tessera-ai/tessera/client"
	"github.com/tessera-ai/tessera/internal/protocol"
)

// Gate pauses and resumes a client's taking of tasks. It wraps the
// client's DialFunc; on every connection, once the hub has welcomed the
// client, it tells the hub how many tasks the client may hold
// (protocol.Capacity): none while paused, the client's slots otherwise.
// Tasks already held are finished and returned as usual; the hub just
// sends no new ones.
type Gate struct {
	slots int

	mu     sync.Mutex
	paused bool
	conns  map[*gateConn]struct{} // welcomed connections not yet closed
}

// NewGate returns a gate for a client holding slots tasks, paused or not.
func NewGate(slots int, paused bool) (*Gate, error) {
	if slots < 1 || slots > 1<<16-1 {
		return nil, fmt.Errorf("throttle: %d slots is out of range", slots)
	}
	return &Gate{slots: slots, paused: paused, conns: map[*gateConn]struct{}{}}, nil
}

// Dial returns a DialFunc that opens connections with dial and gates them.
func (g *Gate) Dial(dial client.DialFunc) client.DialFunc {
	return func(ctx context.Context, url string) (client.Conn, error) {
		c, err := dial(ctx, url)
		if err != nil {
			return nil, err
		}
		return &gateConn{Conn: c, g: g}, nil
	}
}

// Paused reports whether the gate is paused.
func (g *Gate) Paused() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.paused
}

// SetPaused pauses or resumes taking tasks, telling the hub on every open
// connection. An error means a connection could not be told; the client
// notices the broken connection itself and reconnects, and the new
// connection is told on its welcome.
func (g *Gate) SetPaused(paused bool) error {
	g.mu.Lock()
	if g.paused == paused {
		g.mu.Unlock()
		return nil
	}
	g.paused = paused
	conns := make([]*gateConn, 0, len(g.conns))
	for c := range g.conns {
		conns = append(conns, c)
	}
	g.mu.Unlock()
	var first error
	for _, c := range conns {
		if err := c.sendCapacity(); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// capacity is what the hub is told the client may hold now.
func (g *Gate) capacity() uint16 {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.paused {
		return 0
	}
	return uint16(g.slots)
}

// gateConn is one gated connection. Its writes are serialized, because
// the gate writes capacity messages beside the client's own writer.
type gateConn struct {
	client.Conn
	g *Gate

	wmu      sync.Mutex
	welcomed bool // read only by the client's single reader goroutine
}

// ReadFrame passes frames through; after the hub's welcome it registers
// the connection with the gate and, if the gate is paused, says so at once.
func (c *gateConn) ReadFrame(buf []byte) ([]byte, error) {
	frame, err := c.Conn.ReadFrame(buf)
	if err != nil || c.welcomed {
		return frame, err
	}
	if kind, kerr := protocol.PeekKind(frame); kerr == nil && kind == protocol.KindWelcome {
		c.welcomed = true
		c.g.mu.Lock()
		c.g.conns[c] = struct{}{}
		paused := c.g.paused
		c.g.mu.Unlock()
		if paused {
			if err := c.sendCapacity(); err != nil {
				return nil, err
			}
		}
	}
	return frame, nil
}

// WriteFrame sends one frame, never at the same time as the gate.
func (c *gateConn) WriteFrame(frame []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.Conn.WriteFrame(frame)
}

// Close forgets the connection and closes it.
func (c *gateConn) Close() error {
	c.g.mu.Lock()
	delete(c.g.conns, c)
	c.g.mu.Unlock()
	return c.Conn.Close()
}

func (c *gateConn) sendCapacity() error {
	frame := protocol.Encode(nil, &protocol.Capacity{Slots: c.g.capacity()})
	if err := c.WriteFrame(frame); err != nil {
		return fmt.Errorf("tell the hub the new capacity: %w", err)
	}
	return nil
}
