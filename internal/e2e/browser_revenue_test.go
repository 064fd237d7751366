package e2e

import (
	"context"
	"fmt"
	"math/big"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/tessera-ai/tessera/hub/service"
	"github.com/tessera-ai/tessera/internal/corpus"
	"github.com/tessera-ai/tessera/internal/identity"
)

// revenueHub is an assembled hub (service.Run: ledger, training, embedded
// chain, the OpenAI-compatible API with its demo key) training one small
// language model, with two native CPU contributors: the operator's own
// worker and owner, an outside contributor whose key the browser imports
// to see and claim its share of the model's revenue.
type revenueHub struct {
	*siteHub
	jobName string
	owner   *identity.Key
}

// revenuePrice is the priced API key's price per 1,000 tokens (0.001
// ether), so that a few completions earn amounts the page shows in ether.
const revenuePrice = "1000000000000000"

func startRevenueHub(tb testing.TB, web pageFS) *revenueHub {
	tb.Helper()
	goroot, err := corpus.GoRoot(context.Background())
	if err != nil {
		tb.Fatal(err)
	}
	worker, err := identity.Generate()
	if err != nil {
		tb.Fatal(err)
	}
	owner, err := identity.Generate()
	if err != nil {
		tb.Fatal(err)
	}
	// Completions need no spare contributor: the hub computes them.
	page := runPageHub(tb, web, tb.TempDir(), service.InferenceConfig{DemoKey: true, HubCompute: true},
		[]*identity.Key{worker}, []*identity.Key{owner})
	h := &revenueHub{siteHub: page.siteHub, jobName: "revenue-test-lm", owner: owner}
	spec := fmt.Sprintf(`{"name": %q, "model": {"type": "gpt2", "n_layer": 1, "n_embd": 16, "n_head": 2, "n_positions": 16, "attn_batch": 8},
		"corpus": {"path": %q, "validation_percent": 25}, "tile_cols": 16, "batch_size": 4, "max_steps": 1000000,
		"eval_every": 5, "eval_windows": 4, "checkpoint_every": 5, "exposure_cap": 1,
		"optimizer": {"type": "adamw", "lr": 0.003, "min_lr": 0.0003, "beta1": 0.9, "beta2": 0.95, "eps": 1e-8, "warmup_steps": 2}}`,
		h.jobName, filepath.Join(goroot, "src", "strings", "*.go"))
	var job struct{ ID string }
	h.admin(tb, "POST", "/api/v1/admin/jobs", spec, http.StatusCreated, &job)
	h.jobID = job.ID
	return h
}

// earn waits until the owner has verified credit and the model can be
// used, meters a few priced completions, commits an epoch holding their
// revenue and funds the model's vault with it. It returns the revenue and
// what the owner is owed.
func (h *revenueHub) earn(t *testing.T) (revenue, owed *big.Int) {
	t.Helper()
	waitFor(t, 120*time.Second, "the owner's verified credit in the language model", func() error {
		var body struct {
			Balances []struct{ Address, Verified string }
		}
		getJSONTB(t, h.base+"/api/v1/credits/"+h.jobID, &body)
		for _, b := range body.Balances {
			if strings.EqualFold(b.Address, h.owner.Address().Hex()) && b.Verified != "" && b.Verified != "0" {
				return nil
			}
		}
		return fmt.Errorf("balances %+v", body.Balances)
	})
	var key struct{ Key string }
	h.admin(t, "POST", "/api/v1/admin/keys", `{"name": "paying-customer", "price_per_1k_tokens_wei": "`+revenuePrice+`"}`, http.StatusCreated, &key)
	waitFor(t, 120*time.Second, "a checkpoint to complete from", func() error {
		_, err := complete(h.base, key.Key, h.jobName, "func (b *B", 24)
		return err
	})
	// Prompts fit the model's context of 16 bytes.
	for _, prompt := range []string{"package s", "// Index"} {
		if _, err := complete(h.base, key.Key, h.jobName, prompt, 24); err != nil {
			t.Fatalf("completion of %q: %v", prompt, err)
		}
	}
	var usage struct {
		Models []struct {
			Model      string `json:"model"`
			RevenueWei string `json:"revenue_wei"`
		} `json:"models"`
	}
	getJSONTB(t, h.base+"/api/v1/usage", &usage)
	revenue = new(big.Int)
	for _, m := range usage.Models {
		if m.Model == h.jobID {
			revenue.SetString(m.RevenueWei, 10)
		}
	}
	if revenue.Sign() <= 0 {
		t.Fatalf("no revenue metered for %s: %+v", h.jobID, usage.Models)
	}
	h.admin(t, "POST", "/api/v1/admin/commit", "", http.StatusOK, nil)
	h.admin(t, "POST", "/api/v1/admin/deposit", fmt.Sprintf(`{"model": %q, "wei": "%s"}`, h.jobID, revenue), http.StatusOK, nil)
	owed = earningsOf(t, h.base, h.owner.Address().Hex(), h.jobID)
	if owed.Sign() <= 0 {
		t.Fatalf("the owner is owed nothing of %s wei revenue", revenue)
	}
	return revenue, owed
}

