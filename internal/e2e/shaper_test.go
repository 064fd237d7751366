package e2e

import (
	"bytes"
	"io"
	"net"
	"os"
	"sync"
	"testing"
	"time"
)

// link describes a contributor's connection to the hub as a home
// internet link: a rate each way and a round-trip time.
type link struct {
	down, up float64       // bits per second: hub to contributor, back
	rtt      time.Duration // round trip, half of it each way
}

// homeLink is the link the wire-efficiency issue names: 20 Mbit/s down,
// 5 Mbit/s up, 40 ms round trip.
var homeLink = link{down: 20e6, up: 5e6, rtt: 40 * time.Millisecond}

// shapedListener gives every accepted connection its own link l, as if
// each contributor sat behind its own home connection: the hub's writes
// go out at l.down and its reads come in at l.up, each delayed by half
// the round trip. Each direction queues at most linkBuffer bytes, like a
// router's buffer; beyond it writers block and TCP pushes back.
type shapedListener struct {
	net.Listener
	l link
}

func (s shapedListener) Accept() (net.Conn, error) {
	c, err := s.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return newShapedConn(c, s.l), nil
}

const (
	linkChunk  = 16 << 10 // bytes scheduled at a time
	linkBuffer = 16       // chunks queued each way (256 KiB)
)

// lane is one direction of a link: chunks leave one after the other at
// rate, then travel delay.
type lane struct {
	rate  float64 // bytes per second
	delay time.Duration
	mu    sync.Mutex
	free  time.Time // when the lane has sent everything scheduled
}

// schedule returns when n bytes handed to the lane now arrive.
func (l *lane) schedule(n int) time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	start := time.Now()
	if l.free.After(start) {
		start = l.free
	}
	l.free = start.Add(time.Duration(float64(n) / l.rate * float64(time.Second)))
	return l.free.Add(l.delay)
}

type chunk struct {
	b  []byte
	at time.Time // arrival at the far end
}

// shapedConn is a connection whose two directions are lanes.
type shapedConn struct {
	net.Conn
	down, up lane
	out      chan chunk // hub writes waiting to arrive
	in       chan chunk // contributor bytes waiting to arrive
	next     chunk      // taken off in, not yet arrived (pending)
	pending  bool
	rest     []byte // an arrived chunk not yet read whole
	done     chan struct{}
	once     sync.Once

	mu           sync.Mutex
	writeErr     error
	readDeadline time.Time
	deadline     *time.Timer   // pokes at the read deadline
	wake         chan struct{} // a Read should look at its deadline
}

func newShapedConn(c net.Conn, l link) *shapedConn {
	s := &shapedConn{Conn: c,
		down: lane{rate: l.down / 8, delay: l.rtt / 2}, up: lane{rate: l.up / 8, delay: l.rtt / 2},
		out: make(chan chunk, linkBuffer), in: make(chan chunk, linkBuffer), done: make(chan struct{}), wake: make(chan struct{}, 1)}
	s.deadline = time.AfterFunc(time.Hour, s.poke)
	s.deadline.Stop()
	go s.send()
	go s.receive()
	return s
}

// send delivers the hub's writes to the contributor when they arrive;
// after Close it still delivers what was written before, as a socket
// does, and then closes the connection.
func (s *shapedConn) send() {
	defer s.Conn.Close()
	deliver := func(c chunk) bool {
		time.Sleep(time.Until(c.at))
		if _, err := s.Conn.Write(c.b); err != nil {
			s.mu.Lock()
			s.writeErr = err
			s.mu.Unlock()
			return false
		}
		return true
	}
	for {
		select {
		case c := <-s.out:
			if !deliver(c) {
				return
			}
		case <-s.done:
			for {
				select {
				case c := <-s.out:
					if !deliver(c) {
						return
					}
				default:
					return
				}
			}
		}
	}
}

// receive takes the contributor's bytes off the socket and schedules
// them on the up lane.
func (s *shapedConn) receive() {
	defer close(s.in)
	for {
		b := make([]byte, linkChunk)
		n, err := s.Conn.Read(b)
		if n > 0 {
			select {
			case s.in <- chunk{b: b[:n], at: s.up.schedule(n)}:
			case <-s.done:
				return
			}
		}
		if err != nil {
			return
		}
	}
}

