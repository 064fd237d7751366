package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tessera-ai/tessera/hub/lm"
	"github.com/tessera-ai/tessera/hub/train"
	"github.com/tessera-ai/tessera/internal/safetensors"
)

// Inference through a real hub and real edge processes: run by
// TestLanguageModelWithEdges once its job is trained, while its two
// lavapipe edges are still connected, so the model need not be trained
// twice.

// adminCall sends an admin API request with the hub's token and decodes
// the answer into out (if not nil), failing unless the status is want.
func adminCall(tb testing.TB, base, data, method, path, body string, want int, out any) {
	tb.Helper()
	tok, err := os.ReadFile(filepath.Join(data, "admin.token"))
	if err != nil {
		tb.Fatalf("admin token: %v", err)
	}
	req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(tok)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		tb.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, raw)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			tb.Fatalf("%s %s: %v: %s", method, path, err, raw)
		}
	}
}

// createAPIKey creates an inference key and returns its token.
func createAPIKey(tb testing.TB, base, data, name string) string {
	var out struct {
		Key string `json:"key"`
	}
	adminCall(tb, base, data, "POST", "/api/v1/admin/keys", `{"name":"`+name+`","price_per_1k_tokens_wei":"1000"}`, 201, &out)
	return out.Key
}

// exportedModel loads the job's exported weights into a local model.
func exportedModel(tb testing.TB, base, id string, spec train.Spec) *lm.Model {
	tb.Helper()
	resp, err := http.Get(base + "/api/v1/jobs/" + id + "/weights")
	if err != nil {
		tb.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	f, err := safetensors.Read(raw)
	if err != nil {
		tb.Fatalf("weights: %d: %v", resp.StatusCode, err)
	}
	var ts []safetensors.Tensor
	for _, name := range f.Names() {
		t, err := f.Float32(name)
		if err != nil {
			tb.Fatal(err)
		}
		ts = append(ts, t)
	}
	m, err := lm.NewModel(lm.Config{Layers: spec.Model.NLayer, Embd: spec.Model.NEmbd, Heads: spec.Model.NHead,
		Context: spec.Model.NPositions, TileCols: spec.TileCols, AttnBatch: spec.Model.AttnBatch}, 0)
	if err != nil {
		tb.Fatal(err)
	}
	if err := m.LoadTensors(ts); err != nil {
		tb.Fatal(err)
	}
	return m
}

// completion is the part of a /v1/completions answer the tests read.
type completion struct {
	ID      string `json:"id"`
	Choices []struct {
		Text         string `json:"text"`
		FinishReason string `json:"finish_reason"`
	} `json:"choices"`
	Usage struct {
		PromptTokens     int `json:"prompt_tokens"`
		CompletionTokens int `json:"completion_tokens"`
		TotalTokens      int `json:"total_tokens"`
	} `json:"usage"`
}

// complete posts a greedy completion request.
func complete(base, key, model, prompt string, maxTokens int) (completion, error) {
	body, _ := json.Marshal(map[string]any{"model": model, "prompt": prompt, "max_tokens": maxTokens, "temperature": 0})
	req, _ := http.NewRequest("POST", base+"/v1/completions", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return completion{}, err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		return completion{}, fmt.Errorf("%d %s", resp.StatusCode, raw)
	}
	var c completion
	if err := json.Unmarshal(raw, &c); err != nil || len(c.Choices) != 1 {
		return completion{}, fmt.Errorf("answer %s: %v", raw, err)
	}
	return c, nil
}

// streamText posts a streamed greedy completion and returns its text, or
// an error if the stream is not OpenAI's (chunks, then [DONE]).
func streamText(base, key, model, prompt string, maxTokens int) (string, error) {
	body, _ := json.Marshal(map[string]any{"model": model, "prompt": prompt, "max_tokens": maxTokens, "temperature": 0, "stream": true})
	req, _ := http.NewRequest("POST", base+"/v1/completions", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		raw, _ := io.ReadAll(resp.Body)
		return "", fmt.Errorf("%d %s", resp.StatusCode, raw)
	}
	var text strings.Builder
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		data, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok {
			continue
		}
		if data == "[DONE]" {
			return text.String(), nil
		}
		var c completion
		if err := json.Unmarshal([]byte(data), &c); err != nil {
			return "", fmt.Errorf("chunk %q: %v", data, err)
		}
		for _, ch := range c.Choices {
			text.WriteString(ch.Text)
		}
	}
	return "", fmt.Errorf("the stream ended without [DONE] after %q", text.String())
}

// greedyText is the local decoder's greedy continuation of prompt, cut at
// the end-of-text token as the API cuts it.
func greedyText(tb testing.TB, m *lm.Model, prompt string, n int) string {
	s, err := lm.NewSampler(0, 1, 0)
	if err != nil {
		tb.Fatal(err)
	}
	out := m.Generate([]byte(prompt), n, s)
	if k := bytes.IndexByte(out, 0); k >= 0 {
		out = out[:k]
	}
	return string(out)
}

