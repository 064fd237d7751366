package train_test

import (
	"context"
	"math/rand/v2"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tessera-ai/tessera/client"
	"github.com/tessera-ai/tessera/client/device"
	"github.com/tessera-ai/tessera/hub"
	"github.com/tessera-ai/tessera/hub/infer"
	"github.com/tessera-ai/tessera/hub/lm"
	"github.com/tessera-ai/tessera/hub/train"
	"github.com/tessera-ai/tessera/hub/train/tile"
	"github.com/tessera-ai/tessera/internal/identity"
	"github.com/tessera-ai/tessera/internal/kernel"
)

// inferenceSource serves one model through a Remote.
type inferenceSource struct {
	m *lm.Model
	r *train.Remote
}

func (s inferenceSource) Checkpoint(context.Context, string) (*lm.Model, int, tile.Executor, error) {
	return s.m, 0, s.r, nil
}

// TestInferenceExposureCap trains a language model through three
// contributors under a 40% exposure cap, serves completions through the
// same contributors and then through a fourth that joins for inference
// only: the one exposure record both paths grant through keeps every
// contributor, the newcomer included, under the cap.
func TestInferenceExposureCap(t *testing.T) {
	cfg := hub.DefaultConfig()
	cfg.DataDir, cfg.Matmul.Shape, cfg.Logger = t.TempDir(), kernel.Shape{}, quiet
	h, err := hub.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	srv := httptest.NewServer(h.Handler())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); h.Run(ctx) }()
	defer func() { cancel(); wg.Wait(); srv.Close() }()
	ws := "ws" + strings.TrimPrefix(srv.URL, "http") + "/ws"
	join := func(slots int) string {
		key, _ := identity.Generate()
		ccfg := client.DefaultConfig()
		ccfg.HubURL, ccfg.Key, ccfg.Device, ccfg.Logger, ccfg.Slots = ws, key, device.CPU{}, quiet, slots
		c, err := client.New(ccfg)
		if err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() { defer wg.Done(); c.Run(ctx) }()
		return key.Address().Hex()
	}
	var trainers []string
	for range 3 {
		trainers = append(trainers, join(2))
	}

	const capFraction = 0.4
	lmCfg := lm.Config{Layers: 1, Embd: 32, Heads: 2, Context: 16, TileCols: 8, AttnBatch: 4}
	opt := lm.OptConfig{LR: 1e-2, MinLR: 1e-3, Beta1: 0.9, Beta2: 0.95, Eps: 1e-8, WarmupSteps: 1, MaxSteps: 10, GradClip: 1}
	tr, err := lm.NewTrainer(lmCfg, opt, 2, 1)
	if err != nil {
		t.Fatal(err)
	}
	fractions := tr.TileFractions()
	var mu sync.Mutex
	received := map[string]map[int]bool{}
	exp := train.NewExposure(capFraction, fractions, nil, nil, func(addr string, tile int) error {
		mu.Lock()
		defer mu.Unlock()
		if received[addr] == nil {
			received[addr] = map[int]bool{}
		}
		received[addr][tile] = true
		return nil
	})
	trainRemote := train.NewRemote("lm", h, exp)
	h.AddSource(trainRemote)
	inferRemote := train.NewInferenceRemote("lm", h, exp)
	h.AddSource(inferRemote)
	sctx, scancel := context.WithTimeout(ctx, 2*time.Minute)
	defer scancel()
	rng := rand.New(rand.NewPCG(5, 5))
	for step := range 4 {
		w := make([]byte, 2*(lmCfg.Context+1))
		for i := range w {
			w[i] = byte('a' + rng.IntN(8))
		}
		if _, err := tr.Step(sctx, trainRemote, w); err != nil {
			t.Fatalf("step %d: %v", step, err)
		}
	}
	e := infer.NewEngine("lm", inferenceSource{tr.Model.Frozen(), inferRemote}, infer.Config{StepTimeout: time.Minute})
	defer e.Close()
	serve := func(n int) {
		var cs []*infer.Completion
		for i := range n {
			s, _ := lm.NewSampler(1, 1, uint64(i))
			c, err := e.Submit(sctx, infer.Request{Prompt: []byte("abc"), MaxTokens: 20, Sampler: s})
			if err != nil {
				t.Fatal(err)
			}
			cs = append(cs, c)
		}
		for _, c := range cs {
			for range c.Text {
			}
			if c.Err != nil {
				t.Fatalf("completion: %v", c.Err)
			}
		}
	}
	serve(4)
	newcomer := join(4)
	serve(12)

	mu.Lock()
	defer mu.Unlock()
	for _, a := range append(trainers, newcomer) {
		sum := 0.0
		for tile := range received[a] {
			sum += fractions[tile]
		}
		t.Logf("%s received %.1f%% of the weights", a, 100*sum)
		if sum > capFraction+1e-9 {
			t.Errorf("%s received %.1f%% of the weights, over the %.0f%% cap", a, 100*sum, 100*capFraction)
		}
	}
	if len(received[newcomer]) == 0 {
		t.Errorf("the inference-only contributor received no weight tile: the test proves nothing")
	}
	if f := exp.MaxFractionNonExempt(); f > capFraction+1e-9 {
		t.Errorf("largest fraction held %.3f", f)
	}
}