func (s *shapedConn) Write(p []byte) (int, error) {
	s.mu.Lock()
	err := s.writeErr
	s.mu.Unlock()
	if err != nil {
		return 0, err
	}
	for off := 0; off < len(p); off += linkChunk {
		b := append([]byte(nil), p[off:min(off+linkChunk, len(p))]...)
		select {
		case s.out <- chunk{b: b, at: s.down.schedule(len(b))}:
		case <-s.done:
			return off, net.ErrClosed
		}
	}
	return len(p), nil
}

// Read returns the contributor's bytes once they have arrived. Read
// deadlines are kept here, not passed to the socket: the pump reads the
// socket whatever the deadline (net/http sets one in the past to stop a
// background read when the websocket takes the connection over).
func (s *shapedConn) Read(p []byte) (int, error) {
	for len(s.rest) == 0 {
		if s.expired() {
			return 0, os.ErrDeadlineExceeded
		}
		if !s.pending {
			select {
			case c, ok := <-s.in:
				if !ok {
					return 0, net.ErrClosed
				}
				s.next, s.pending = c, true
			case <-s.wake:
				continue
			case <-s.done:
				return 0, net.ErrClosed
			}
		}
		arrive := time.NewTimer(time.Until(s.next.at))
		select {
		case <-arrive.C:
			s.rest, s.pending = s.next.b, false
		case <-s.wake:
			arrive.Stop()
		case <-s.done:
			arrive.Stop()
			return 0, net.ErrClosed
		}
	}
	n := copy(p, s.rest)
	s.rest = s.rest[n:]
	return n, nil
}

// poke wakes a waiting Read to look at its deadline again.
func (s *shapedConn) poke() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// expired reports whether the read deadline has passed.
func (s *shapedConn) expired() bool {
	s.mu.Lock()
	dl := s.readDeadline
	s.mu.Unlock()
	return !dl.IsZero() && !time.Now().Before(dl)
}

func (s *shapedConn) SetReadDeadline(t time.Time) error {
	s.mu.Lock()
	s.readDeadline = t
	if t.IsZero() {
		s.deadline.Stop()
	} else {
		s.deadline.Reset(time.Until(t))
	}
	s.mu.Unlock()
	s.poke()
	return nil
}

func (s *shapedConn) SetDeadline(t time.Time) error {
	s.SetReadDeadline(t)
	return s.Conn.SetWriteDeadline(t)
}

// Close stops reads and writes at once; the connection itself closes
// once what was written has arrived.
func (s *shapedConn) Close() error {
	s.once.Do(func() { close(s.done) })
	return nil
}

// TestShapedLink checks that the shaper holds bytes back as a link of
// its rates and delay would: a reply cannot come sooner than the round
// trip, and 100 kB cannot cross faster than the rate allows.
func TestShapedLink(t *testing.T) {
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer inner.Close()
	l := link{down: 8e6, up: 4e6, rtt: 60 * time.Millisecond} // 1 MB/s down, 0.5 MB/s up
	ln := shapedListener{Listener: inner, l: l}
	const size = 100_000
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		b := make([]byte, size)
		if _, err := io.ReadFull(c, b); err != nil {
			return
		}
		c.Write(b) // echo
	}()
	c, err := net.Dial("tcp", inner.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	start := time.Now()
	payload := bytes.Repeat([]byte{7}, size)
	if _, err := c.Write(payload); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, size)
	if _, err := io.ReadFull(c, got); err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	if !bytes.Equal(got, payload) {
		t.Fatal("the echo differs from what was sent")
	}
	// Up at 0.5 MB/s, down at 1 MB/s, plus a round trip.
	least := time.Duration(size/(l.up/8)*float64(time.Second)) + time.Duration(size/(l.down/8)*float64(time.Second)) + l.rtt
	if took < least {
		t.Errorf("%d bytes there and back took %v; the link allows no less than %v", size, took, least)
	}
	t.Logf("%d bytes there and back in %v (least %v)", size, took, least)
}