// checkCompletionsThroughEdges: greedy completions of the trained job,
// computed by the edges, equal the local decoder's on its exported
// weights, streamed or not, with concurrent requests batched together.
func checkCompletionsThroughEdges(t *testing.T, base, data, id string, spec train.Spec) (key string) {
	key = createAPIKey(t, base, data, "e2e")
	m := exportedModel(t, base, id, spec)
	prompts := []string{"func (b *Builder) ", "package strings\n\nimport (", "// Index returns", "\tfor i := 0; i < len(s); i++ {"}
	const n = 80 // past the context of 64: the window slides
	var wg sync.WaitGroup
	got := make([]completion, len(prompts))
	errs := make([]error, len(prompts))
	began := time.Now()
	for i, p := range prompts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got[i], errs[i] = complete(base, key, spec.Name, p, n)
		}()
	}
	wg.Wait()
	t.Logf("%d concurrent completions of %d tokens through the edges in %v", len(prompts), n, time.Since(began).Round(time.Millisecond))
	for i, p := range prompts {
		if errs[i] != nil {
			t.Fatalf("prompt %q: %v", p, errs[i])
		}
		want := greedyText(t, m, p, n)
		if c := got[i]; c.Choices[0].Text != want || c.Usage.PromptTokens != len(p) || c.Usage.TotalTokens != len(p)+c.Usage.CompletionTokens {
			t.Errorf("prompt %q:\n got %q (usage %+v)\nwant %q", p, c.Choices[0].Text, c.Usage, want)
		}
	}
	t.Logf("through the edges: %q → %q", prompts[0], got[0].Choices[0].Text)
	streamed, err := streamText(base, key, spec.Name, prompts[1], n)
	if want := greedyText(t, m, prompts[1], n); err != nil || streamed != want {
		t.Errorf("streamed: %q (%v), want %q", streamed, err, want)
	}
	var usage struct {
		Engines map[string]struct {
			MaxBatch uint64 `json:"max_batch"`
		} `json:"engines"`
	}
	getJSONTB(t, base+"/api/v1/usage", &usage)
	if e := usage.Engines[spec.Name]; e.MaxBatch < 2 {
		t.Errorf("concurrent requests were not batched: %+v", usage.Engines)
	}
	var keys struct {
		Keys []struct {
			Requests int64  `json:"requests"`
			Wei      string `json:"wei"`
		} `json:"keys"`
	}
	adminCall(t, base, data, "GET", "/api/v1/admin/keys", "", 200, &keys)
	if len(keys.Keys) != 1 || keys.Keys[0].Requests != int64(len(prompts)+1) || keys.Keys[0].Wei == "0" {
		t.Errorf("metered: %+v", keys.Keys)
	}
	return key
}

// checkMeteringSurvivesKill fires completions at the hub, SIGKILLs it
// while some are in flight, restarts it (owned by owner, which outlives
// t), and checks that every request answered before the kill is in the
// ledger.
func checkMeteringSurvivesKill(t *testing.T, owner testing.TB, bins, hostPort string, args []string, hubProc **proc, data, key, model string) {
	base := "http://" + hostPort
	var before struct {
		Keys []struct {
			Requests         int64 `json:"requests"`
			PromptTokens     int64 `json:"prompt_tokens"`
			CompletionTokens int64 `json:"completion_tokens"`
		} `json:"keys"`
	}
	adminCall(t, base, data, "GET", "/api/v1/admin/keys", "", 200, &before)
	var mu sync.Mutex
	var answered []completion
	var wg sync.WaitGroup
	ctx, cancel := context.WithCancel(context.Background())
	for i := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				c, err := complete(base, key, model, fmt.Sprintf("func f%d() {", i), 12+i)
				if err != nil {
					return
				}
				mu.Lock()
				answered = append(answered, c)
				mu.Unlock()
			}
		}()
	}
	for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(10 * time.Millisecond) {
		mu.Lock()
		n := len(answered)
		mu.Unlock()
		if n >= 8 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("only %d completions answered in 2 minutes", n)
		}
	}
	(*hubProc).sigkill()
	cancel()
	wg.Wait()
	*hubProc, _ = startHubOn(owner, bins, hostPort, args)
	var after struct {
		Keys []struct {
			Requests         int64 `json:"requests"`
			PromptTokens     int64 `json:"prompt_tokens"`
			CompletionTokens int64 `json:"completion_tokens"`
		} `json:"keys"`
	}
	adminCall(t, base, data, "GET", "/api/v1/admin/keys", "", 200, &after)
	var tokens int64
	for _, c := range answered {
		tokens += int64(c.Usage.TotalTokens)
	}
	b, a := before.Keys[0], after.Keys[0]
	gotReq, gotTok := a.Requests-b.Requests, a.PromptTokens+a.CompletionTokens-b.PromptTokens-b.CompletionTokens
	t.Logf("killed the hub with %d completions answered: %d requests and %d tokens metered since (answered: %d tokens)", len(answered), gotReq, gotTok, tokens)
	// Requests in flight at the kill may be metered too (their usage was
	// durable, the answer lost): never fewer than answered.
	if gotReq < int64(len(answered)) || gotTok < tokens {
		t.Errorf("metering lost work across the kill: %d requests / %d tokens metered for %d / %d answered", gotReq, gotTok, len(answered), tokens)
	}
}

