package e2e

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/ethereum/go-ethereum/common"

	"github.com/tessera-ai/tessera/client"
	"github.com/tessera-ai/tessera/client/device"
	"github.com/tessera-ai/tessera/contracts/bindings"
	"github.com/tessera-ai/tessera/hub/service"
	"github.com/tessera-ai/tessera/hub/train"
	"github.com/tessera-ai/tessera/internal/identity"
	"github.com/tessera-ai/tessera/internal/kernel"
)

// ensureBundle builds web/dist/vendor.js and vendor.css (the pages' chart
// and hash libraries) the way `make web` does, unless vendor.js is newer
// than everything it is built from.
func ensureBundle(tb testing.TB, root string) {
	tb.Helper()
	webDir := filepath.Join(root, "web")
	out := filepath.Join(webDir, "dist", "vendor.js")
	srcs, _ := filepath.Glob(filepath.Join(webDir, "vendor", "*.js"))
	srcs = append(srcs, filepath.Join(webDir, "package.json"), filepath.Join(webDir, "package-lock.json"), filepath.Join(webDir, "build.mjs"))
	if oi, err := os.Stat(out); err == nil {
		fresh := true
		for _, s := range srcs {
			if si, err := os.Stat(s); err != nil || si.ModTime().After(oi.ModTime()) {
				fresh = false
			}
		}
		if fresh {
			return
		}
	}
	for _, args := range [][]string{{"npm", "ci", "--no-audit", "--no-fund"}, {"node", "build.mjs"}} {
		cmd := exec.Command(args[0], args[1:]...)
		cmd.Dir = webDir
		if b, err := cmd.CombinedOutput(); err != nil {
			tb.Fatalf("build the pages' libraries (%s in web/; `make web` does the same): %v\n%s", strings.Join(args, " "), err, b)
		}
	}
}

// siteHub is the assembled hub process (service.Run: ledger, training,
// embedded chain) serving the pages, with one of the operator's own CPU
// workers so that its training job advances.
type siteHub struct {
	base, data string
	jobID      string
}

func startSiteHub(tb testing.TB, web pageFS) *siteHub {
	tb.Helper()
	dir := tb.TempDir()
	worker, err := identity.Generate()
	if err != nil {
		tb.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(tb.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	cfg := service.DefaultConfig()
	cfg.DefaultJob = false
	cfg.OwnWorkers = []string{worker.Address().Hex()}
	cfg.Hub.DataDir = dir
	cfg.Hub.Web = web
	cfg.Hub.Logger = log
	// Endless random matmuls beside the job: the browser always has work,
	// so its task rate shows what the throttle lets through.
	cfg.Hub.Matmul.Shape = kernel.Shape{M: 128, K: 128, N: 128}
	cfg.Chain.Interval = time.Hour // epochs only when the test asks
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- service.Run(ctx, ln, cfg) }()
	tb.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				tb.Errorf("service.Run: %v", err)
			}
		case <-time.After(20 * time.Second):
			tb.Errorf("service.Run did not return 20 s after its context ended")
		}
	})
	h := &siteHub{base: "http://" + ln.Addr().String(), data: dir}
	waitFor(tb, 60*time.Second, "hub serving", func() error {
		_, err := fetchStatus(h.base)
		return err
	})

	spec := `{"name": "site-test-mlp", "model": {"type": "mlp", "layers": [784, 32, 10]}, "tile_cols": 16,
		"max_steps": 1000000, "eval_every": 5, "checkpoint_every": 1000, "exposure_cap": 0.6}`
	var job struct{ ID string }
	h.admin(tb, "POST", "/api/v1/admin/jobs", spec, http.StatusCreated, &job)
	h.jobID = job.ID

	ccfg := client.DefaultConfig()
	ccfg.HubURL = "ws://" + ln.Addr().String() + "/ws"
	ccfg.Key, ccfg.Device, ccfg.Logger = worker, device.CPU{}, log
	c, err := client.New(ccfg)
	if err != nil {
		tb.Fatal(err)
	}
	cctx, ccancel := context.WithCancel(ctx)
	cdone := make(chan struct{})
	go func() { c.Run(cctx); close(cdone) }()
	tb.Cleanup(func() { ccancel(); <-cdone })
	return h
}

