package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/tessera-ai/tessera/hub"
	"github.com/tessera-ai/tessera/hub/train"
)

// jobBox is one checkbox of the page's "Models to train".
type jobBox struct {
	ID      string `json:"id"`
	Label   string `json:"label"`
	Checked bool   `json:"checked"`
}

// readBoxes reads the page's job checkboxes by job ID.
func readBoxes(p *page) map[string]jobBox {
	p.tb.Helper()
	var boxes []jobBox
	p.eval("read the job checkboxes", readJobBoxes, &boxes)
	m := map[string]jobBox{}
	for _, b := range boxes {
		m[b.ID] = b
	}
	return m
}

const readJobBoxes = `[...document.querySelectorAll("#job-choices input[name=job]")].map((i) => ({
	id: i.value, label: i.closest("label").textContent.trim(), checked: i.checked }))`

// TestBrowserChooseJobs runs two training jobs on a real hub: the page
// lists both with a checkbox each, checked; a visitor unchecks one with
// the keyboard and contributes, and the hub sees a hello that names only
// the other and leases the browser none of the unchecked job's tiles.
// Checking it again reaches the hub without a reload, and the choice
// survives one.
func TestBrowserChooseJobs(t *testing.T) {
	chrome := findChromium(t)
	spec := func(name string) train.Spec {
		s := train.MNISTSpec()
		s.Name, s.Model.Layers, s.TileCols, s.BatchSize = name, []int{784, 16, 10}, 8, 16
		s.MaxSteps, s.EvalEvery, s.CheckpointEvery, s.TargetAccuracy, s.ExposureCap = 1_000_000, 1000, 1000, 0, 1
		return s
	}
	base, alpha := startTrainingHub(t, pageFS{dist: os.DirFS(ensureWasm(t, repoRoot(t)))}, spec("alpha"))
	beta := adminCreateJob(t, base, spec("beta"))

	p := openBrowser(t, chrome)
	p.open(base + "/")
	waitFor(t, 15*time.Second, "the page lists the hub's two jobs, checked", func() error {
		boxes := readBoxes(p)
		if a, b := boxes[alpha], boxes[beta]; len(boxes) != 2 ||
			a.Label != "alpha (MLP)" || b.Label != "beta (MLP)" || !a.Checked || !b.Checked {
			return fmt.Errorf("checkboxes %+v", boxes)
		}
		return nil
	})

	betaBox := chromedp.CSS(`#job-choices input[value="` + beta + `"]`)
	p.do("uncheck beta with the keyboard", 5*time.Second, chromedp.Focus(betaBox), chromedp.KeyEvent(" "))
	if boxes := readBoxes(p); !boxes[alpha].Checked || boxes[beta].Checked {
		t.Fatalf("after Space on beta: %+v", boxes)
	}
	var status string
	p.eval("read the choice's status", `document.getElementById("job-choice-status").textContent`, &status)
	if status != "Working for alpha only." {
		t.Errorf("choice status %q", status)
	}
	p.do("click Contribute", 5*time.Second, chromedp.Click(chromedp.ID("contribute")))

	row := waitBrowserRow(t, base, "a hello naming alpha only and a tile of alpha leased", func(r hub.ContributorStatus) error {
		if !slices.Equal(r.Jobs, []string{alpha}) || r.LeasedByJob[alpha] == 0 {
			return fmt.Errorf("jobs %v, leased %v", r.Jobs, r.LeasedByJob)
		}
		return nil
	})
	if n := row.LeasedByJob[beta]; n != 0 {
		t.Errorf("the browser chose alpha only and was leased %d tiles of beta", n)
	}

	p.do("check beta again", 5*time.Second, chromedp.Click(betaBox))
	waitBrowserRow(t, base, "the new choice (every job) at the hub", func(r hub.ContributorStatus) error {
		if len(r.Jobs) != 0 {
			return fmt.Errorf("jobs %v", r.Jobs)
		}
		return nil
	})

	alphaBox := chromedp.CSS(`#job-choices input[value="` + alpha + `"]`)
	p.do("uncheck alpha", 5*time.Second, chromedp.Click(alphaBox))
	p.open(base + "/")
	waitFor(t, 15*time.Second, "the choice remembered after a reload", func() error {
		if boxes := readBoxes(p); len(boxes) != 2 || boxes[alpha].Checked || !boxes[beta].Checked {
			return fmt.Errorf("checkboxes %+v", boxes)
		}
		return nil
	})
}

// waitBrowserRow waits until the hub's row for the connected browser
// contributor passes check, and returns it.
func waitBrowserRow(tb testing.TB, base, what string, check func(hub.ContributorStatus) error) hub.ContributorStatus {
	tb.Helper()
	var row hub.ContributorStatus
	waitFor(tb, 60*time.Second, what, func() error {
		st, err := fetchStatus(base)
		if err != nil {
			return err
		}
		for _, r := range st.Contributors {
			if r.Connected && strings.HasPrefix(r.Agent, "tessera-browser/") {
				row = r
				return check(r)
			}
		}
		return fmt.Errorf("no browser connected among %d contributors", len(st.Contributors))
	})
	return row
}

// adminCreateJob creates a job through the hub's admin API (the token
// startTrainingHub sets) and returns its ID.
func adminCreateJob(tb testing.TB, base string, spec train.Spec) string {
	tb.Helper()
	body, err := json.Marshal(spec)
	if err != nil {
		tb.Fatal(err)
	}
	req, _ := http.NewRequest("POST", base+"/api/v1/admin/jobs", strings.NewReader(string(body)))
	req.Header.Set("Authorization", "Bearer browser-test-admin-token-not-used-by-this-test")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out struct {
		ID string `json:"id"`
	}
	if resp.StatusCode/100 != 2 || json.Unmarshal(raw, &out) != nil || out.ID == "" {
		tb.Fatalf("create job %s: HTTP %s: %s", spec.Name, resp.Status, raw)
	}
	return out.ID
}
