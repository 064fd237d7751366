package hub_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tessera-ai/tessera/client/device"
	"github.com/tessera-ai/tessera/hub"
	"github.com/tessera-ai/tessera/hub/ledger"
)

// TestLedgerFailureIsNotAccepted closes the real ledger under a working
// hub: results still pass their checks, but since their credit cannot be
// recorded the contributor is told so instead of "accepted".
func TestLedgerFailureIsNotAccepted(t *testing.T) {
	led, err := ledger.Open(context.Background(), filepath.Join(t.TempDir(), "ledger.db"), ledger.Config{})
	if err != nil {
		t.Fatal(err)
	}
	th := startHub(t, func(c *hub.Config) {
		c.Credits = led
		c.Verification.Replicate = false
	})
	c := startClient(t, th, device.CPU{}, 1)
	waitFor(t, "credited results", 10*time.Second, func() bool { return c.Stats().Accepted > 3 })
	if s := c.Stats(); s.Refused != 0 {
		t.Fatalf("refusals before the ledger closed: %s", s.LastRefusal)
	}
	led.Close()
	waitFor(t, "a refusal", 10*time.Second, func() bool { return c.Stats().Refused > 0 })
	if r := c.Stats().LastRefusal; !strings.Contains(r, "could not record its credit") {
		t.Fatalf("refusal %q", r)
	}
}