// admin calls the admin API with the token the hub wrote, and decodes a
// JSON answer of the wanted status into out.
func (h *siteHub) admin(tb testing.TB, method, path, body string, want int, out any) {
	tb.Helper()
	tok, err := os.ReadFile(filepath.Join(h.data, "admin.token"))
	if err != nil {
		tb.Fatalf("read the admin token: %v", err)
	}
	req, _ := http.NewRequest(method, h.base+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(tok)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		tb.Fatalf("%s %s: HTTP %d, want %d: %s", method, path, resp.StatusCode, want, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			tb.Fatalf("%s %s: %v in %s", method, path, err, b)
		}
	}
}

// eval runs a JavaScript expression in the page (awaiting a promise) and
// decodes its value into out.
func (p *page) eval(what, js string, out any) {
	p.tb.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 20*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[json.RawMessage](js, chromedp.EvalAwaitPromise))
	if err != nil {
		p.tb.Fatalf("%s: %v\nbrowser console:\n%s", what, err, p.Console())
	}
	if out != nil {
		if err := json.Unmarshal(v, out); err != nil {
			p.tb.Fatalf("%s: decode %s: %v", what, v, err)
		}
	}
}

// tasksDone reads the client's count of results sent.
func (p *page) tasksDone() int {
	p.tb.Helper()
	var n int
	p.eval("read tasks done", `tessera.stats().then((s) => s.tasksDone)`, &n)
	return n
}

// work is what the page's client did over a stretch of time.
type work struct {
	rate float64 // tasks completed per second
	busy float64 // the share of the time the device spent on tasks
}

// measure watches the page's client for d.
func (p *page) measure(d time.Duration) work {
	p.tb.Helper()
	type reading struct {
		TasksDone     int
		DeviceSeconds float64
	}
	read := func() (r reading) {
		p.eval("read stats", `tessera.stats()`, &r)
		return r
	}
	r0, t0 := read(), time.Now()
	time.Sleep(d)
	r1, wall := read(), time.Since(t0).Seconds()
	return work{rate: float64(r1.TasksDone-r0.TasksDone) / wall, busy: (r1.DeviceSeconds - r0.DeviceSeconds) / wall}
}

// setHidden makes the page believe its tab is hidden (or visible again)
// and tells it, as the browser does, with a visibilitychange event.
func (p *page) setHidden(hidden bool) {
	p.tb.Helper()
	p.eval("set visibility", fmt.Sprintf(`(() => {
		Object.defineProperty(document, "hidden", {value: %[1]t, configurable: true});
		Object.defineProperty(document, "visibilityState", {value: %[1]t ? "hidden" : "visible", configurable: true});
		document.dispatchEvent(new Event("visibilitychange"));
		return true;
	})()`, hidden), nil)
}

// waitStill waits until the page's tasks done have not moved for 1.5 s,
// and returns the count.
func (p *page) waitStill(what string) int {
	p.tb.Helper()
	last, since := -1, time.Now()
	var n int
	waitFor(p.tb, 30*time.Second, what, func() error {
		n = p.tasksDone()
		if n != last {
			last, since = n, time.Now()
		}
		if time.Since(since) < 1500*time.Millisecond {
			return fmt.Errorf("tasks done still moving (%d)", n)
		}
		return nil
	})
	return n
}

// checkNarrow loads url at a phone's width and fails if the page is wider
// than the screen.
func (p *page) checkNarrow(url string) {
	p.tb.Helper()
	p.do("narrow screen", 20*time.Second,
		chromedp.EmulateViewport(360, 740),
		chromedp.Navigate(url),
		chromedp.Sleep(500*time.Millisecond),
	)
	var widths [2]int
	p.eval("measure", `[document.documentElement.scrollWidth, window.innerWidth]`, &widths)
	if widths[0] > widths[1] {
		p.tb.Errorf("%s is %d px wide on a %d px screen", url, widths[0], widths[1])
	}
	p.do("wide screen", 5*time.Second, chromedp.EmulateViewport(1000, 800))
}

