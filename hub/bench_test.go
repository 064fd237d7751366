package hub_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/tessera-ai/tessera/client"
	"github.com/tessera-ai/tessera/client/device"
	"github.com/tessera-ai/tessera/hub"
	"github.com/tessera-ai/tessera/hub/metrics"
	"github.com/tessera-ai/tessera/internal/identity"
	"github.com/tessera-ai/tessera/internal/kernel"
	"github.com/tessera-ai/tessera/internal/protocol"
)

// Benchmark parameters shared by the hub and the echo baseline.
const (
	benchContributors = 32
	benchSlots        = 2 // tasks (or echo round trips) in flight per contributor
)

var benchTile = kernel.Shape{M: 8, K: 8, N: 8}

var benchLog = slog.New(slog.DiscardHandler)

// benchListener counts every byte read from and written to its
// connections: TCP payload, websocket framing included, IP and TCP headers
// not.
type benchListener struct {
	net.Listener
	read, written atomic.Int64
}

func (l *benchListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &benchConn{Conn: c, l: l}, nil
}

func (l *benchListener) total() int64 { return l.read.Load() + l.written.Load() }

type benchConn struct {
	net.Conn
	l *benchListener
}

func (c *benchConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.l.read.Add(int64(n))
	return n, err
}

func (c *benchConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	c.l.written.Add(int64(n))
	return n, err
}

// benchHub is a running hub on a loopback httptest server.
type benchHub struct {
	*hub.Hub
	ln  *benchListener
	url string // websocket endpoint
}

// startBenchHub runs a hub with no built-in job on 127.0.0.1 until the test
// ends.
func startBenchHub(tb testing.TB) *benchHub {
	tb.Helper()
	cfg := hub.DefaultConfig()
	cfg.Name = "bench-hub"
	cfg.Limits = hub.Limits{} // every client is on loopback: one address
	cfg.DataDir = ""
	cfg.LeaseTimeout = time.Hour
	cfg.Matmul = hub.MatmulConfig{}
	cfg.Logger = benchLog
	// Transport figures: every result is checked (and every assignment
	// blinded), but none executed twice; internal/adversary measures what
	// replication adds.
	cfg.Verification.Replicate = false
	// Metrics on, as hub/service always runs the hub.
	cfg.Metrics = metrics.New()
	h, err := hub.New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	ln := &benchListener{Listener: inner}
	srv := httptest.NewUnstartedServer(h.Handler())
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	ctx, cancel := context.WithCancel(context.Background())
	runDone := make(chan struct{})
	go func() { h.Run(ctx); close(runDone) }()
	tb.Cleanup(func() {
		cancel()
		<-runDone
		srv.Close()
	})
	return &benchHub{Hub: h, ln: ln, url: "ws" + strings.TrimPrefix(srv.URL, "http") + "/ws"}
}

// benchWait polls cond until it holds or the deadline passes.
func benchWait(tb testing.TB, d time.Duration, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(time.Millisecond)
	}
}

func benchKey(tb testing.TB) *identity.Key {
	tb.Helper()
	k, err := identity.Generate()
	if err != nil {
		tb.Fatal(err)
	}
	return k
}

// startBenchClients connects n real client.Client contributors on the CPU
// device and waits until the hub has them all. It returns their clients.
func startBenchClients(tb testing.TB, th *benchHub, n, slots int) []*client.Client {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	cs := make([]*client.Client, n)
	for i := range cs {
		c, err := client.New(client.Config{HubURL: th.url, Key: benchKey(tb), Device: device.CPU{}, Slots: slots, Logger: benchLog})
		if err != nil {
			tb.Fatal(err)
		}
		cs[i] = c
		wg.Add(1)
		go func() { defer wg.Done(); c.Run(ctx) }()
	}
	tb.Cleanup(func() { cancel(); wg.Wait() })
	benchWait(tb, 30*time.Second, "clients to connect", func() bool { return th.Status().ContributorsConnected == n })
	return cs
}

// benchRawPeer is a minimal contributor speaking the protocol directly
// on one goroutine: it answers each task as it arrives, so it keeps as
// many tasks in flight as the hub gives it, like the echo clients.
type benchRawPeer struct {
	conn     *websocket.Conn
	accepted atomic.Int64
}

func benchDial(tb testing.TB, url string) *websocket.Conn {
	tb.Helper()
	d := websocket.Dialer{ReadBufferSize: 64 << 10, WriteBufferSize: 64 << 10}
	conn, _, err := d.Dial(url, nil)
	if err != nil {
		tb.Fatal(err)
	}
	conn.SetReadLimit(protocol.MaxFrame)
	return conn
}

func benchRead(conn *websocket.Conn, buf []byte) ([]byte, error) {
	_, r, err := conn.NextReader()
	if err != nil {
		return nil, err
	}
	return protocol.ReadFrame(r, buf)
}

