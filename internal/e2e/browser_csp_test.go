package e2e

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/security"
	"github.com/chromedp/chromedp"
)

// recordViolations makes every document the page loads from now on keep
// the Content-Security-Policy violations it sees in window.cspViolations.
// The script is injected by the browser, so the policy does not apply to
// it.
func (p *page) recordViolations() {
	p.tb.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 10*time.Second)
	defer cancel()
	_, err := chromedp.Call(ctx, cdppage.AddScriptToEvaluateOnNewDocument, cdppage.AddScriptToEvaluateOnNewDocumentParams{Source: `
		window.cspViolations = [];
		document.addEventListener("securitypolicyviolation", (e) => {
			window.cspViolations.push(e.effectiveDirective + " blocked " + (e.blockedURI || "inline code") +
				" (" + e.sourceFile + ":" + e.lineNumber + ")");
		});`})
	if err != nil {
		p.tb.Fatalf("install the CSP violation recorder: %v", err)
	}
}

// violations returns what the current document's policy refused so far.
// (The securitypolicyviolation event is the reliable report: Chromium's
// console does not mention every violation, e.g. a blocked WebAssembly
// compilation only surfaces as the page's own error.)
func (p *page) violations() []string {
	p.tb.Helper()
	var v []string
	p.eval("read CSP violations", `window.cspViolations || ["the recorder is missing"]`, &v)
	return v
}

// TestBrowserCSP loads the contributor page and the dashboard in headless
// Chromium with the hub's real headers and fails on any violation of the
// Content-Security-Policy, while the page does all it does: loads and
// compiles the WebAssembly client, contributes over the websocket, shows
// credit, checks a proof through the RPC proxy and offers the key for
// download; the dashboard draws its
// charts; an https copy of the page contributes over wss. A control run with 'wasm-unsafe-eval' taken out of the policy
// shows that a violation would be caught.
func TestBrowserCSP(t *testing.T) {
	chrome := findChromium(t)
	root := repoRoot(t)
	dist := ensureWasm(t, root)
	ensureBundle(t, root)
	h := startSiteHub(t, pageFS{dist: os.DirFS(dist)})
	p := openBrowser(t, chrome)
	p.recordViolations()

	t.Run("ContributorPage", func(t *testing.T) {
		p.open(h.base + "/")
		var csp string
		p.eval("read the page's policy", `fetch(location.href).then((r) => r.headers.get("Content-Security-Policy"))`, &csp)
		if !strings.Contains(csp, "default-src 'self'") {
			t.Fatalf("the page came with Content-Security-Policy %q", csp)
		}
		p.do("click Contribute", 5*time.Second, chromedp.Click(chromedp.ID("contribute")))
		waitFor(t, 60*time.Second, "the page contributes", func() error {
			if n := p.tasksDone(); n == 0 {
				return fmt.Errorf("no task done yet (state %q)", p.text("state-line"))
			}
			return nil
		})
		waitVerified(t, p, h.base, "webgpu")

		h.admin(t, "POST", "/api/v1/admin/commit", "", http.StatusOK, nil)
		card := `#models article[data-model="matmul"]`
		waitFor(t, 30*time.Second, "the page shows the proof", func() error {
			if root := p.text(card + " .root"); !strings.HasPrefix(root, "0x") {
				return fmt.Errorf("root %q", root)
			}
			return nil
		})
		p.do("check on chain", 5*time.Second, chromedp.Click(card+" button.check"))
		waitFor(t, 20*time.Second, "the proof checks valid through the RPC proxy", func() error {
			if got := p.text(card + " .check-result"); !strings.HasPrefix(got, "Valid:") {
				return fmt.Errorf("check result %q", got)
			}
			return nil
		})
		// The key download is a blob: link, which the policy must not
		// block either.
		p.do("download the key", 5*time.Second, chromedp.Click(chromedp.ID("key-download")))
		if v := p.violations(); len(v) > 0 {
			t.Errorf("the contributor page broke its policy:\n%s", strings.Join(v, "\n"))
		}
	})

	t.Run("Dashboard", func(t *testing.T) {
		p.do("open the dashboard", 20*time.Second, chromedp.Navigate(h.base+"/dashboard.html"))
		job := fmt.Sprintf(`#dash-jobs article[data-job-id=%q]`, h.jobID)
		waitFor(t, 60*time.Second, "the dashboard charts the job", func() error {
			var points []int
			p.eval("read the charts", `[...document.querySelectorAll(`+jsString(job+" .chart")+`)].map((b) => Number(b.dataset.points))`, &points)
			if len(points) != 2 || points[0] < 2 || points[1] < 2 {
				return fmt.Errorf("chart points %v", points)
			}
			return nil
		})
		if v := p.violations(); len(v) > 0 {
			t.Errorf("the dashboard broke its policy:\n%s", strings.Join(v, "\n"))
		}
	})

	t.Run("SecureOrigin", func(t *testing.T) {
		// Outside localhost the page comes over https and the client
		// connects with wss://, which 'self' must cover too. A TLS front
		// passing the hub's headers through stands in for the hub's own
		// TLS listener (tested natively in hub/service).
		target, _ := url.Parse(h.base)
		front := httptest.NewUnstartedServer(httputil.NewSingleHostReverseProxy(target))
		// Chromium's first tries, before it ignores certificate errors,
		// are refused handshakes: not worth a line each.
		front.Config.ErrorLog = log.New(io.Discard, "", 0)
		front.StartTLS()
		defer front.Close()
		ctx, cancel := context.WithTimeout(p.ctx, 10*time.Second)
		defer cancel()
		if _, err := chromedp.Call(ctx, security.SetIgnoreCertificateErrors, security.SetIgnoreCertificateErrorsParams{Ignore: true}); err != nil {
			t.Fatalf("trust the test certificate: %v", err)
		}
		p.open(front.URL + "/")
		p.do("click Contribute", 5*time.Second, chromedp.Click(chromedp.ID("contribute")))
		waitFor(t, 60*time.Second, "the https page contributes over wss", func() error {
			if n := p.tasksDone(); n == 0 {
				return fmt.Errorf("no task done yet (state %q)", p.text("state-line"))
			}
			return nil
		})
		var proto string
		p.eval("read the protocol", `location.protocol`, &proto)
		if proto != "https:" {
			t.Fatalf("the page was loaded over %q", proto)
		}
		if v := p.violations(); len(v) > 0 {
			t.Errorf("the https page broke its policy:\n%s", strings.Join(v, "\n"))
		}
	})

	t.Run("ViolationCaught", func(t *testing.T) {
		target, _ := url.Parse(h.base)
		proxy := httputil.NewSingleHostReverseProxy(target)
		proxy.ModifyResponse = func(r *http.Response) error {
			if csp := r.Header.Get("Content-Security-Policy"); csp != "" {
				r.Header.Set("Content-Security-Policy", strings.Replace(csp, " 'wasm-unsafe-eval'", "", 1))
			}
			return nil
		}
		strict := httptest.NewServer(proxy)
		defer strict.Close()
		p.do("open the page under a stricter policy", 20*time.Second, chromedp.Navigate(strict.URL+"/"))
		waitFor(t, 30*time.Second, "the recorder reports the blocked compilation", func() error {
			for _, v := range p.violations() {
				if strings.Contains(v, "script-src") {
					return nil
				}
			}
			return fmt.Errorf("violations %q", p.violations())
		})
	})
}
