package hub_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/tessera-ai/tessera/client"
	"github.com/tessera-ai/tessera/client/device"
	"github.com/tessera-ai/tessera/hub"
	"github.com/tessera-ai/tessera/internal/identity"
	"github.com/tessera-ai/tessera/internal/kernel"
	"github.com/tessera-ai/tessera/internal/protocol"
)

// testHub is a real hub on a loopback port.
type testHub struct {
	*hub.Hub
	srv  *httptest.Server
	ws   string
	done sync.Map // task ID -> struct{}: results that reached the job
}

func startHub(tb testing.TB, mutate func(*hub.Config)) *testHub {
	tb.Helper()
	th := &testHub{}
	cfg := hub.DefaultConfig()
	cfg.DataDir = tb.TempDir()
	cfg.Matmul = hub.MatmulConfig{
		Shape:  kernel.Shape{M: 17, K: 33, N: 9},
		Seed:   1,
		OnDone: func(t *hub.Task, c []float32) { th.done.Store(t.ID, struct{}{}) },
	}
	if mutate != nil {
		mutate(&cfg)
	}
	h, err := hub.New(cfg)
	if err != nil {
		tb.Fatalf("hub.New: %v", err)
	}
	th.Hub = h
	ctx, cancel := context.WithCancel(context.Background())
	runDone := make(chan struct{})
	go func() { h.Run(ctx); close(runDone) }()
	th.srv = httptest.NewServer(h.Handler())
	th.ws = "ws" + strings.TrimPrefix(th.srv.URL, "http") + "/ws"
	tb.Cleanup(func() {
		cancel()
		<-runDone
		th.srv.Close()
	})
	return th
}

