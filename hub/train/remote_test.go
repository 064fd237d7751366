package train_test

import (
	"context"
	"github.com/tessera-ai/tessera/hub/train/tile"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/tessera-ai/tessera/client/device"
	"github.com/tessera-ai/tessera/hub"
	"github.com/tessera-ai/tessera/hub/train"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// startNetwork runs a real hub on loopback with n CPU contributors and
// returns the hub and their addresses.
func startNetwork(tb testing.TB, n int) (*hub.Hub, []string) {
	tb.Helper()
	nw := newNetwork(tb, 0, n)
	var addrs []string
	for i := range n {
		nw.worker(i, device.CPU{})
		addrs = append(addrs, nw.keys[i].Address().Hex())
	}
	return nw.h, addrs
}

func smallSpec() train.Spec {
	s := train.MNISTSpec()
	s.Model.Layers = []int{784, 64, 32, 10}
	s.TileCols = 8
	s.BatchSize = 16
	return s
}

func syntheticBatch(rng *rand.Rand, b int) ([]float32, []uint8) {
	x := make([]float32, b*784)
	for i := range x {
		x[i] = rng.Float32()
	}
	y := make([]uint8, b)
	for i := range y {
		y[i] = uint8(rng.IntN(10))
	}
	return x, y
}

// TestDistributedMatchesLocal trains the same model with the same seed
// through contributors and in-process: the loss curves agree.
func TestDistributedMatchesLocal(t *testing.T) {
	h, _ := startNetwork(t, 2)
	spec := smallSpec()
	dist, err := train.NewTrainer(spec)
	if err != nil {
		t.Fatal(err)
	}
	exp := train.NewExposure(1, dist.TileFractions(), nil, nil, func(string, int) error { return nil })
	remote := train.NewRemote("test-job", h, exp)
	h.AddSource(remote)
	local, _ := train.NewTrainer(spec)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	rng := rand.New(rand.NewPCG(1, 2))
	for step := range 8 {
		x, y := syntheticBatch(rng, spec.BatchSize)
		ld, err := dist.Step(ctx, remote, x, y)
		if err != nil {
			t.Fatalf("distributed step %d: %v", step, err)
		}
		ll, err := local.Step(ctx, tile.NewLocal(2), x, y)
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(ld-ll) > 1e-5*math.Abs(ll) {
			t.Errorf("step %d: distributed loss %.7f, local %.7f", step, ld, ll)
		}
	}
	if st := h.Status(); st.TasksCompleted == 0 || st.TasksRejected != 0 {
		t.Errorf("hub status after training: %+v", st)
	}
}

// TestExposureCapWithFourContributors trains with four contributors and a
// cap of 0.3: nobody ever receives more than 30% of the weights (checked
// against the record every grant passes through), and training completes.
func TestExposureCapWithFourContributors(t *testing.T) {
	h, addrs := startNetwork(t, 4)
	spec := smallSpec()
	spec.ExposureCap = 0.3
	tr, _ := train.NewTrainer(spec)
	fractions := tr.TileFractions()
	received := map[string]map[int]bool{}
	exp := train.NewExposure(spec.ExposureCap, fractions, nil, nil, func(addr string, tile int) error {
		if received[addr] == nil {
			received[addr] = map[int]bool{}
		}
		received[addr][tile] = true // called under the scheduler lock
		return nil
	})
	remote := train.NewRemote("capped", h, exp)
	h.AddSource(remote)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	rng := rand.New(rand.NewPCG(3, 4))
	first, last := 0.0, 0.0
	x, y := syntheticBatch(rng, spec.BatchSize)
	for step := range 30 {
		loss, err := tr.Step(ctx, remote, x, y)
		if err != nil {
			t.Fatalf("step %d: %v (training stalled under the cap?)", step, err)
		}
		if step == 0 {
			first = loss
		}
		last = loss
	}
	if !(last < first) {
		t.Errorf("loss did not fall: %.3f -> %.3f", first, last)
	}
	if len(received) < 2 {
		t.Errorf("only %d contributors received weights; the cap should force sharing", len(received))
	}
	for _, a := range addrs {
		sum := 0.0
		for tile := range received[a] {
			sum += fractions[tile]
		}
		if sum > spec.ExposureCap+1e-9 {
			t.Errorf("%s received %.1f%% of the weights, over the %.0f%% cap", a, 100*sum, 100*spec.ExposureCap)
		}
		t.Logf("%s received %.1f%% of the weights", a, 100*sum)
	}
	if f := exp.MaxFractionNonExempt(); f > spec.ExposureCap+1e-9 {
		t.Errorf("largest fraction held %.3f", f)
	}
}
