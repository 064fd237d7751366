package e2e

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// page drives one tab of headless Chromium.
type page struct {
	tb      testing.TB
	ctx     context.Context // the chromedp context; lives as long as the test
	mu      sync.Mutex
	console []string // what the page wrote to its console
}

// openBrowser starts headless Chromium with WebGPU enabled (SwiftShader
// where there is no GPU). The browser stops with the test.
func openBrowser(tb testing.TB, chrome string) *page {
	tb.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chrome),
		chromedp.Flag("headless", "new"),
		chromedp.Flag("enable-unsafe-webgpu", true),
		chromedp.NoSandbox,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.NoFirstRun,
		chromedp.WindowSize(1000, 800),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	bctx, cancelBrowser := chromedp.NewContext(allocCtx)
	tb.Cleanup(cancelAlloc)
	tb.Cleanup(cancelBrowser)
	p := &page{tb: tb, ctx: bctx}

	msgs := chromedp.Console(bctx) // starts the browser
	go func() {
		for m, err := range msgs {
			if err != nil {
				return
			}
			p.mu.Lock()
			p.console = append(p.console, m.String())
			p.mu.Unlock()
		}
	}()
	ctx, cancel := context.WithTimeout(bctx, 30*time.Second)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`typeof navigator === "object"`)); err != nil {
		tb.Fatalf("start Chromium %s: %v", chrome, err)
	}
	// chromedp enables the Network domain, which reports every websocket
	// frame with its payload in base64: with the client's task traffic, the
	// decoding alone falls far behind under -race and delays every command.
	// Nothing here needs network events.
	if err := chromedp.Do(ctx, chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, network.Disable, cdp.Empty{})
		return err
	})); err != nil {
		tb.Fatalf("disable network events: %v", err)
	}
	return p
}

// Console returns what the page wrote to its console so far.
func (p *page) Console() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Join(p.console, "\n")
}

// do runs steps within timeout and fails the test on error.
func (p *page) do(what string, timeout time.Duration, steps ...chromedp.Action[chromedp.Void]) {
	p.tb.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, timeout)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		p.tb.Fatalf("%s: %v\nbrowser console:\n%s", what, err, p.Console())
	}
}

// open loads url and waits for the Contribute button to be enabled, that
// is, for the client to be loaded.
func (p *page) open(url string) {
	p.tb.Helper()
	p.do("load "+url, 20*time.Second,
		chromedp.Navigate(url),
		chromedp.WaitEnabled(chromedp.ID("contribute")),
	)
}

// pageState is what the test reads from the contributor page.
type pageState struct {
	Backend     string    `json:"backend"`     // the #backend text
	DataBackend string    `json:"dataBackend"` // body[data-backend]
	Device      string    `json:"device"`
	State       string    `json:"state"` // body[data-state]
	StateLine   string    `json:"stateLine"`
	Address     string    `json:"address"`
	Error       string    `json:"error"` // the visible error box, or ""
	Fallback    string    `json:"fallback"`
	Tasks       string    `json:"tasks"`
	Button      string    `json:"button"`
	Training    string    `json:"training"` // the Training section's status line
	Jobs        []jobCard `json:"jobs"`     // the Training section's jobs, in order
	Stats       jsStats   `json:"stats"`    // await tessera.stats()
}

// jobCard is what the Training section shows for one job.
type jobCard struct {
	ID       string  `json:"id"` // article[data-job-id]
	Name     string  `json:"name"`
	Steps    string  `json:"steps"` // e.g. "1,234 of 3,000 (41.1%)"
	Bar      float64 `json:"bar"`   // the progress bar's value
	BarMax   float64 `json:"barMax"`
	State    string  `json:"state"`
	Accuracy string  `json:"accuracy"`
	Loss     string  `json:"loss"`
	Speed    string  `json:"speed"`
	Exposure string  `json:"exposure"`
	Error    string  `json:"error"` // "" when hidden
}

