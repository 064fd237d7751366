package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"github.com/tessera-ai/tessera/internal/identity"
	"github.com/tessera-ai/tessera/internal/kernel"
	"github.com/tessera-ai/tessera/internal/protocol"
)

// window is the measured interval, as offsets from the run's start (a
// monotonic clock); zero means not yet set.
type window struct {
	base       time.Time
	start, end atomic.Int64
}

func (w *window) now() time.Duration { return time.Since(w.base) }

// holds reports whether t falls within the window.
func (w *window) holds(t time.Duration) bool {
	s, e := w.start.Load(), w.end.Load()
	return s != 0 && int64(t) >= s && (e == 0 || int64(t) < e)
}

// peer is one contributor speaking the wire protocol directly on one
// goroutine, as light as a client can be: a busy one answers each task as
// it arrives (the hub refills the freed slot after checking the result), an
// idle one declares no capacity right after the handshake.
type peer struct {
	conn   *websocket.Conn
	active bool
	win    *window
	// think is the mean time an active peer adds to each task.
	think time.Duration

	// pending holds when each request for work not yet answered by a
	// task was made: the hello (one per slot) and every result sent.
	pending []time.Duration
	// latencies are the lease latencies of requests made in the window.
	latencies []time.Duration
	// sent counts results sent within the window.
	sent int64
	// refused counts results the hub did not accept.
	refused    int64
	lastRefuse string
	// err says why the connection ended, unless the run closed it.
	err error
}

// dialTimeout bounds one connection's dial, upgrade and handshake.
const dialTimeout = time.Minute

// connect dials the hub at addr (host:port) from source address src and
// completes the signed handshake offering slots; an idle peer then
// declares zero capacity.
func (p *peer) connect(ctx context.Context, addr string, src net.IP, key *identity.Key, slots int) error {
	ctx, cancel := context.WithTimeout(ctx, dialTimeout)
	defer cancel()
	d := websocket.Dialer{
		NetDialContext: (&net.Dialer{LocalAddr: &net.TCPAddr{IP: src}}).DialContext,
		// Small buffers: task and result frames of small tiles fit, and
		// ten thousand connections stay cheap for the load generator.
		ReadBufferSize:  4 << 10,
		WriteBufferSize: 4 << 10,
	}
	conn, resp, err := d.DialContext(ctx, "ws://"+addr+"/ws", nil)
	if err != nil {
		if resp != nil {
			// The hub answered the upgrade with an HTTP error: say which.
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 200))
			resp.Body.Close()
			return fmt.Errorf("dial from %v: %w: %s %q", src, err, resp.Status, strings.TrimSpace(string(body)))
		}
		return fmt.Errorf("dial from %v: %w", src, err)
	}
	conn.SetReadLimit(protocol.MaxFrame)
	p.conn = conn
	if deadline, ok := ctx.Deadline(); ok {
		conn.SetReadDeadline(deadline)
		conn.SetWriteDeadline(deadline)
	}
	if err := p.handshake(key, addr, slots); err != nil {
		conn.Close()
		return err
	}
	conn.SetReadDeadline(time.Time{})
	conn.SetWriteDeadline(time.Time{})
	return nil
}

// handshake signs the login to hub at host (the Host header sent).
func (p *peer) handshake(key *identity.Key, host string, slots int) error {
	frame, err := p.read(nil)
	if err != nil {
		return fmt.Errorf("read challenge: %w", err)
	}
	var ch protocol.Challenge
	if err := protocol.DecodeInto(frame, &ch); err != nil {
		return fmt.Errorf("decode challenge: %w", err)
	}
	sig, err := key.Sign(protocol.LoginText(ch.Hub, host, ch.Nonce))
	if err != nil {
		return fmt.Errorf("sign the challenge: %w", err)
	}
	hello := &protocol.Hello{Nonce: ch.Nonce, Address: key.Address(), Signature: sig, Slots: uint16(slots),
		Agent: "tessera-load", Device: protocol.DeviceInfo{Backend: "cpu"}, Kernels: kernel.Ops}
	asked := p.win.now()
	if err := p.write(hello); err != nil {
		return fmt.Errorf("send hello: %w", err)
	}
	if frame, err = p.read(frame); err != nil {
		return fmt.Errorf("read welcome: %w", err)
	}
	m, err := protocol.Decode(frame)
	if err != nil {
		return fmt.Errorf("decode welcome: %w", err)
	}
	switch m := m.(type) {
	case *protocol.Welcome:
	case *protocol.ErrorMsg:
		return fmt.Errorf("the hub refused the handshake: %w", m.Err())
	default:
		return fmt.Errorf("expected a welcome, got %v", m.Kind())
	}
	if !p.active {
		return p.write(&protocol.Capacity{Slots: 0})
	}
	for range slots {
		p.pending = append(p.pending, asked)
	}
	return nil
}