// startClient runs a real contributor client against the hub until the
// test ends.
func startClient(tb testing.TB, th *testHub, dev device.Device, slots int) *client.Client {
	tb.Helper()
	key, err := identity.Generate()
	if err != nil {
		tb.Fatal(err)
	}
	cfg := client.DefaultConfig()
	cfg.HubURL, cfg.Key, cfg.Device, cfg.Slots = th.ws, key, dev, slots
	cfg.MinBackoff, cfg.MaxBackoff = 50*time.Millisecond, 200*time.Millisecond
	c, err := client.New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { c.Run(ctx); close(done) }()
	tb.Cleanup(func() { cancel(); <-done })
	return c
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(tb testing.TB, what string, timeout time.Duration, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func getStatus(tb testing.TB, th *testHub) hub.Status {
	tb.Helper()
	resp, err := http.Get(th.srv.URL + "/api/v1/status")
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	var st hub.Status
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		tb.Fatalf("decode status: %v", err)
	}
	return st
}

func row(st hub.Status, addr string) (hub.ContributorStatus, bool) {
	for _, r := range st.Contributors {
		if r.Address == addr {
			return r, true
		}
	}
	return hub.ContributorStatus{}, false
}

func TestHonestClientCompletesTasks(t *testing.T) {
	th := startHub(t, nil)
	c := startClient(t, th, device.CPU{}, 2)
	waitFor(t, "20 accepted results", 10*time.Second, func() bool { return c.Stats().Accepted >= 20 })
	st := getStatus(t, th)
	r, ok := row(st, c.Stats().Address)
	if !ok {
		t.Fatalf("status has no row for %s: %+v", c.Stats().Address, st.Contributors)
	}
	if st.ContributorsConnected != 1 || !r.Connected || r.Backend != "cpu" {
		t.Errorf("status: connected=%d row=%+v", st.ContributorsConnected, r)
	}
	if st.TasksCompleted < 20 || r.TasksCompleted < 20 || st.TasksRejected != 0 {
		t.Errorf("status counts: completed=%d row=%d rejected=%d", st.TasksCompleted, r.TasksCompleted, st.TasksRejected)
	}
	if st.TasksLeased < st.TasksCompleted {
		t.Errorf("leased %d < completed %d", st.TasksLeased, st.TasksCompleted)
	}
}

// liar is a contributor device that computes the right product and then
// corrupts one element, as a cheater or a broken GPU would.
type liar struct{ device.CPU }

func (liar) Run(ctx context.Context, op kernel.Op, s kernel.Shape, a, b, c []float32) error {
	if err := kernel.Reference(op, s, a, b, c); err != nil {
		return err
	}
	c[len(c)/2] += 0.5
	return nil
}

func TestWrongResultIsRefused(t *testing.T) {
	th := startHub(t, nil)
	bad := startClient(t, th, liar{}, 2)
	strikes := hub.DefaultVerification().MaxStrikes
	waitFor(t, "the liar to be banned", 10*time.Second, func() bool { return strings.Contains(bad.Stats().LastError, "banned") })
	s := bad.Stats()
	// The hub's own count (below) must be exact. The client may miss the
	// last verdict: the hub closes the connection after the ban, and a
	// client writing its next result then ends its session on the broken
	// pipe before reading what was already sent.
	if s.Refused != uint64(strikes) && s.Refused != uint64(strikes-1) {
		t.Errorf("the liar saw %d refusals before the ban, want %d (or %d)", s.Refused, strikes, strikes-1)
	}
	if s.Accepted != 0 {
		t.Errorf("the liar had %d results accepted", s.Accepted)
	}
	if !strings.Contains(s.LastRefusal, "Freivalds") {
		t.Errorf("refusal reason %q does not explain the check", s.LastRefusal)
	}
	st := getStatus(t, th)
	r, _ := row(st, s.Address)
	if st.TasksCompleted != 0 || r.TasksCompleted != 0 || st.TasksRejected != uint64(strikes) || r.TasksRejected != uint64(strikes) || r.Connected {
		t.Errorf("status after lies: completed=%d row completed=%d rejected=%d row rejected=%d",
			st.TasksCompleted, r.TasksCompleted, st.TasksRejected, r.TasksRejected)
	}
	n := 0
	th.done.Range(func(any, any) bool { n++; return true })
	if n != 0 {
		t.Errorf("%d wrong results reached the job", n)
	}
	// The refused tasks are not lost: an honest contributor completes them.
	good := startClient(t, th, device.CPU{}, 2)
	waitFor(t, "honest completions", 10*time.Second, func() bool { return good.Stats().Accepted >= 5 })
}

// rawPeer is a hand-driven protocol peer for the misbehaviour tests.
type rawPeer struct {
	tb   testing.TB
	conn *websocket.Conn
	key  *identity.Key
}

func dialRaw(tb testing.TB, th *testHub) *rawPeer {
	tb.Helper()
	conn, _, err := websocket.DefaultDialer.Dial(th.ws, nil)
	if err != nil {
		tb.Fatalf("dial: %v", err)
	}
	tb.Cleanup(func() { conn.Close() })
	key, err := identity.Generate()
	if err != nil {
		tb.Fatal(err)
	}
	return &rawPeer{tb: tb, conn: conn, key: key}
}

func (p *rawPeer) send(m protocol.Message) {
	p.tb.Helper()
	if err := p.conn.WriteMessage(websocket.BinaryMessage, protocol.Encode(nil, m)); err != nil {
		p.tb.Fatalf("send %v: %v", m.Kind(), err)
	}
}

func (p *rawPeer) recv() (protocol.Message, error) {
	p.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, data, err := p.conn.ReadMessage()
	if err != nil {
		return nil, err
	}
	return protocol.Decode(data)
}

func (p *rawPeer) challenge() *protocol.Challenge {
	p.tb.Helper()
	m, err := p.recv()
	if err != nil {
		p.tb.Fatalf("read challenge: %v", err)
	}
	ch, ok := m.(*protocol.Challenge)
	if !ok {
		p.tb.Fatalf("first message is %v, want challenge", m.Kind())
	}
	return ch
}

func (p *rawPeer) hello(ch *protocol.Challenge, slots uint16) *protocol.Hello {
	p.tb.Helper()
	sig, err := p.key.Sign(protocol.LoginText(ch.Hub, p.conn.RemoteAddr().String(), ch.Nonce))
	if err != nil {
		p.tb.Fatal(err)
	}
	return &protocol.Hello{Nonce: ch.Nonce, Address: p.key.Address(), Signature: sig, Slots: slots,
		Agent: "raw-test", Device: protocol.DeviceInfo{Backend: "cpu"}, Kernels: kernel.Ops}
}

// login completes the handshake and returns the welcome.
func (p *rawPeer) login(slots uint16) {
	p.tb.Helper()
	p.send(p.hello(p.challenge(), slots))
	m, err := p.recv()
	if err != nil {
		p.tb.Fatalf("read welcome: %v", err)
	}
	if _, ok := m.(*protocol.Welcome); !ok {
		p.tb.Fatalf("got %v after hello, want welcome (%+v)", m.Kind(), m)
	}
}

// expectError reads until the hub's error message and checks its code,
// then checks that the hub closed the connection.
func (p *rawPeer) expectError(code protocol.Code, mentions string) {
	p.tb.Helper()
	for {
		m, err := p.recv()
		if err != nil {
			p.tb.Fatalf("want a %v error message, connection ended with %v", code, err)
		}
		e, ok := m.(*protocol.ErrorMsg)
		if !ok {
			continue // tasks leased before the error
		}
		if e.Code != code || !strings.Contains(e.Message, mentions) {
			p.tb.Fatalf("got error %v %q, want %v mentioning %q", e.Code, e.Message, code, mentions)
		}
		break
	}
	if _, err := p.recv(); err == nil {
		p.tb.Fatalf("connection still open after the %v error", code)
	}
}

func TestDisconnectRequeuesLeases(t *testing.T) {
	th := startHub(t, nil)
	p := dialRaw(t, th)
	p.login(4)
	var held []uint64
	for len(held) < 4 {
		m, err := p.recv()
		if err != nil {
			t.Fatal(err)
		}
		if task, ok := m.(*protocol.Task); ok {
			held = append(held, task.ID)
		}
	}
	p.conn.Close() // vanish holding four leases
	good := startClient(t, th, device.CPU{}, 2)
	waitFor(t, "the abandoned tasks to be completed by another contributor", 10*time.Second, func() bool {
		for _, id := range held {
			if _, ok := th.done.Load(id); !ok {
				return false
			}
		}
		return true
	})
	if good.Stats().Accepted == 0 {
		t.Error("the honest client had nothing accepted")
	}
}

func TestExpiredLeaseIsReleased(t *testing.T) {
	th := startHub(t, func(c *hub.Config) { c.LeaseTimeout = 300 * time.Millisecond })
	p := dialRaw(t, th)
	p.login(1)
	m, err := p.recv()
	if err != nil {
		t.Fatal(err)
	}
	task := m.(*protocol.Task)
	// Sit on the task; another contributor gets it after the deadline.
	startClient(t, th, device.CPU{}, 1)
	waitFor(t, "the expired task to be completed by another", 10*time.Second, func() bool {
		_, ok := th.done.Load(task.ID)
		return ok
	})
	// The late answer is refused without counting as a wrong result.
	c := make([]float32, task.Shape.CLen())
	kernel.Reference(task.Op, task.Shape, task.A, task.B, c)
	p.send(&protocol.Result{TaskID: task.ID, Rows: uint32(task.Shape.M), Cols: uint32(task.Shape.N), C: c})
	for {
		m, err := p.recv()
		if err != nil {
			t.Fatal(err)
		}
		if v, ok := m.(*protocol.Verdict); ok && v.TaskID == task.ID {
			if v.Accepted || v.Code != protocol.CodeUnknownTask {
				t.Errorf("late result verdict %+v, want refused as unknown task", v)
			}
			break
		}
	}
	if st := getStatus(t, th); st.TasksExpired == 0 {
		t.Errorf("status shows no expired lease: %+v", st)
	}
}

func TestHostilePeers(t *testing.T) {
	th := startHub(t, nil)
	good := startClient(t, th, device.CPU{}, 2)
	waitFor(t, "the honest client to start", 10*time.Second, func() bool { return good.Stats().Accepted > 0 })

	t.Run("BadSignature", func(t *testing.T) {
		p := dialRaw(t, th)
		h := p.hello(p.challenge(), 1)
		h.Signature[10] ^= 0xff
		p.send(h)
		p.expectError(protocol.CodeBadSignature, "")
	})
	t.Run("WrongSigner", func(t *testing.T) {
		p := dialRaw(t, th)
		h := p.hello(p.challenge(), 1)
		other, _ := identity.Generate()
		h.Address = other.Address() // claim someone else's identity
		p.send(h)
		p.expectError(protocol.CodeBadSignature, "not by the claimed address")
	})
	t.Run("RelayedChallenge", func(t *testing.T) {
		// A rogue hub relays this hub's challenge to its own visitor, whose
		// client signs a login for the host it dialed: the rogue's.
		p := dialRaw(t, th)
		ch := p.challenge()
		sig, err := p.key.Sign(protocol.LoginText(ch.Hub, "rogue.example:8080", ch.Nonce))
		if err != nil {
			t.Fatal(err)
		}
		h := p.hello(ch, 1)
		h.Signature = sig
		p.send(h)
		p.expectError(protocol.CodeBadSignature, "made for another hub")
	})
	t.Run("ReplayedChallenge", func(t *testing.T) {
		first := dialRaw(t, th)
		h := first.hello(first.challenge(), 1)
		first.send(h)
		if m, err := first.recv(); err != nil || m.Kind() != protocol.KindWelcome {
			t.Fatalf("first login: %v %v", m, err)
		}
		// An eavesdropper replays the same signed hello on a new connection.
		second := dialRaw(t, th)
		second.challenge()
		second.send(h)
		second.expectError(protocol.CodeReplay, "already used")
	})
	t.Run("OversizedFrame", func(t *testing.T) {
		p := dialRaw(t, th)
		p.login(1)
		frame := append([]byte{protocol.Version, byte(protocol.KindCapacity)}, make([]byte, 4096)...)
		p.conn.WriteMessage(websocket.BinaryMessage, frame)
		p.expectError(protocol.CodeTooLarge, "limit")
	})
	t.Run("MalformedMessage", func(t *testing.T) {
		p := dialRaw(t, th)
		p.login(1)
		p.conn.WriteMessage(websocket.BinaryMessage, []byte{protocol.Version, byte(protocol.KindResult), 1, 2, 3})
		p.expectError(protocol.CodeBadMessage, "truncated")
	})
	t.Run("TextFrame", func(t *testing.T) {
		p := dialRaw(t, th)
		p.login(1)
		p.conn.WriteMessage(websocket.TextMessage, []byte(`{"hello":1}`))
		p.expectError(protocol.CodeBadMessage, "binary")
	})
	t.Run("WrongVersion", func(t *testing.T) {
		p := dialRaw(t, th)
		p.challenge()
		p.conn.WriteMessage(websocket.BinaryMessage, []byte{protocol.Version + 1, byte(protocol.KindHello)})
		p.expectError(protocol.CodeVersion, "not supported")
	})
	t.Run("OutOfOrder", func(t *testing.T) {
		p := dialRaw(t, th)
		p.challenge()
		p.send(&protocol.Capacity{Slots: 3})
		p.expectError(protocol.CodeOrder, "expected hello")
	})

	// The honest contributor kept working through all of it.
	before := good.Stats().Accepted
	waitFor(t, "the honest client to keep completing tasks", 10*time.Second, func() bool {
		return good.Stats().Accepted >= before+10
	})
	if s := good.Stats(); s.Refused != 0 {
		t.Errorf("honest client had %d refusals: %s", s.Refused, s.LastRefusal)
	}
}

// TestVerdictAloneArrives: an accepted verdict may wait in the hub's
// write buffer for a task to share its flush (verdictDelay), but one
// with nothing after it, as a draining contributor's last, still goes
// out at once, not with the next ping.
func TestVerdictAloneArrives(t *testing.T) {
	th := startHub(t, func(c *hub.Config) { c.Verification.Replicate = false })
	p := dialRaw(t, th)
	p.login(1)
	m, err := p.recv()
	if err != nil {
		t.Fatal(err)
	}
	task, ok := m.(*protocol.Task)
	if !ok {
		t.Fatalf("got %v after the welcome, want a task", m.Kind())
	}
	p.send(&protocol.Capacity{Slots: 0}) // no task will follow the verdict
	c := make([]float32, task.Shape.CLen())
	kernel.Reference(task.Op, task.Shape, task.A, task.B, c)
	sent := time.Now()
	p.send(&protocol.Result{TaskID: task.ID, Batch: uint32(task.Shape.Batch), Rows: uint32(task.Shape.M), Cols: uint32(task.Shape.N), C: c})
	for {
		m, err := p.recv()
		if err != nil {
			t.Fatalf("no verdict: %v", err)
		}
		if v, ok := m.(*protocol.Verdict); ok {
			if !v.Accepted || v.TaskID != task.ID {
				t.Fatalf("verdict %+v, want task %d accepted", v, task.ID)
			}
			if took := time.Since(sent); took > time.Second {
				t.Fatalf("the verdict took %v to arrive alone", took)
			}
			return
		}
		if _, ok := m.(*protocol.Task); ok {
			t.Fatalf("a task arrived after Capacity 0")
		}
	}
}
