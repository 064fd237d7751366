package hub_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/tessera-ai/tessera/client/device"
	"github.com/tessera-ai/tessera/hub"
	"github.com/tessera-ai/tessera/internal/protocol"
)

// worker returns the session of addr in the hub's worker list.
func worker(th *testHub, addr string) (hub.Worker, bool) {
	for _, w := range th.Workers() {
		if w.Address == addr {
			return w, true
		}
	}
	return hub.Worker{}, false
}

// TestOperatorControls lists sessions with the leases they hold, closes
// one, and bans and unbans an address, while a real client works and
// another goroutine reads the lists (run it with -race).
func TestOperatorControls(t *testing.T) {
	th := startHub(t, nil)
	honest := startClient(t, th, device.CPU{}, 2)
	stop := make(chan struct{})
	var readers sync.WaitGroup
	readers.Add(1)
	go func() {
		defer readers.Done()
		for {
			select {
			case <-stop:
				return
			default:
				th.Workers()
				th.Reputations()
			}
		}
	}()
	defer func() { close(stop); readers.Wait() }()

	// A peer that holds three tasks and never answers.
	p := dialRaw(t, th)
	p.login(3)
	addr := p.key.Address().Hex()
	waitFor(t, "the silent peer to hold three leases", 5*time.Second, func() bool {
		w, ok := worker(th, addr)
		return ok && w.Leases == 3
	})
	w, _ := worker(th, addr)
	if w.Slots != 3 || w.Agent != "raw-test" || w.Backend != "cpu" || w.Remote != "127.0.0.1" || time.Since(w.ConnectedAt) > time.Minute {
		t.Errorf("worker row: %+v", w)
	}
	waitFor(t, "the honest client's work", 5*time.Second, func() bool { return honest.Stats().Accepted > 0 })
	if len(th.Workers()) != 2 {
		t.Errorf("workers: %+v, want the silent peer and the honest client", th.Workers())
	}

	t.Run("DisconnectWorker", func(t *testing.T) {
		if th.DisconnectWorker(w.ID + 1000) {
			t.Error("closed a session that does not exist")
		}
		if !th.DisconnectWorker(w.ID) {
			t.Fatal("DisconnectWorker: no such session")
		}
		p.expectError(protocol.CodeShutdown, "operator")
		waitFor(t, "the closed session to leave the list", 5*time.Second, func() bool { _, ok := worker(th, addr); return !ok })
	})

	t.Run("BanUnban", func(t *testing.T) {
		p2 := dialRaw(t, th)
		p2.key = p.key
		p2.login(1)
		// Holding a lease, it is past the handshake and has a writer to say
		// why it is closed.
		waitFor(t, "the new session's lease", 5*time.Second, func() bool { w, ok := worker(th, addr); return ok && w.Leases == 1 })
		rep, err := th.Ban(context.Background(), addr, "testing bans")
		if err != nil || !rep.Banned || rep.Replication != 1 {
			t.Fatalf("Ban: %+v %v", rep, err)
		}
		p2.expectError(protocol.CodeBanned, "testing bans")
		if _, ok := worker(th, addr); ok {
			t.Error("a banned address is still listed as a worker")
		}
		refused := dialRaw(t, th)
		refused.key = p.key
		refused.send(refused.hello(refused.challenge(), 1))
		refused.expectError(protocol.CodeBanned, "banned")
		if rep, known := th.Reputation(addr); !known || !rep.Banned || !th.Reputations()[addr].Banned {
			t.Error("the ban is not in the reputations")
		}

		rep, err = th.Unban(context.Background(), addr, "")
		if err != nil || rep.Banned || rep.Strikes != 0 || rep.Clean != 0 {
			t.Fatalf("Unban: %+v %v", rep, err)
		}
		back := dialRaw(t, th)
		back.key = p.key
		back.login(1)
	})

	if rep, known := th.Reputation("0x000000000000000000000000000000000000dEaD"); known || rep.Banned || rep.Strikes != 0 || rep.Replication != 1 {
		t.Errorf("a stranger's reputation: %+v (known %v)", rep, known)
	}
	if _, ok := th.Reputations()["0x000000000000000000000000000000000000dEaD"]; ok {
		t.Error("asking about a stranger made a record of it")
	}
}
