package train_test

import (
	"context"
	"errors"
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
	"github.com/tessera-ai/tessera/hub/infer/infertest"
	"github.com/tessera-ai/tessera/hub/lm"
	"github.com/tessera-ai/tessera/hub/train"
	"github.com/tessera-ai/tessera/hub/train/tile"
	"github.com/tessera-ai/tessera/internal/identity"
	"github.com/tessera-ai/tessera/internal/kernel"
)

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
	e := infer.NewEngine("lm", infertest.Source{Model: tr.Model.Frozen(), Exec: inferRemote}, infer.Config{StepTimeout: time.Minute})
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

// TestInferenceClassify classifies MNIST test images with a trained MLP
// job's checkpoint through contributors: the probabilities equal the hub
// computing alone, most predictions are right, and bad input is refused.
func TestInferenceClassify(t *testing.T) {
	mgr, _ := startManager(t)
	ctx := context.Background()
	spec := tinyJob("clf")
	spec.MaxSteps = 60
	id, err := mgr.Create(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	waitState(t, mgr, id, "done")
	data, err := (&train.DataLoader{}).Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	const n = 64
	images := make([][]float32, n)
	for i := range images {
		images[i] = data.Test.Images[i*784 : (i+1)*784]
	}
	got, step, jobID, err := mgr.Classify(ctx, "clf", images, nil) // by name, through contributors
	if err != nil {
		t.Fatal(err)
	}
	want, _, _, err := mgr.Classify(ctx, id, images, tile.NewLocal(1))
	if err != nil {
		t.Fatal(err)
	}
	if step != 60 || jobID != id {
		t.Errorf("step %d of %s, want 60 of %s", step, jobID, id)
	}
	right := 0
	for i := range images {
		best := 0
		for k := range got[i] {
			if d := got[i][k] - want[i][k]; d > 1e-5 || d < -1e-5 {
				t.Fatalf("image %d class %d: %v through contributors, %v on the hub", i, k, got[i][k], want[i][k])
			}
			if got[i][k] > got[i][best] {
				best = k
			}
		}
		if best == int(data.Test.Labels[i]) {
			right++
		}
	}
	if right < n*3/4 {
		t.Errorf("%d of %d right", right, n)
	}
	if _, _, _, err := mgr.Classify(ctx, id, [][]float32{make([]float32, 10)}, nil); !errors.Is(err, train.ErrBadInput) {
		t.Errorf("a short image: %v", err)
	}
	if _, _, _, err := mgr.Classify(ctx, "nope", images, nil); !errors.Is(err, train.ErrNotServable) {
		t.Errorf("an unknown job: %v", err)
	}
}