func (p *peer) read(buf []byte) ([]byte, error) {
	_, r, err := p.conn.NextReader()
	if err != nil {
		return nil, err
	}
	return protocol.ReadFrame(r, buf)
}

func (p *peer) write(m protocol.Message) error {
	return p.conn.WriteMessage(websocket.BinaryMessage, protocol.Encode(nil, m))
}

// run answers tasks until the connection ends; closed reports whether the
// run ended it on purpose. Reading also answers the hub's pings.
func (p *peer) run(closed *atomic.Bool) {
	var buf, out []byte
	var task protocol.Task
	var verdict protocol.Verdict
	var c []float32
	fail := func(err error) {
		if !closed.Load() {
			p.err = err
		}
	}
	for {
		frame, err := p.read(buf)
		if err != nil {
			fail(err)
			return
		}
		buf = frame
		kind, _ := protocol.PeekKind(frame)
		switch kind {
		case protocol.KindTask:
			if err := protocol.DecodeInto(frame, &task); err != nil {
				fail(fmt.Errorf("decode task: %w", err))
				return
			}
			if err := p.leased(); err != nil {
				fail(err)
				return
			}
			c = resize(c, task.Shape.CLen())
			if err := kernel.Reference(task.Op, task.Shape, task.A, task.B, c); err != nil {
				fail(fmt.Errorf("compute task %d: %w", task.ID, err))
				return
			}
			out = protocol.Encode(out[:0], &protocol.Result{TaskID: task.ID, Batch: uint32(task.Shape.Batch), Rows: uint32(task.Shape.M), Cols: uint32(task.Shape.N), C: c})
			if p.active {
				if p.think > 0 {
					time.Sleep(p.think/2 + rand.N(p.think))
				}
				// The result frees the slot: it is the request for the next task.
				at := p.win.now()
				p.pending = append(p.pending, at)
				if p.win.holds(at) {
					p.sent++
				}
			}
			if err := p.conn.WriteMessage(websocket.BinaryMessage, out); err != nil {
				fail(err)
				return
			}
		case protocol.KindVerdict:
			if err := protocol.DecodeInto(frame, &verdict); err != nil {
				fail(fmt.Errorf("decode verdict: %w", err))
				return
			}
			if !verdict.Accepted {
				p.refused++
				p.lastRefuse = fmt.Sprintf("%v: %s", verdict.Code, verdict.Message)
			}
		case protocol.KindError:
			var e protocol.ErrorMsg
			if err := protocol.DecodeInto(frame, &e); err != nil {
				fail(fmt.Errorf("decode error: %w", err))
				return
			}
			fail(fmt.Errorf("the hub sent an error: %w", e.Err()))
			return
		case protocol.KindModule:
			// Every kernel is native here; a module is not needed.
		default:
			fail(fmt.Errorf("unexpected %v frame", kind))
			return
		}
	}
}

// leased pairs a task that just arrived with the oldest request for work
// and records the wait when the request was made in the window.
func (p *peer) leased() error {
	if !p.active {
		return nil
	}
	if len(p.pending) == 0 {
		return errors.New("the hub sent more tasks than the slots offered")
	}
	asked := p.pending[0]
	p.pending = p.pending[1:]
	if p.win.holds(asked) {
		p.latencies = append(p.latencies, p.win.now()-asked)
	}
	return nil
}

// unanswered counts requests for work made in the window that no task
// answered.
func (p *peer) unanswered() int {
	n := 0
	for _, t := range p.pending {
		if p.win.holds(t) {
			n++
		}
	}
	return n
}

func resize(v []float32, n int) []float32 {
	if cap(v) < n {
		return make([]float32, n)
	}
	return v[:n]
}