// TestBrowserRevenue: a contributor who trained a language model imports
// its key into the contributor page, sees its share of the model's
// metered revenue in "Your earnings", claims it with the Claim button (the
// hub relays the claim on the embedded chain) and then sees it claimed,
// with nothing left to claim. The dashboard's Revenue section shows the
// model's metered use and the epoch's revenue. The "Try the model" box
// streams a completion with the demo key, and shows the API's error for a
// request it refuses. Neither page breaks the Content-Security-Policy.
func TestBrowserRevenue(t *testing.T) {
	chrome := findChromium(t)
	root := repoRoot(t)
	dist := ensureWasm(t, root)
	ensureBundle(t, root)
	h := startRevenueHub(t, pageFS{dist: os.DirFS(dist)})
	revenue, owed := h.earn(t)
	t.Logf("revenue %s wei; the owner is owed %s wei", revenue, owed)
	addr := h.owner.Address().Hex()

	p := openBrowser(t, chrome)
	p.recordViolations()
	p.open(h.base + "/")
	row := fmt.Sprintf(`#earnings tr[data-model=%q]`, h.jobID)

	t.Run("EarningsAndClaim", func(t *testing.T) {
		p.eval("type the owner's key", fmt.Sprintf(`(() => { document.getElementById("key-input").value = %q; return true; })()`, h.owner.Hex()), nil)
		p.do("import the key", 5*time.Second, chromedp.Click(chromedp.ID("key-import")))
		var got earningsRow
		waitFor(t, 20*time.Second, "the earnings row with a claimable amount", func() error {
			got = p.earningsRow(row)
			if got.Claimable != owed.String() || got.Disabled {
				return fmt.Errorf("row %+v, want %s wei claimable", got, owed)
			}
			return nil
		})
		if !strings.Contains(got.Name, h.jobName) || got.OwedTitle != owed.String()+" wei" || !strings.HasSuffix(got.Owed, "ETH") || got.ClaimedTitle != "0 wei" {
			t.Errorf("row %+v: want the model's name, %s wei owed in ether with the exact wei in its title", got, owed)
		}
		p.do("claim", 5*time.Second, chromedp.Click(row+" button.claim"))
		var status string
		waitFor(t, 30*time.Second, "the claim is paid", func() error {
			status = p.text("earnings-status")
			if !strings.HasPrefix(status, "Paid ") {
				return fmt.Errorf("status %q", status)
			}
			return nil
		})
		if !strings.Contains(status, owed.String()+" wei") || !strings.Contains(status, "transaction 0x") || !strings.Contains(status, addr) {
			t.Errorf("status %q: want %s wei paid to %s and the transaction", status, owed, addr)
		}
		waitFor(t, 10*time.Second, "the row shows the earnings claimed", func() error {
			got = p.earningsRow(row)
			if got.ClaimedTitle != owed.String()+" wei" || got.Claimable != "0" || !got.Disabled {
				return fmt.Errorf("row %+v", got)
			}
			return nil
		})
		// A second claim: the button is disabled, and the hub refuses one
		// sent anyway.
		var again struct {
			Status int
			Error  string
		}
		p.eval("claim again", fmt.Sprintf(`fetch("api/v1/claim", {method: "POST", body: JSON.stringify({model: %q, address: %q})})
			.then(async (r) => ({status: r.status, error: (await r.json()).error}))`, h.jobID, addr), &again)
		if again.Status != http.StatusConflict || !strings.Contains(again.Error, "nothing to claim") {
			t.Errorf("a second claim: HTTP %d %q, want 409 nothing to claim", again.Status, again.Error)
		}
		if after := earningsOf(t, h.base, addr, h.jobID); after.Cmp(owed) != 0 {
			t.Errorf("owed %s wei after the claims, want %s", after, owed)
		}
		p.saveFull("earnings")
	})

	t.Run("Dashboard", func(t *testing.T) {
		p.do("open the dashboard", 20*time.Second, chromedp.Navigate(h.base+"/dashboard.html"))
		model := fmt.Sprintf(`#dash-usage tr[data-model=%q]`, h.jobID)
		epoch := fmt.Sprintf(`#dash-epoch-revenue tr[data-model=%q][data-epoch="1"]`, h.jobID)
		waitFor(t, 20*time.Second, "the Revenue section", func() error {
			var got struct{ Model, Titles, Epoch, EpochTitles string }
			p.eval("read the Revenue section", `(() => {
				const titles = (r) => r ? [...r.querySelectorAll("[title]")].map((s) => s.title).join(" | ") : "";
				const m = document.querySelector(`+jsString(model)+`), e = document.querySelector(`+jsString(epoch)+`);
				return {model: m ? m.textContent : "", titles: titles(m), epoch: e ? e.textContent : "", epochTitles: titles(e)};
			})()`, &got)
			if !strings.Contains(got.Model, h.jobName) || !strings.Contains(got.Titles, revenue.String()+" wei") {
				return fmt.Errorf("usage row %q (exact amounts %q), want %s wei revenue", got.Model, got.Titles, revenue)
			}
			if !strings.HasPrefix(got.EpochTitles, revenue.String()+" wei") {
				return fmt.Errorf("epoch row %q (exact amounts %q), want %s wei revenue", got.Epoch, got.EpochTitles, revenue)
			}
			return nil
		})
		p.saveFull("revenue-dashboard")
		if v := p.violations(); len(v) > 0 {
			t.Errorf("the pages broke their policy:\n%s", strings.Join(v, "\n"))
		}
	})

	t.Run("TryCompletion", func(t *testing.T) {
		p.open(h.base + "/")
		waitFor(t, 20*time.Second, "the Try box lists the model", func() error {
			var models []string
			p.eval("read the models", `[...document.querySelectorAll("#try:not([hidden]) #try-model option")].map((o) => o.value)`, &models)
			if len(models) != 1 || models[0] != h.jobName {
				return fmt.Errorf("models %q", models)
			}
			return nil
		})
		p.eval("fill the form", `(() => {
			document.getElementById("try-prompt").value = "func (b *B";
			document.getElementById("try-max-tokens").value = "24";
			document.getElementById("try-temperature").value = "0";
			return true;
		})()`, nil)
		p.do("generate", 5*time.Second, chromedp.Click(chromedp.ID("try-generate")))
		var out struct {
			Text   string
			Pieces int
			Status string
		}
		waitFor(t, 60*time.Second, "the streamed completion", func() error {
			p.eval("read the answer", `(() => {
				const c = document.querySelector("#try-output .completion");
				return {text: c.textContent, pieces: c.childNodes.length, status: document.getElementById("try-status").textContent};
			})()`, &out)
			if !strings.HasPrefix(out.Status, "Done") {
				return fmt.Errorf("answer %+v", out)
			}
			return nil
		})
		t.Logf("the page streamed %q in %d pieces (%s)", out.Text, out.Pieces, out.Status)
		if out.Text == "" || out.Pieces < 2 || p.text("try-error") != "" {
			t.Errorf("answer %+v, error %q: want text streamed in pieces", out, p.text("try-error"))
		}
		// A request the API refuses shows its error: this model's context
		// is 16 bytes.
		p.eval("write a long prompt", `(() => { document.getElementById("try-prompt").value = "package strings\n\nimport ("; return true; })()`, nil)
		p.do("generate", 5*time.Second, chromedp.Click(chromedp.ID("try-generate")))
		waitFor(t, 20*time.Second, "the API's error", func() error {
			if e := p.text("try-error"); !strings.Contains(e, "HTTP 400") || !strings.Contains(e, "context length") {
				return fmt.Errorf("error box %q, status %q", e, p.text("try-status"))
			}
			return nil
		})
		p.saveFull("try")
		if v := p.violations(); len(v) > 0 {
			t.Errorf("the page broke its policy:\n%s", strings.Join(v, "\n"))
		}
	})

	t.Run("NarrowScreen", func(t *testing.T) {
		// The imported key stays in the browser: the page shows the
		// earnings row and the Try box at a phone's width.
		p.do("narrow screen", 20*time.Second, chromedp.EmulateViewport(360, 740), chromedp.Navigate(h.base+"/"))
		waitFor(t, 20*time.Second, "the earnings row and the Try box", func() error {
			if p.earningsRow(row).Name == "" || p.text("#try:not([hidden]) #try-model") == "" {
				return fmt.Errorf("not shown yet")
			}
			return nil
		})
		var widths [2]int
		p.eval("measure", `[document.documentElement.scrollWidth, window.innerWidth]`, &widths)
		if widths[0] > widths[1] {
			t.Errorf("the page is %d px wide on a %d px screen", widths[0], widths[1])
		}
		p.saveFull("narrow")
	})
}