// TestBrowserContributorPage drives the contributor page against the
// assembled hub with its embedded chain: contributing, the throttle
// (25% against 100% in the same run), the pause of a hidden tab, the
// ownership share, the on-chain proof and its check against the contract,
// and key export and import; then the dashboard: the running job with
// loss and accuracy charts that have data, the shares, and the committed
// epoch with its root and transaction.
func TestBrowserContributorPage(t *testing.T) {
	chrome := findChromium(t)
	root := repoRoot(t)
	dist := ensureWasm(t, root)
	ensureBundle(t, root)
	h := startSiteHub(t, pageFS{dist: os.DirFS(dist)})
	p := openBrowser(t, chrome)
	p.open(h.base + "/")
	p.do("click Contribute", 5*time.Second, chromedp.Click(chromedp.ID("contribute")))
	row := waitVerified(t, p, h.base, "webgpu")
	addr := row.Address

	t.Run("Throttle", func(t *testing.T) {
		full := p.measure(3 * time.Second)
		p.do("throttle to 25%", 5*time.Second, chromedp.Click(`input[name="throttle"][value="0.25"]`))
		time.Sleep(500 * time.Millisecond) // the task under way finishes at the old pace
		quarter := p.measure(3 * time.Second)
		var st struct{ Throttle float64 }
		p.eval("read throttle", `tessera.stats()`, &st)
		t.Logf("at 100%%: %.1f tasks/s, device busy %.2f of the time; at 25%%: %.1f tasks/s, busy %.2f",
			full.rate, full.busy, quarter.rate, quarter.busy)
		if st.Throttle != 0.25 {
			t.Errorf("the client's throttle is %v after choosing 25%%", st.Throttle)
		}
		// The throttle bounds the device's busy time, not the task rate:
		// lavapipe shares this machine's cores with the hub and the
		// browser, so a task runs faster when fewer run, and the rate falls
		// by less than the busy share does. Pauses only run long, so the
		// share can fall below 25%, not much above it.
		if quarter.rate <= 0 || quarter.busy > 0.32 {
			t.Errorf("at 25%%: %.1f tasks/s with the device busy %.2f of the time; want work going on, busy at most about 0.25",
				quarter.rate, quarter.busy)
		}
		if full.busy <= 0.32 {
			t.Logf("unthrottled, the device was busy only %.2f of the time: this run cannot tell the throttle from its absence", full.busy)
		}
		p.do("back to 100%", 5*time.Second, chromedp.Click(`input[name="throttle"][value="1"]`))
	})

	t.Run("PauseWhenHidden", func(t *testing.T) {
		p.setHidden(true)
		paused := p.waitStill("tasks stop while hidden")
		var st struct {
			Paused bool
			State  string
		}
		p.eval("read stats", `tessera.stats()`, &st)
		line := p.text("state-line")
		if !st.Paused || !strings.Contains(line, "Paused") {
			t.Errorf("hidden tab: client paused %v, state line %q", st.Paused, line)
		}
		p.setHidden(false)
		waitFor(t, 20*time.Second, "tasks resume when visible", func() error {
			if n := p.tasksDone(); n <= paused {
				return fmt.Errorf("%d tasks done, %d when paused", n, paused)
			}
			return nil
		})
		// With the box unticked a hidden tab keeps working.
		p.do("untick pause", 5*time.Second, chromedp.Click(chromedp.ID("pause-hidden")))
		p.setHidden(true)
		n := p.tasksDone()
		waitFor(t, 20*time.Second, "tasks go on while hidden with the box unticked", func() error {
			if m := p.tasksDone(); m <= n+2 {
				return fmt.Errorf("%d tasks done, %d when hidden", m, n)
			}
			return nil
		})
		p.setHidden(false)
		p.do("tick pause", 5*time.Second, chromedp.Click(chromedp.ID("pause-hidden")))
	})

	t.Run("OwnershipAndProof", func(t *testing.T) {
		h.admin(t, "POST", "/api/v1/admin/commit", "", http.StatusOK, nil)
		card := `#models article[data-model="matmul"]`
		waitFor(t, 30*time.Second, "the page shows the share and the proof", func() error {
			share, epoch, root := p.text(card+" .share"), p.text(card+" .epoch"), p.text(card+" .root")
			if !strings.Contains(share, "%") || strings.HasPrefix(share, "0%") || !strings.HasPrefix(epoch, "1 ") || !strings.HasPrefix(root, "0x") {
				return fmt.Errorf("share %q, epoch %q, root %q", share, epoch, root)
			}
			return nil
		})
		var proof struct {
			ModelID, Address, Amount, Contract, ChainID, Root, TxHash string
			Epoch                                                     uint64
			Proof                                                     []string
		}
		getJSONTB(t, h.base+"/api/v1/proof?model=matmul&address="+addr, &proof)
		if got := p.text(card + " .root"); got != proof.Root {
			t.Errorf("page shows root %q, the API %q", got, proof.Root)
		}
		if got := p.text(card + " .tx"); !strings.Contains(got, proof.TxHash) {
			t.Errorf("page shows transaction %q, the API %q", got, proof.TxHash)
		}
		// The page's encoding of verify(...) is the contract ABI's.
		var calldata string
		p.eval("encode verify", `import("/chain.js").then(async (m) => m.encodeVerify(await (await fetch("api/v1/proof?model=matmul&address=`+addr+`")).json()))`, &calldata)
		amount, _ := new(big.Int).SetString(proof.Amount, 10)
		hashes := make([][32]byte, len(proof.Proof))
		for i, s := range proof.Proof {
			hashes[i] = common.HexToHash(s)
		}
		want := bindings.NewTesseraCredits().PackVerify(common.HexToHash(proof.ModelID), proof.Epoch, common.HexToAddress(proof.Address), amount, hashes)
		if calldata != "0x"+hex.EncodeToString(want) {
			t.Errorf("page encodes verify as\n%s\nthe ABI as\n0x%x", calldata, want)
		}

		p.do("check on chain", 5*time.Second, chromedp.Click(card+" button.check"))
		waitFor(t, 20*time.Second, "the proof checks valid on chain", func() error {
			if got := p.text(card + " .check-result"); !strings.HasPrefix(got, "Valid:") {
				return fmt.Errorf("check result %q", got)
			}
			return nil
		})
		// A proof of one FLOP more is refused by the contract.
		var tampered struct{ Valid bool }
		p.eval("check a tampered proof", `import("/chain.js").then(async (m) => {
			const p = await (await fetch("api/v1/proof?model=matmul&address=`+addr+`")).json();
			p.amount = (BigInt(p.amount) + 1n).toString();
			return m.checkProof(p);
		})`, &tampered)
		if tampered.Valid {
			t.Error("the contract accepted a proof with the amount raised by one")
		}
		// How the work was checked.
		if got := p.text("check-hub"); !strings.Contains(got, "tasks verified") {
			t.Errorf("checks show %q", got)
		}
		if got := p.text("check-client"); !strings.Contains(got, "accepted") {
			t.Errorf("checks show %q", got)
		}
	})

	t.Run("Screenshot", func(t *testing.T) {
		shot := p.screenshot()
		p.saveFull("contributor")
		if n, bounds := distinctColors(t, shot, 64); n < 16 {
			t.Errorf("screenshot (%v) has only %d distinct colours: the page looks blank", bounds.Size(), n)
		}
	})

	t.Run("Keys", func(t *testing.T) {
		p.do("stop", 10*time.Second, chromedp.Click(chromedp.ID("contribute")))
		waitFor(t, 15*time.Second, "stopped", func() error {
			if b := p.text("contribute"); b != "Contribute" {
				return fmt.Errorf("button %q", b)
			}
			return nil
		})
		p.do("show the key", 5*time.Second, chromedp.Click(chromedp.ID("key-show")))
		var shown string
		p.eval("read the key", `document.getElementById("key-hex").value`, &shown)
		k, err := identity.ParseHex(shown)
		if err != nil || k.Address().Hex() != addr || p.text("key-address") != addr {
			t.Errorf("shown key %q (err %v) is not that of %s (page shows %s)", shown, err, addr, p.text("key-address"))
		}
		importKey := func(text string) string {
			p.eval("type a key", fmt.Sprintf(`(() => { document.getElementById("key-input").value = %q; return true; })()`, text), nil)
			p.do("import", 5*time.Second, chromedp.Click(chromedp.ID("key-import")))
			var msg string
			waitFor(t, 10*time.Second, "import answered", func() error {
				msg = p.text("key-message")
				if !strings.HasPrefix(msg, "Imported") && !strings.HasPrefix(msg, "Not imported") {
					return fmt.Errorf("message %q", msg)
				}
				return nil
			})
			return msg
		}
		if msg := importKey("0x1234"); !strings.Contains(msg, "Not imported: not a contributor key") || p.text("key-address") != addr {
			t.Errorf("a short key: message %q, address now %s", msg, p.text("key-address"))
		}
		other, _ := identity.Generate()
		if msg := importKey(other.Hex()); !strings.Contains(msg, other.Address().Hex()) || p.text("key-address") != other.Address().Hex() {
			t.Errorf("importing %s: message %q, address shown %s", other.Address().Hex(), msg, p.text("key-address"))
		}
		var stored [2]string
		p.eval("read storage", `[localStorage.getItem("tessera.key"), localStorage.getItem("tessera.key.previous")]`, &stored)
		if stored[0] != other.Hex() || stored[1] != shown {
			t.Errorf("storage holds key %q and previous %q after the import", stored[0], stored[1])
		}
	})

	t.Run("Dashboard", func(t *testing.T) {
		p.do("open the dashboard", 20*time.Second, chromedp.Navigate(h.base+"/dashboard.html"))
		job := fmt.Sprintf(`#dash-jobs article[data-job-id=%q]`, h.jobID)
		waitFor(t, 60*time.Second, "the dashboard charts the running job", func() error {
			var got struct {
				State  string
				Points []int
				Inked  []int
			}
			p.eval("read the job", `(() => {
				const a = document.querySelector(`+jsString(job)+`);
				if (!a) return {state: "", points: [], inked: []};
				const boxes = [...a.querySelectorAll(".chart")];
				// Distinct colours drawn on each chart's canvas: a chart with
				// lines has many more than its background.
				const inked = boxes.map((b) => {
					const c = b.querySelector("canvas");
					if (!c || !c.width) return 0;
					const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
					const seen = new Set();
					for (let i = 0; i < d.length; i += 4) seen.add((d[i] << 24) | (d[i+1] << 16) | (d[i+2] << 8) | d[i+3]);
					return seen.size;
				});
				return {state: a.dataset.state, points: boxes.map((b) => Number(b.dataset.points)), inked};
			})()`, &got)
			if got.State != "running" || len(got.Points) != 2 || got.Points[0] < 2 || got.Points[1] < 2 {
				return fmt.Errorf("job %+v", got)
			}
			for _, n := range got.Inked {
				if n < 8 {
					return fmt.Errorf("a chart canvas has %d colours: nothing drawn (%+v)", n, got)
				}
			}
			return nil
		})
		if got := p.textAll(job); !strings.Contains(got, "cap 60%") {
			t.Errorf("job card %q does not show the exposure cap", got)
		}
		var epoch struct{ Root, TxHash string }
		var list struct {
			Epochs []struct {
				Model, State, Root, TxHash string
			}
		}
		getJSONTB(t, h.base+"/api/v1/epochs?model=matmul", &list)
		for _, e := range list.Epochs {
			if e.State == "committed" {
				epoch.Root, epoch.TxHash = e.Root, e.TxHash
			}
		}
		if epoch.Root == "" {
			t.Fatalf("no committed epoch in %+v", list)
		}
		waitFor(t, 20*time.Second, "the dashboard shows the committed epoch and the shares", func() error {
			epochs, shares := p.textAll(`#dash-epochs tr[data-state="committed"]`), p.textAll(`#dash-shares`)
			if !strings.Contains(epochs, epoch.Root) || !strings.Contains(epochs, epoch.TxHash) || !strings.Contains(epochs, "Committed") {
				return fmt.Errorf("epochs table %q, want root %s and tx %s", epochs, epoch.Root, epoch.TxHash)
			}
			if !strings.Contains(shares, addr) {
				return fmt.Errorf("shares %q do not list %s", shares, addr)
			}
			return nil
		})
		shot := p.screenshot()
		p.saveFull("dashboard")
		if n, bounds := distinctColors(t, shot, 64); n < 16 {
			t.Errorf("dashboard screenshot (%v) has only %d distinct colours", bounds.Size(), n)
		}
	})

	t.Run("NarrowScreens", func(t *testing.T) {
		p.checkNarrow(h.base + "/")
		p.checkNarrow(h.base + "/dashboard.html")
	})
}

