package e2e

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/tessera-ai/tessera/internal/corpus"
)

// TestBrowserDashboardLanguageModel: the dashboard shows a language model
// with its bits-per-byte and throughput charts drawn from the history, the
// step time split, a sample the model wrote, and links that download its
// weights and GPT-2 config.
func TestBrowserDashboardLanguageModel(t *testing.T) {
	chrome := findChromium(t)
	root := repoRoot(t)
	dist := ensureWasm(t, root)
	ensureBundle(t, root)
	h := startSiteHub(t, pageFS{dist: os.DirFS(dist)})
	goroot, err := corpus.GoRoot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	spec := fmt.Sprintf(`{"name": "site-test-lm", "model": {"type": "gpt2", "n_layer": 1, "n_embd": 16, "n_head": 2, "n_positions": 16, "attn_batch": 8},
		"corpus": {"path": %q, "validation_percent": 25}, "tile_cols": 16, "batch_size": 4, "max_steps": 1000000,
		"eval_every": 5, "eval_windows": 4, "checkpoint_every": 5, "exposure_cap": 1,
		"optimizer": {"type": "adamw", "lr": 0.003, "min_lr": 0.0003, "beta1": 0.9, "beta2": 0.95, "eps": 1e-8, "warmup_steps": 2}}`,
		filepath.Join(goroot, "src", "strings", "*.go"))
	var job struct{ ID string }
	h.admin(t, "POST", "/api/v1/admin/jobs", spec, http.StatusCreated, &job)

	p := openBrowser(t, chrome)
	p.do("open the dashboard", 20*time.Second, chromedp.Navigate(h.base+"/dashboard.html"))
	card := fmt.Sprintf(`#dash-jobs article[data-job-id=%q]`, job.ID)
	var got struct {
		Model, Quality, Split, Wire, Sample, Weights, Config string
		Points                                               []int
	}
	waitFor(t, 90*time.Second, "the dashboard shows the language model with a sample and charted evaluations", func() error {
		p.eval("read the language model's card", `(() => {
			const a = document.querySelector(`+jsString(card)+`);
			if (!a) return {};
			const dd = [...a.querySelectorAll("dl.stats dd")].map((d) => d.textContent);
			const link = (s) => { const l = [...a.querySelectorAll(".sample a")].find((x) => x.textContent.includes(s)); return l ? l.href : ""; };
			return {model: a.dataset.model, quality: dd[2] || "", split: dd[5] || "", wire: dd[7] || "",
				sample: (a.querySelector(".sample-text") || {}).textContent || "",
				weights: link("safetensors"), config: link("config.json"),
				points: [...a.querySelectorAll(".chart")].map((c) => Number(c.dataset.points))};
		})()`, &got)
		if got.Model != "gpt2" || !strings.Contains(got.Quality, "bits per byte") || strings.HasPrefix(got.Sample, "No sample") || got.Sample == "" {
			return fmt.Errorf("card %+v", got)
		}
		if !strings.Contains(got.Wire, "MB per GFLOP") {
			return fmt.Errorf("network figure %q", got.Wire)
		}
		if len(got.Points) != 3 || got.Points[1] < 2 || got.Points[2] < 2 {
			return fmt.Errorf("charts hold %v points (loss, bits per byte, tokens/s)", got.Points)
		}
		return nil
	})
	t.Logf("dashboard: %q; step split %q; network %q; sample %q", got.Quality, got.Split, got.Wire, got.Sample)
	if !strings.Contains(got.Split, "ms /") {
		t.Errorf("step split %q", got.Split)
	}
	for _, u := range []string{got.Weights, got.Config} {
		resp, err := http.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 || resp.ContentLength == 0 {
			t.Errorf("%s: HTTP %d, %d bytes", u, resp.StatusCode, resp.ContentLength)
		}
	}
}