// earningsRow is one row of the page's "Your earnings" table.
type earningsRow struct {
	Name, Owed, OwedTitle, ClaimedTitle, Claimable string
	Disabled                                       bool
}

func (p *page) earningsRow(sel string) earningsRow {
	p.tb.Helper()
	var r earningsRow
	p.eval("read the earnings row", `(() => {
		const r = document.querySelector(`+jsString(sel)+`);
		if (!r) return {};
		const td = (c) => r.querySelector("td." + c);
		return {name: td("name").textContent, owed: td("owed").textContent, owedTitle: td("owed").title,
			claimedTitle: td("claimed").title, claimable: r.dataset.claimable, disabled: r.querySelector("button.claim").disabled};
	})()`, &r)
	return r
}

// TestBrowserCompletionBoxHidden: a hub that publishes no demo key shows
// no "Try the model" box.
func TestBrowserCompletionBoxHidden(t *testing.T) {
	chrome := findChromium(t)
	base := startHub(t, pageFS{dist: os.DirFS(ensureWasm(t, repoRoot(t)))})
	p := openBrowser(t, chrome)
	p.open(base + "/")
	var box struct {
		Demo   string
		Hidden bool
	}
	waitFor(t, 10*time.Second, "the page asked the hub for a demo key", func() error {
		p.eval("read the box", `(() => { const b = document.getElementById("try"); return {demo: b.dataset.demo || "", hidden: b.hidden}; })()`, &box)
		if box.Demo == "" {
			return fmt.Errorf("no answer yet")
		}
		return nil
	})
	if box.Demo != "off" || !box.Hidden {
		t.Errorf("the Try the model box: demo %q, hidden %v on a hub without a demo key", box.Demo, box.Hidden)
	}
}