// saveFull saves a screenshot of the whole page beside the path in
// TESSERA_SCREENSHOT, if set, for a person to look at.
func (p *page) saveFull(name string) {
	p.tb.Helper()
	path := os.Getenv("TESSERA_SCREENSHOT")
	if path == "" {
		return
	}
	ctx, cancel := context.WithTimeout(p.ctx, 10*time.Second)
	defer cancel()
	shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err == nil {
		err = os.WriteFile(strings.TrimSuffix(path, ".png")+"-"+name+".png", shot, 0o644)
	}
	if err != nil {
		p.tb.Errorf("save a screenshot of the %s: %v", name, err)
	}
}

// text returns the trimmed text of the element with the given id, or of
// the first match of a CSS selector (anything that is not a plain id).
func (p *page) text(sel string) string {
	p.tb.Helper()
	var s string
	p.eval("read "+sel, `(() => {
		const s = `+jsString(sel)+`;
		const e = /^[a-z][a-z0-9-]*$/.test(s) ? document.getElementById(s) : document.querySelector(s);
		return e ? e.textContent.trim() : "";
	})()`, &s)
	return s
}

// textAll returns the text of every match of a CSS selector, joined.
func (p *page) textAll(sel string) string {
	p.tb.Helper()
	var s string
	p.eval("read "+sel, `[...document.querySelectorAll(`+jsString(sel)+`)].map((e) => e.textContent).join("\n")`, &s)
	return s
}