// jsStats is part of the object tessera.stats() resolves to.
type jsStats struct {
	State     string  `json:"state"`
	Backend   string  `json:"backend"`
	Adapter   string  `json:"adapter"`
	Variant   string  `json:"variant"`
	TasksDone int     `json:"tasksDone"`
	Accepted  int     `json:"accepted"`
	Refused   int     `json:"refused"`
	GFLOPS    float64 `json:"gflops"`
	Fallback  string  `json:"fallback"`
	LastError string  `json:"lastError"`
}

const readPage = `(async () => {
	const text = (id) => document.getElementById(id).textContent.trim();
	const shown = (id) => document.getElementById(id).hidden ? "" : text(id);
	return {
		backend: text("backend"),
		dataBackend: document.body.dataset.backend || "",
		device: text("device"),
		state: document.body.dataset.state || "",
		stateLine: text("state-line"),
		address: text("address"),
		error: shown("error"),
		fallback: shown("fallback"),
		tasks: text("tasks"),
		button: text("contribute"),
		training: text("training-status"),
		jobs: [...document.querySelectorAll("#jobs .job")].map((el) => {
			const dd = (label) => {
				const dt = [...el.querySelectorAll("dt")].find((d) => d.textContent.startsWith(label));
				return dt ? dt.nextElementSibling.textContent.trim() : "";
			};
			const bar = el.querySelector("progress");
			const err = el.querySelector(".error");
			return {
				id: el.dataset.jobId || "",
				name: el.querySelector("h3").textContent.trim(),
				steps: dd("Steps"),
				bar: bar ? bar.value : -1,
				barMax: bar ? bar.max : -1,
				state: dd("State"),
				accuracy: dd("Test accuracy"),
				loss: dd("Last training loss"),
				speed: dd("Time per step"),
				exposure: dd("Exposure"),
				error: err && !err.hidden ? err.textContent.trim() : "",
			};
		}),
		stats: globalThis.tessera ? await globalThis.tessera.stats() : {},
	};
})()`

// hideWebGPU is a script that makes a page see a browser without WebGPU.
const hideWebGPU = `Object.defineProperty(Navigator.prototype, "gpu", {get: () => undefined, configurable: true});`

// beforeLoad makes the tab run script at the start of every page it loads.
func (p *page) beforeLoad(script string) {
	p.tb.Helper()
	p.do("add a script to new pages", 5*time.Second, chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, cdppage.AddScriptToEvaluateOnNewDocument,
			cdppage.AddScriptToEvaluateOnNewDocumentParams{Source: script})
		return err
	}))
}

// read returns the page's state.
func (p *page) read() (pageState, error) {
	ctx, cancel := context.WithTimeout(p.ctx, 5*time.Second)
	defer cancel()
	return chromedp.Run(ctx, chromedp.Evaluate[pageState](readPage, chromedp.EvalAwaitPromise))
}

// wasmTransfer returns the bytes the page received for the client
// (dist/tessera.wasm) and its size after decoding, from Resource Timing.
func (p *page) wasmTransfer() (encoded, decoded float64, err error) {
	ctx, cancel := context.WithTimeout(p.ctx, 5*time.Second)
	defer cancel()
	sizes, err := chromedp.Run(ctx, chromedp.Evaluate[[]float64](`(() => {
		const e = performance.getEntriesByType("resource").find((r) => new URL(r.name).pathname === "/dist/tessera.wasm");
		return e ? [e.encodedBodySize, e.decodedBodySize] : [0, 0];
	})()`))
	if err != nil {
		return 0, 0, err
	}
	return sizes[0], sizes[1], nil
}

// screenshot captures the viewport as PNG.
func (p *page) screenshot() []byte {
	p.tb.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 10*time.Second)
	defer cancel()
	shot, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		p.tb.Fatalf("screenshot: %v", err)
	}
	return shot
}