// startBenchRaw connects n raw contributors and waits until the hub has them.
func startBenchRaw(tb testing.TB, th *benchHub, n, slots int) []*benchRawPeer {
	tb.Helper()
	var wg sync.WaitGroup
	rs := make([]*benchRawPeer, n)
	for i := range rs {
		rc := &benchRawPeer{conn: benchDial(tb, th.url)}
		rs[i] = rc
		if err := rc.handshake(benchKey(tb), slots); err != nil {
			tb.Fatal(err)
		}
		wg.Add(1)
		go func() { defer wg.Done(); rc.work() }()
	}
	tb.Cleanup(func() {
		for _, rc := range rs {
			rc.conn.Close()
		}
		wg.Wait()
	})
	benchWait(tb, 30*time.Second, "raw contributors to connect", func() bool { return th.Status().ContributorsConnected == n })
	return rs
}

func (rc *benchRawPeer) handshake(key *identity.Key, slots int) error {
	frame, err := benchRead(rc.conn, nil)
	if err != nil {
		return fmt.Errorf("read challenge: %w", err)
	}
	var ch protocol.Challenge
	if err := protocol.DecodeInto(frame, &ch); err != nil {
		return fmt.Errorf("decode challenge: %w", err)
	}
	sig, err := key.Sign(protocol.LoginText(ch.Hub, rc.conn.RemoteAddr().String(), ch.Nonce))
	if err != nil {
		return err
	}
	hello := &protocol.Hello{Nonce: ch.Nonce, Address: key.Address(), Signature: sig, Slots: uint16(slots),
		Agent: "bench-raw", Device: protocol.DeviceInfo{Backend: "cpu"}, Kernels: kernel.Ops}
	if err := rc.conn.WriteMessage(websocket.BinaryMessage, protocol.Encode(nil, hello)); err != nil {
		return err
	}
	if frame, err = benchRead(rc.conn, frame); err != nil {
		return fmt.Errorf("read welcome: %w", err)
	}
	return protocol.DecodeInto(frame, new(protocol.Welcome))
}

// work answers tasks until the connection closes.
func (rc *benchRawPeer) work() {
	var buf, out []byte
	var task protocol.Task
	var verdict protocol.Verdict
	var c []float32
	for {
		frame, err := benchRead(rc.conn, buf)
		if err != nil {
			return
		}
		buf = frame
		switch k, _ := protocol.PeekKind(frame); k {
		case protocol.KindTask:
			if protocol.DecodeInto(frame, &task) != nil {
				return
			}
			if n := task.Shape.CLen(); cap(c) < n {
				c = make([]float32, n)
			}
			c = c[:task.Shape.CLen()]
			kernel.Reference(task.Op, task.Shape, task.A, task.B, c)
			out = protocol.Encode(out[:0], &protocol.Result{TaskID: task.ID, Rows: uint32(task.Shape.M), Cols: uint32(task.Shape.N), C: c})
			if rc.conn.WriteMessage(websocket.BinaryMessage, out) != nil {
				return
			}
		case protocol.KindVerdict:
			if protocol.DecodeInto(frame, &verdict) == nil && verdict.Accepted {
				rc.accepted.Add(1)
			}
		default:
			return
		}
	}
}

// benchRunTasks feeds the hub a job of exactly n tasks of shape sh and returns
// when the job's last result has been verified.
func benchRunTasks(tb testing.TB, th *benchHub, sh kernel.Shape, n int) {
	tb.Helper()
	var done atomic.Int64
	finished := make(chan struct{})
	job, err := hub.NewMatmulJob(hub.MatmulConfig{Shape: sh, Limit: int64(n), Seed: 1, OnDone: func(*hub.Task, []float32) {
		if done.Add(1) == int64(n) {
			close(finished)
		}
	}})
	if err != nil {
		tb.Fatal(err)
	}
	th.AddSource(job)
	select {
	case <-finished:
	case <-time.After(10 * time.Minute):
		tb.Fatalf("only %d of %d tasks completed", done.Load(), n)
	}
}

// benchFrames returns the encoded sizes of a task and of its result for sh
// (NN).
func benchFrames(sh kernel.Shape) (task, result []byte) {
	t := &protocol.Task{ID: 1, Op: kernel.MatMulNN, Shape: sh, A: make([]float32, sh.ALen()), B: make([]float32, sh.BLen())}
	r := &protocol.Result{TaskID: 1, Rows: uint32(sh.M), Cols: uint32(sh.N), C: make([]float32, sh.CLen())}
	return protocol.Encode(nil, t), protocol.Encode(nil, r)
}

// startBenchEcho runs a bare gorilla/websocket server that answers every
// message with reply, until the test ends.
func startBenchEcho(tb testing.TB, reply []byte) string {
	tb.Helper()
	up := websocket.Upgrader{ReadBufferSize: 64 << 10, WriteBufferSize: 64 << 10}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer conn.Close()
		var buf bytes.Buffer
		for {
			_, rd, err := conn.NextReader()
			if err != nil {
				return
			}
			buf.Reset()
			if _, err := buf.ReadFrom(rd); err != nil {
				return
			}
			if err := conn.WriteMessage(websocket.BinaryMessage, reply); err != nil {
				return
			}
		}
	}))
	tb.Cleanup(srv.Close)
	return "ws" + strings.TrimPrefix(srv.URL, "http")
}