func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func getJSONTB(tb testing.TB, url string, out any) {
	tb.Helper()
	resp, err := http.Get(url)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		tb.Fatalf("GET %s: HTTP %d: %s", url, resp.StatusCode, b)
	}
	if err := json.NewDecoder(bytes.NewReader(b)).Decode(out); err != nil {
		tb.Fatalf("GET %s: %v", url, err)
	}
}

// TestBrowserDashboardWithoutBundle serves the dashboard of a training hub
// without the bundled chart library (`make web` not run): the job is still
// shown, and each chart says in words what is missing.
func TestBrowserDashboardWithoutBundle(t *testing.T) {
	chrome := findChromium(t)
	spec := train.MNISTSpec()
	spec.Name = "no-bundle-mlp"
	spec.Model.Layers = []int{784, 32, 10}
	spec.TileCols = 16
	spec.MaxSteps = 1_000_000
	base, id := startTrainingHub(t, pageFS{dist: fstest.MapFS{"README.md": {Data: []byte("not built")}}}, spec)
	p := openBrowser(t, chrome)
	p.do("open the dashboard", 20*time.Second, chromedp.Navigate(base+"/dashboard.html"))
	job := fmt.Sprintf(`#dash-jobs article[data-job-id=%q]`, id)
	waitFor(t, 30*time.Second, "the dashboard shows the job and says the charts are not built", func() error {
		text := p.textAll(job)
		if !strings.Contains(text, spec.Name) || strings.Count(text, "make web") != 2 {
			return fmt.Errorf("job card %q", text)
		}
		return nil
	})
}
