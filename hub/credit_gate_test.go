package hub_test

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/tessera-ai/tessera/client/device"
	"github.com/tessera-ai/tessera/hub"
	"github.com/tessera-ai/tessera/hub/ledger"
)

// gatedCredits is the real ledger whose durability reports are held until
// the gate opens.
type gatedCredits struct {
	*ledger.Ledger
	gate chan struct{}
}

func (g *gatedCredits) Submit(ops ...hub.CreditOp) <-chan error {
	inner := g.Ledger.Submit(ops...)
	out := make(chan error, 1)
	go func() {
		err := <-inner
		<-g.gate
		out <- err
	}()
	return out
}

// TestVerdictWaitsForDurableCredit: while no credit becomes durable, the
// hub still reads, checks and delivers a contributor's next results (its
// reader does not wait on the ledger), but the contributor hears no
// "accepted"; once credit is durable every accepted verdict arrives.
func TestVerdictWaitsForDurableCredit(t *testing.T) {
	led, err := ledger.Open(context.Background(), filepath.Join(t.TempDir(), "ledger.db"), ledger.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer led.Close()
	g := &gatedCredits{Ledger: led, gate: make(chan struct{})}
	var open sync.Once
	defer open.Do(func() { close(g.gate) })
	th := startHub(t, func(c *hub.Config) {
		c.Credits = g
		c.Verification.Replicate = false
	})
	c := startClient(t, th, device.CPU{}, 1)
	delivered := func() int {
		n := 0
		th.done.Range(func(any, any) bool { n++; return true })
		return n
	}
	waitFor(t, "results delivered while their credit is pending", 10*time.Second, func() bool { return delivered() >= 3 })
	if s := c.Stats(); s.Accepted != 0 {
		t.Fatalf("%d results accepted before any credit was durable", s.Accepted)
	}
	open.Do(func() { close(g.gate) })
	waitFor(t, "accepted verdicts", 10*time.Second, func() bool { return c.Stats().Accepted >= 3 })
	if s := c.Stats(); s.Refused != 0 {
		t.Fatalf("refused: %s", s.LastRefusal)
	}
}