// checkRevenueClaims commits an epoch holding the metered revenue of job
// id, funds its vault, and has each edge claim its share with
// `tessera-edge claim` (relayed by the hub): each is paid exactly what its
// earnings proof states, a second claim pays nothing, and the shares add
// up to no more than the revenue.
func checkRevenueClaims(t *testing.T, bins, base, data, id string, keyFiles []string) {
	commit(t, base, data)
	var usage struct {
		Models []struct {
			Model      string `json:"model"`
			RevenueWei string `json:"revenue_wei"`
		} `json:"models"`
	}
	getJSONTB(t, base+"/api/v1/usage", &usage)
	revenue := new(big.Int)
	for _, m := range usage.Models {
		if m.Model == id {
			revenue.SetString(m.RevenueWei, 10)
		}
	}
	if revenue.Sign() <= 0 {
		t.Fatalf("no revenue metered for %s: %+v", id, usage.Models)
	}
	adminCall(t, base, data, "POST", "/api/v1/admin/deposit", fmt.Sprintf(`{"model":%q,"wei":"%s"}`, id, revenue), 200, nil)
	ws := "ws" + strings.TrimPrefix(base, "http") + "/ws"
	var job struct {
		Name string `json:"name"`
	}
	getJSONTB(t, base+"/api/v1/jobs/"+id, &job)
	owedSum := new(big.Int)
	for _, kf := range keyFiles {
		addrOut, _, _ := runEdge(t, bins, "--key", kf, "--print-address")
		addr := strings.TrimSpace(addrOut)
		owed := earningsOf(t, base, addr, id)
		if owed.Sign() <= 0 {
			t.Fatalf("%s is owed nothing of %s wei", addr, revenue)
		}
		owedSum.Add(owedSum, owed)
		out, errOut, code := runEdge(t, bins, "claim", "--hub", ws, "--key", kf, "--json")
		var rep struct {
			Claims []struct {
				Model   string `json:"model"`
				Name    string `json:"name"`
				PaidWei string `json:"paid_wei"`
			} `json:"claims"`
		}
		if code != 0 || json.Unmarshal([]byte(out), &rep) != nil || len(rep.Claims) != 1 || rep.Claims[0].PaidWei != owed.String() {
			t.Fatalf("tessera-edge claim for %s (owed %s): exit %d\n%s\n%s", addr, owed, code, out, errOut)
		}
		if rep.Claims[0].Name != job.Name {
			t.Errorf("claim names the model %q, want its job's name %q", rep.Claims[0].Name, job.Name)
		}
		out, _, code = runEdge(t, bins, "claim", "--hub", ws, "--key", kf)
		if code != 0 || !strings.Contains(out, "nothing to claim") || !strings.Contains(out, job.Name+" ("+id+"): ") {
			t.Errorf("second claim for %s: exit %d: %s", addr, code, out)
		}
		var after struct {
			Models []struct {
				Model        string `json:"model"`
				ClaimedWei   string `json:"claimed_wei"`
				ClaimableWei string `json:"claimable_wei"`
			} `json:"models"`
		}
		getJSONTB(t, base+"/api/v1/earnings?address="+addr, &after)
		if len(after.Models) != 1 || after.Models[0].ClaimedWei != owed.String() || after.Models[0].ClaimableWei != "0" {
			t.Errorf("after the claim, the contract says %+v (owed %s)", after.Models, owed)
		}
		t.Logf("%s claimed %s wei of the model's %s wei revenue", addr, owed, revenue)
	}
	if owedSum.Cmp(revenue) > 0 {
		t.Errorf("owners are owed %s wei of %s wei revenue", owedSum, revenue)
	}
}

// earningsOf returns what address is owed in model (GET /api/v1/earnings).
func earningsOf(t *testing.T, base, address, model string) *big.Int {
	var out struct {
		Models []struct {
			Model   string `json:"model"`
			OwedWei string `json:"owed_wei"`
		} `json:"models"`
	}
	getJSONTB(t, base+"/api/v1/earnings?address="+address, &out)
	for _, m := range out.Models {
		if m.Model == model {
			n, _ := new(big.Int).SetString(m.OwedWei, 10)
			return n
		}
	}
	return new(big.Int)
}