// benchEchoTrips makes n round trips in all over conns, each connection
// keeping up to window requests in flight, and returns how long it took.
func benchEchoTrips(tb testing.TB, conns []*websocket.Conn, request []byte, window, n int) time.Duration {
	tb.Helper()
	var left atomic.Int64
	left.Store(int64(n))
	take := func() bool { return left.Add(-1) >= 0 }
	var wg sync.WaitGroup
	errs := make(chan error, len(conns))
	start := time.Now()
	for _, conn := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			inFlight := 0
			for inFlight < window && take() {
				if err := conn.WriteMessage(websocket.BinaryMessage, request); err != nil {
					errs <- err
					return
				}
				inFlight++
			}
			var buf []byte
			for inFlight > 0 {
				frame, err := benchRead(conn, buf)
				if err != nil {
					errs <- err
					return
				}
				buf = frame
				inFlight--
				if take() {
					if err := conn.WriteMessage(websocket.BinaryMessage, request); err != nil {
						errs <- err
						return
					}
					inFlight++
				}
			}
		}()
	}
	wg.Wait()
	took := time.Since(start)
	close(errs)
	for err := range errs {
		tb.Fatal(err)
	}
	return took
}

// BenchmarkRoundTrip measures verified tasks per second through the whole
// path (lease, task frame, compute, result frame, Freivalds, verdict) with
// 32 loopback contributors and small 8×8×8 tasks, and, as a baseline,
// round trips per second of a bare gorilla/websocket echo server with the
// same 32 connections, the same window and the same frame sizes (a
// result-sized request, a task-sized reply). b.N counts tasks; the
// benchmark timer covers the hub only.
//
// Metrics: tasks/s, echo_rt/s and hub/echo (goal ≥ 0.5). Sub-benchmarks:
// "client" uses real client.Client contributors on device.CPU, "raw" a
// one-goroutine protocol client with the same structure as the echo
// client, which isolates the hub's cost from the client's.
func BenchmarkRoundTrip(b *testing.B) {
	taskFrame, resultFrame := benchFrames(benchTile)
	for _, kind := range []string{"client", "raw"} {
		b.Run(kind, func(b *testing.B) {
			b.StopTimer()
			th := startBenchHub(b)
			if kind == "client" {
				startBenchClients(b, th, benchContributors, benchSlots)
			} else {
				startBenchRaw(b, th, benchContributors, benchSlots)
			}
			b.StartTimer()
			start := time.Now()
			benchRunTasks(b, th, benchTile, b.N)
			hubTook := time.Since(start)
			b.StopTimer()

			url := startBenchEcho(b, taskFrame)
			conns := make([]*websocket.Conn, benchContributors)
			for i := range conns {
				conns[i] = benchDial(b, url)
				defer conns[i].Close()
			}
			echoTook := benchEchoTrips(b, conns, resultFrame, benchSlots, b.N)

			hubRate := float64(b.N) / hubTook.Seconds()
			echoRate := float64(b.N) / echoTook.Seconds()
			b.ReportMetric(hubRate, "tasks/s")
			b.ReportMetric(echoRate, "echo_rt/s")
			b.ReportMetric(hubRate/echoRate, "hub/echo")
		})
	}
}

// BenchmarkWireEfficiency measures the bytes that cross the hub's TCP
// connections per task (both directions: task, result and verdict frames
// with their websocket framing, and any pings; TCP/IP headers and the
// login handshake excluded) relative to the raw tensor bytes A+B+C. Goal:
// wire/raw ≤ 1.02 for 64×64 tiles and larger.
func BenchmarkWireEfficiency(b *testing.B) {
	for _, n := range []int{64, 128, 256} {
		b.Run(fmt.Sprintf("%d", n), func(b *testing.B) {
			sh := kernel.Shape{M: n, K: n, N: n}
			b.StopTimer()
			th := startBenchHub(b)
			cs := startBenchClients(b, th, 4, benchSlots)
			before := th.ln.total()
			b.StartTimer()
			benchRunTasks(b, th, sh, b.N)
			// The last verdicts are sent after the job hears of the result.
			benchWait(b, time.Minute, "the last verdicts", func() bool {
				var acc uint64
				for _, c := range cs {
					acc += c.Stats().Accepted
				}
				return acc >= uint64(b.N)
			})
			b.StopTimer()
			wire := float64(th.ln.total()-before) / float64(b.N)
			raw := float64(4 * (sh.ALen() + sh.BLen() + sh.CLen()))
			b.SetBytes(int64(raw))
			b.ReportMetric(wire/raw, "wire/raw")
			b.ReportMetric(wire-raw, "overhead_B/task")
		})
	}
}
