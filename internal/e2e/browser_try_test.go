package e2e

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/tessera-ai/tessera/client"
	"github.com/tessera-ai/tessera/client/device"
	"github.com/tessera-ai/tessera/hub/metrics/metricstest"
	"github.com/tessera-ai/tessera/hub/service"
	"github.com/tessera-ai/tessera/internal/corpus"
	"github.com/tessera-ai/tessera/internal/identity"
	"github.com/tessera-ai/tessera/internal/kernel"
)

// tryModel is the language model the Try box's tests train and try.
const tryModel = "try-test-lm"

// tryHub is an assembled hub (service.Run) publishing the demo key, with
// workers native CPU contributors of the operator's own. stop ends the
// contributors and then the hub (idempotent; also run at the test's end).
type tryHub struct {
	*siteHub
	stop func()
}

func runTryHub(tb testing.TB, web pageFS, dir string, inf service.InferenceConfig, workers int) *tryHub {
	tb.Helper()
	keys := make([]*identity.Key, workers)
	for i := range keys {
		k, err := identity.Generate()
		if err != nil {
			tb.Fatal(err)
		}
		keys[i] = k
	}
	return runPageHub(tb, web, dir, inf, keys, nil)
}

// runPageHub runs an assembled hub (service.Run) serving the page from
// web, with the operator's own CPU workers own and ordinary CPU
// contributors others; the chain commits only when a test asks.
func runPageHub(tb testing.TB, web pageFS, dir string, inf service.InferenceConfig, own, others []*identity.Key) *tryHub {
	tb.Helper()
	log := slog.New(slog.NewTextHandler(tb.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	cfg := service.DefaultConfig()
	cfg.DefaultJob = false
	for _, k := range own {
		cfg.OwnWorkers = append(cfg.OwnWorkers, k.Address().Hex())
	}
	keys := append(append([]*identity.Key(nil), own...), others...)
	cfg.Hub.DataDir, cfg.Hub.Web, cfg.Hub.Logger = dir, web, log
	cfg.Hub.Matmul.Shape = kernel.Shape{} // only the language model's tasks
	cfg.Chain.Interval = time.Hour
	cfg.Inference = inf
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- service.Run(ctx, ln, cfg) }()
	var clients sync.WaitGroup
	var once sync.Once
	h := &tryHub{siteHub: &siteHub{base: "http://" + ln.Addr().String(), data: dir}}
	h.stop = func() {
		once.Do(func() {
			cancel()
			clients.Wait()
			select {
			case err := <-done:
				if err != nil {
					tb.Errorf("service.Run: %v", err)
				}
			case <-time.After(20 * time.Second):
				tb.Errorf("service.Run did not return 20 s after its context ended")
			}
		})
	}
	tb.Cleanup(h.stop)
	waitFor(tb, 60*time.Second, "hub serving", func() error {
		_, err := fetchStatus(h.base)
		return err
	})
	for _, key := range keys {
		ccfg := client.DefaultConfig()
		ccfg.HubURL = "ws://" + ln.Addr().String() + "/ws"
		ccfg.Key, ccfg.Device, ccfg.Logger = key, device.CPU{}, log
		c, err := client.New(ccfg)
		if err != nil {
			tb.Fatal(err)
		}
		clients.Go(func() { c.Run(ctx) })
	}
	return h
}

// trainTryModel creates the language model on h and waits until it has a
// checkpoint to complete from, then pauses its training so that the hub's
// cores go to the completions. The model is large enough (4 layers of 256)
// that the hub takes about a second and a half for 512 tokens on two
// cores: a stream the page can stop midway. It returns a free API key without a
// rate limit for the test's own requests.
func trainTryModel(t *testing.T, h *tryHub) string {
	t.Helper()
	goroot, err := corpus.GoRoot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	spec := fmt.Sprintf(`{"name": %q, "model": {"type": "gpt2", "n_layer": 4, "n_embd": 256, "n_head": 4, "n_positions": 64, "attn_batch": 8},
		"corpus": {"path": %q, "validation_percent": 25}, "tile_cols": 16, "batch_size": 4, "max_steps": 1000000,
		"eval_every": 5, "eval_windows": 4, "checkpoint_every": 1, "exposure_cap": 1,
		"optimizer": {"type": "adamw", "lr": 0.003, "min_lr": 0.0003, "beta1": 0.9, "beta2": 0.95, "eps": 1e-8, "warmup_steps": 2}}`,
		tryModel, filepath.Join(goroot, "src", "strings", "*.go"))
	var job struct{ ID string }
	h.admin(t, "POST", "/api/v1/admin/jobs", spec, http.StatusCreated, &job)
	h.jobID = job.ID
	var key struct{ Key string }
	h.admin(t, "POST", "/api/v1/admin/keys", `{"name": "try-test"}`, http.StatusCreated, &key)
	waitFor(t, 180*time.Second, "a checkpoint to complete from", func() error {
		_, err := complete(h.base, key.Key, tryModel, "func (b *B", 4)
		return err
	})
	h.admin(t, "POST", "/api/v1/admin/jobs/"+h.jobID+"/pause", "", http.StatusOK, nil)
	return key.Key
}

// tryState is what the test reads from the "Try the model" box.
type tryState struct {
	Status, Error, Text                      string
	ErrorShown, OutputShown                  bool
	GenerateEnabled, StopEnabled             bool
	State, StatusRole, StatusLive, ErrorRole string
}

func (p *page) tryState() tryState {
	p.tb.Helper()
	var s tryState
	p.eval("read the Try box", `(() => {
		const $ = (id) => document.getElementById(id);
		const err = $("try-error"), status = $("try-status"), out = $("try-output");
		return {status: status.textContent, error: err.textContent, errorShown: !err.hidden,
			text: out.querySelector(".completion").textContent, outputShown: !out.hidden,
			generateEnabled: !$("try-generate").disabled, stopEnabled: !$("try-stop").disabled, state: $("try").dataset.state || "",
			statusRole: status.getAttribute("role") || "", statusLive: status.getAttribute("aria-live") || "", errorRole: err.getAttribute("role") || ""};
	})()`, &s)
	return s
}

// waitTry waits until the box's status begins with prefix and returns the
// box then.
func (p *page) waitTry(what, prefix string, timeout time.Duration) tryState {
	p.tb.Helper()
	var s tryState
	waitFor(p.tb, timeout, what, func() error {
		if s = p.tryState(); !strings.HasPrefix(s.Status, prefix) {
			return fmt.Errorf("box %+v, want the status %q", s, prefix)
		}
		return nil
	})
	return s
}

// checkIdle checks that the box can be used again after a request ended.
func checkIdle(t *testing.T, s tryState) {
	t.Helper()
	if !s.GenerateEnabled || s.StopEnabled || s.State != "idle" {
		t.Errorf("after the request: Generate enabled %v, Stop enabled %v, state %q; want Generate enabled, Stop disabled, idle",
			s.GenerateEnabled, s.StopEnabled, s.State)
	}
}

// tryForm opens the page at base, waits until the box lists the model and
// fills its form.
func (p *page) tryForm(base, prompt string, maxTokens int) {
	p.tb.Helper()
	p.open(base + "/")
	waitFor(p.tb, 20*time.Second, "the Try box lists the model", func() error {
		var models []string
		p.eval("read the models", `[...document.querySelectorAll("#try:not([hidden]) #try-model option")].map((o) => o.value)`, &models)
		if len(models) != 1 || models[0] != tryModel {
			return fmt.Errorf("models %q", models)
		}
		return nil
	})
	p.fillTry(prompt, maxTokens)
}

func (p *page) fillTry(prompt string, maxTokens int) {
	p.tb.Helper()
	p.eval("fill the form", fmt.Sprintf(`(() => {
		document.getElementById("try-prompt").value = %s;
		document.getElementById("try-max-tokens").value = "%d";
		document.getElementById("try-temperature").value = "0";
		return true;
	})()`, jsString(prompt), maxTokens), nil)
}

// inferenceCounters are the hub's counts of the model's completions.
type inferenceCounters struct {
	Finished, Failed, Decoding, Tokens float64
	Responses                          map[string]float64 // POST /v1/completions answers by status code
	Metered                            int64              // completion tokens metered for the model
}

func readCounters(tb testing.TB, h *tryHub) inferenceCounters {
	tb.Helper()
	fams := metricstest.Scrape(tb, h.base+"/metrics")
	v := func(name string, labels ...string) float64 {
		x, _ := metricstest.Value(fams, name, labels...)
		return x
	}
	c := inferenceCounters{
		Finished:  v("tessera_inference_requests_finished_total", "model", tryModel),
		Failed:    v("tessera_inference_requests_failed_total", "model", tryModel),
		Decoding:  v("tessera_inference_requests_decoding", "model", tryModel),
		Tokens:    v("tessera_inference_tokens_total", "model", tryModel),
		Responses: map[string]float64{},
	}
	for _, code := range []string{"200", "429", "503"} {
		c.Responses[code] = v("tessera_api_responses_total", "route", "POST /v1/completions", "code", code)
	}
	var usage struct {
		Models []struct {
			Model            string `json:"model"`
			CompletionTokens int64  `json:"completion_tokens"`
		} `json:"models"`
	}
	getJSONTB(tb, h.base+"/api/v1/usage", &usage)
	for _, m := range usage.Models {
		if m.Model == h.jobID {
			c.Metered = m.CompletionTokens
		}
	}
	return c
}

// TestBrowserCompletionStopAndErrors drives the contributor page's "Try
// the model" box against a real hub with the demo key: Stop aborts a long
// streamed completion (and the hub stops generating it), the shared key's
// rate limit shows its message and leaves the box usable, and a hub too
// busy to finish a step in time shows its refusal.
func TestBrowserCompletionStopAndErrors(t *testing.T) {
	chrome := findChromium(t)
	web := pageFS{dist: os.DirFS(ensureWasm(t, repoRoot(t)))}
	dir := t.TempDir()
	h := runTryHub(t, web, dir, service.InferenceConfig{DemoKey: true, HubCompute: true}, 1)
	trainTryModel(t, h)
	p := openBrowser(t, chrome)
	const maxTokens = 512 // the form's maximum
	p.tryForm(h.base, "func main() {", maxTokens)

	t.Run("Stop", func(t *testing.T) {
		before := readCounters(t, h)
		// Stop is clicked, as a person would, once some text has come: the
		// hub streams 512 tokens in about a second and a half, too fast to
		// wait for from here. The observer notes what the box showed then.
		p.eval("watch the answer", `(() => {
			const $ = (id) => document.getElementById(id);
			const c = document.querySelector("#try-output .completion");
			window.tryStopped = null;
			const obs = new MutationObserver(() => {
				if (window.tryStopped || c.textContent.length < 8) return;
				window.tryStopped = {len: c.textContent.length, stopEnabled: !$("try-stop").disabled,
					generateEnabled: !$("try-generate").disabled, state: $("try").dataset.state || "", status: $("try-status").textContent};
				obs.disconnect();
				$("try-stop").click();
			});
			obs.observe(c, {childList: true, characterData: true, subtree: true});
			return true;
		})()`, nil)
		p.do("generate", 5*time.Second, chromedp.Click(chromedp.ID("try-generate")))
		s := p.waitTry("the box says it stopped", "Stopped", 20*time.Second)
		var during struct {
			Len                          int
			StopEnabled, GenerateEnabled bool
			State, Status                string
		}
		p.eval("read the box at Stop", `window.tryStopped`, &during)
		t.Logf("Stop clicked after %d characters; the box then shows %d characters: %q", during.Len, len([]rune(s.Text)), s.Status)
		if !during.StopEnabled || during.GenerateEnabled || during.State != "generating" || !strings.HasPrefix(during.Status, "Generating with "+tryModel) {
			t.Errorf("while generating: %+v; want Stop enabled, Generate disabled, state generating", during)
		}
		if s.Status != "Stopped." || s.ErrorShown || !s.OutputShown || len([]rune(s.Text)) < during.Len {
			t.Errorf("after Stop: %+v; want the status Stopped., no error, the text kept", s)
		}
		checkIdle(t, s)
		// The text stays as it is, and the hub ended the request early: it
		// counts a failed request (the caller went away), none finished,
		// and generated and metered fewer tokens than asked for.
		time.Sleep(time.Second)
		if later := p.tryState(); later.Text != s.Text || later.Status != s.Status {
			t.Errorf("the box changed after Stop: %d characters %q, then %d %q", len([]rune(s.Text)), s.Status, len([]rune(later.Text)), later.Status)
		}
		var after inferenceCounters
		waitFor(t, 10*time.Second, "the hub ends the request", func() error {
			after = readCounters(t, h)
			if after.Failed-before.Failed+after.Finished-before.Finished < 1 || after.Decoding != 0 {
				return fmt.Errorf("counters %+v, before %+v", after, before)
			}
			return nil
		})
		tokens, metered := after.Tokens-before.Tokens, after.Metered-before.Metered
		t.Logf("the hub generated %v tokens and metered %d of the %d asked for", tokens, metered, maxTokens)
		if after.Failed-before.Failed != 1 || after.Finished != before.Finished {
			t.Errorf("the hub counts %v requests failed and %v finished; want the stopped one failed", after.Failed-before.Failed, after.Finished-before.Finished)
		}
		if tokens < 8 || tokens > maxTokens/2 || metered < 1 || metered > maxTokens/2 {
			t.Errorf("the hub generated %v tokens and metered %d after Stop; want far fewer than %d", tokens, metered, maxTokens)
		}
		p.saveFull("try-stopped")
	})

	t.Run("RateLimited", func(t *testing.T) {
		before := readCounters(t, h)
		p.fillTry("func main() {", 8)
		// Spend the shared key's requests (20 a minute, a burst of 20) the
		// way other visitors would, then ask for a completion.
		var limited int
		p.eval("use up the demo key and generate", `(async () => {
			const {key} = await (await fetch("api/v1/demo", {cache: "no-store"})).json();
			let limited = 0;
			for (let i = 0; i < 60 && limited < 2; i++) {
				const r = await fetch("v1/models", {cache: "no-store", headers: {Authorization: "Bearer " + key}});
				if (r.status === 429) limited++;
			}
			document.getElementById("try-generate").click();
			return limited;
		})()`, &limited)
		if limited < 2 {
			t.Fatalf("60 requests with the demo key got %d refusals; want the rate limit", limited)
		}
		s := p.waitTry("the box shows the refusal", "The request failed", 20*time.Second)
		if !s.ErrorShown || !strings.HasPrefix(s.Error, "Too many requests on the shared demo key: Rate limit reached") {
			t.Errorf("error box %q (shown %v); want the rate limit's message", s.Error, s.ErrorShown)
		}
		if s.ErrorRole != "alert" || s.StatusRole != "status" || s.StatusLive != "polite" {
			t.Errorf("roles: error %q, status %q (aria-live %q); want alert and a polite status", s.ErrorRole, s.StatusRole, s.StatusLive)
		}
		if s.OutputShown {
			t.Errorf("the output is shown after a refusal: %q", s.Text)
		}
		checkIdle(t, s)
		if after := readCounters(t, h); after.Responses["429"]-before.Responses["429"] != 1 {
			t.Errorf("the hub answered %v completions with 429; want the page's one", after.Responses["429"]-before.Responses["429"])
		}
		// The box still works: once the key has a request again (one every
		// 3 s at 20 a minute), a completion streams and the error goes away.
		var demo struct {
			Rate int `json:"rate_limit_per_minute"`
		}
		getJSONTB(t, h.base+"/api/v1/demo", &demo)
		if demo.Rate <= 0 {
			t.Fatalf("the demo key has no rate limit (%d a minute)", demo.Rate)
		}
		time.Sleep(time.Minute/time.Duration(demo.Rate) + 500*time.Millisecond)
		p.do("generate again", 5*time.Second, chromedp.Click(chromedp.ID("try-generate")))
		s = p.waitTry("a completion after the limit", "Done", 30*time.Second)
		if s.ErrorShown || !s.OutputShown || s.Text == "" {
			t.Errorf("after the limit: %+v; want a completion and no error", s)
		}
		checkIdle(t, s)
		p.saveFull("try-limited")
	})

	t.Run("HubTooBusy", func(t *testing.T) {
		// The same hub again, with no contributor, the hub not computing
		// and steps timing out at once. The demo key's requests are free,
		// so the hub still computes them itself (hub/openai: HubOnly):
		// no contributor is involved, and a step timeout shorter than the
		// hub's own step fails them as an overloaded hub (503, not
		// no_contributors).
		h.stop()
		h2 := runTryHub(t, web, dir, service.InferenceConfig{DemoKey: true, StepTimeout: time.Nanosecond}, 0)
		h2.jobID = h.jobID
		p.tryForm(h2.base, "func main() {", 8)
		p.do("generate", 5*time.Second, chromedp.Click(chromedp.ID("try-generate")))
		s := p.waitTry("the box shows the hub's refusal", "The request failed", 20*time.Second)
		if !s.ErrorShown || !strings.HasPrefix(s.Error, "The hub cannot answer now: The model is currently overloaded") {
			t.Errorf("error box %q (shown %v); want the overloaded hub's message", s.Error, s.ErrorShown)
		}
		if s.OutputShown {
			t.Errorf("the output is shown after a refusal: %q", s.Text)
		}
		checkIdle(t, s)
		if c := readCounters(t, h2); c.Responses["503"] != 1 || c.Failed != 1 {
			t.Errorf("the hub answered %v completions with 503 and counts %v failed; want 1 and 1", c.Responses["503"], c.Failed)
		}
		p.saveFull("try-no-contributors")
	})
}
