package adversary

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/tessera-ai/tessera/hub/infer"
	"github.com/tessera-ai/tessera/hub/infer/infertest"
	"github.com/tessera-ai/tessera/hub/train"
	"github.com/tessera-ai/tessera/internal/kernel"
)

// TestInferenceCheaterIsCaught decodes concurrent completions through two
// honest contributors and cheaters that corrupt their results (random,
// noise at 1e-3, a part left uncomputed, a stale result resent): each
// answer must still equal the local decoder's, none of the cheaters'
// results may be credited, and no honest result may be refused. The
// weight tiles are frozen, so the hub checks them with prepared vectors
// (verify.Frozen) that the cheaters' results meet again and again.
func TestInferenceCheaterIsCaught(t *testing.T) {
	ctx := context.Background()
	cfg := DefaultConfig(t.TempDir())
	cfg.Shape, cfg.Honest, cfg.Cheaters = kernel.Shape{}, 2, []Strategy{Random, Noise3, Partial, Stale}
	x, err := Start(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	m := infertest.Model(t)
	exposure := train.NewExposure(1, m.TileFractions(), nil, nil, func(string, int) error { return nil })
	remote := train.NewInferenceRemote("inference", x.Hub(), exposure)
	x.Hub().AddSource(remote)
	e := infer.NewEngine("go", infertest.Source{Model: m, Step: 1, Exec: remote}, infer.Config{StepTimeout: time.Minute})
	prompts := []string{"func main", "fmt.", "}\n", "hello"}
	texts := make([]string, len(prompts))
	errs := make([]error, len(prompts))
	var wg sync.WaitGroup
	for i, p := range prompts {
		c, err := e.Submit(ctx, infer.Request{Prompt: []byte(p), MaxTokens: 40, Sampler: infertest.Greedy(t)})
		if err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for piece := range c.Text {
				texts[i] += piece
				x.Poll()
			}
			errs[i] = c.Err
		}()
	}
	wg.Wait()
	e.Close()
	x.Hub().RemoveSource(remote)
	rep, err := x.Stop(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("\n%s", rep.Table())
	checkReport(t, rep)
	for i, p := range prompts {
		want := string(m.Generate([]byte(p), 40, infertest.Greedy(t)))
		if errs[i] != nil || texts[i] != want {
			t.Errorf("prompt %q: %q (%v), want %q", p, texts[i], errs[i], want)
		}
	}
	for _, st := range cfg.Cheaters {
		sr := rep.Strategy(st)
		if sr.Bad == 0 {
			t.Fatalf("the %s cheater returned no bad result: the test proves nothing\n%s", st, rep.Table())
		}
		if sr.Credited != 0 || sr.CaughtRate() != 1 {
			t.Errorf("%s cheater: %d bad results, %d credited, caught %.2f", st, sr.Bad, sr.Credited, sr.CaughtRate())
		}
	}
}
