package openai

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tessera-ai/tessera/hub"
	"github.com/tessera-ai/tessera/hub/infer"
	"github.com/tessera-ai/tessera/hub/infer/infertest"
	"github.com/tessera-ai/tessera/hub/ledger"
	"github.com/tessera-ai/tessera/hub/lm"
	"github.com/tessera-ai/tessera/hub/train"
	"github.com/tessera-ai/tessera/hub/train/tile"
)

// backend is a Backend over a real ledger (SQLite file) and real engines
// serving one trained model; exec computes its tiles.
type backend struct {
	*ledger.Ledger
	pool  *infer.Pool
	model *lm.Model
}

func (b *backend) Models(context.Context) ([]Model, error) {
	return []Model{{ID: "go", Created: time.Unix(1700000000, 0), Context: b.model.Config().Context}}, nil
}

func (b *backend) Submit(ctx context.Context, model string, req infer.Request) (*infer.Completion, error) {
	return b.pool.Submit(ctx, model, req)
}

// serve starts the API over a model whose tiles exec computes, with a
// key "k" (price 1000 wei per 1k tokens, limit rate per minute).
func serve(t *testing.T, m *lm.Model, exec tile.Executor, cfg infer.Config, rate int) (*httptest.Server, string, *ledger.Ledger) {
	t.Helper()
	led, err := ledger.Open(context.Background(), filepath.Join(t.TempDir(), "ledger.db"), ledger.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { led.Close() })
	tok, _, err := led.CreateKey(context.Background(), "k", big.NewInt(1000), rate)
	if err != nil {
		t.Fatal(err)
	}
	pool := infer.NewPool(infertest.Source{Name: "go", Model: m, Step: 3, Exec: exec}, cfg)
	t.Cleanup(pool.Close)
	mux := http.NewServeMux()
	New(&backend{Ledger: led, pool: pool, model: m}, Config{Logger: slog.New(slog.DiscardHandler)}).Routes(func(p string, h http.Handler) { mux.Handle(p, h) })
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv, tok, led
}

// call posts body to path with key and decodes the JSON answer.
func call(t *testing.T, srv *httptest.Server, key, method, path, body string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatalf("%s %s: %d, body not JSON: %v", method, path, resp.StatusCode, err)
	}
	return resp.StatusCode, out
}

// TestCompletionAPIShapes: /v1/models, a completion, a chat completion and
// a streamed completion have OpenAI's shapes, greedy text equals the local
// decoder's, and every request is metered at the key's price.
func TestCompletionAPIShapes(t *testing.T) {
	m := infertest.Model(t)
	srv, key, led := serve(t, m, tile.NewLocal(1), infer.Config{}, 0)
	code, models := call(t, srv, key, "GET", "/v1/models", "")
	if data, _ := models["data"].([]any); code != 200 || models["object"] != "list" || len(data) != 1 || data[0].(map[string]any)["id"] != "go" || data[0].(map[string]any)["object"] != "model" {
		t.Fatalf("models: %d %v", code, models)
	}
	s, _ := lm.NewSampler(0, 1, 0)
	want := string(m.Generate([]byte("func"), 20, s))
	code, out := call(t, srv, key, "POST", "/v1/completions", `{"model":"go","prompt":"func","max_tokens":20,"temperature":0}`)
	ch := out["choices"].([]any)[0].(map[string]any)
	usage := out["usage"].(map[string]any)
	if code != 200 || out["object"] != "text_completion" || !strings.HasPrefix(out["id"].(string), "cmpl-") || ch["text"] != want ||
		ch["finish_reason"] != "length" || usage["prompt_tokens"] != 4.0 || usage["completion_tokens"] != 20.0 || usage["total_tokens"] != 24.0 {
		t.Fatalf("completion: %d %v (want text %q)", code, out, want)
	}
	code, out = call(t, srv, key, "POST", "/v1/chat/completions", `{"model":"go","messages":[{"role":"user","content":[{"type":"text","text":"hi"}]}],"max_completion_tokens":5,"seed":1}`)
	ch = out["choices"].([]any)[0].(map[string]any)
	if msg, _ := ch["message"].(map[string]any); code != 200 || out["object"] != "chat.completion" || msg["role"] != "assistant" || msg["content"] == nil {
		t.Fatalf("chat: %d %v", code, out)
	}
	// Streaming: chunks then the usage chunk then [DONE].
	resp, err := http.DefaultClient.Do(authed(srv.URL+"/v1/completions", key,
		`{"model":"go","prompt":"func","max_tokens":20,"temperature":0,"stream":true,"stream_options":{"include_usage":true}}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); resp.StatusCode != 200 || ct != "text/event-stream" {
		t.Fatalf("stream: %d %s", resp.StatusCode, ct)
	}
	var text strings.Builder
	var finish any
	var lastUsage map[string]any
	done := false
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			continue
		}
		data, ok := strings.CutPrefix(line, "data: ")
		if !ok || done {
			t.Fatalf("stream line %q (after [DONE]: %v)", line, done)
		}
		if data == "[DONE]" {
			done = true
			continue
		}
		var c map[string]any
		if err := json.Unmarshal([]byte(data), &c); err != nil {
			t.Fatal(err)
		}
		if u, ok := c["usage"].(map[string]any); ok {
			lastUsage = u
		}
		for _, x := range c["choices"].([]any) {
			x := x.(map[string]any)
			text.WriteString(x["text"].(string))
			if x["finish_reason"] != nil {
				finish = x["finish_reason"]
			}
		}
	}
	if !done || text.String() != want || finish != "length" || lastUsage == nil || lastUsage["total_tokens"] != 24.0 {
		t.Fatalf("stream: done %v text %q finish %v usage %v; want %q", done, text.String(), finish, lastUsage, want)
	}
	keys, err := led.Keys(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	// 24 + 24 + the chat's tokens, at 1000 wei per 1k tokens: one wei per token.
	if k := keys[0]; k.Requests != 3 || k.Wei.Int64() != k.PromptTokens+k.CompletionTokens || k.PromptTokens+k.CompletionTokens < 48 {
		t.Fatalf("metered %+v", k)
	}
}

func authed(url, key, body string) *http.Request {
	req, _ := http.NewRequest("POST", url, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+key)
	return req
}

// apiErr checks an OpenAI error object: status, type and code.
func apiErr(t *testing.T, what string, code int, out map[string]any, wantCode int, wantType, wantErrCode string) {
	t.Helper()
	e, ok := out["error"].(map[string]any)
	if code != wantCode || !ok || e["type"] != wantType || e["message"] == "" {
		t.Errorf("%s: %d %v, want %d %s", what, code, out, wantCode, wantType)
		return
	}
	if wantErrCode != "" && e["code"] != wantErrCode {
		t.Errorf("%s: code %v, want %s", what, e["code"], wantErrCode)
	}
}

// TestCompletionAPIErrors: a bad key, an unknown model, bad parameters,
// a key over its rate limit, and a hub without contributors each give
// OpenAI's error object and status.
func TestCompletionAPIErrors(t *testing.T) {
	m := infertest.Model(t)
	// A real hub with no contributor connected: the model's tiles wait in
	// its queue until the step times out.
	h, err := hub.New(hub.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	remote := train.NewInferenceRemote("go-job", h, train.NewExposure(1, m.TileFractions(), nil, nil, func(string, int) error { return nil }))
	h.AddSource(remote)
	srv, key, _ := serve(t, m, remote, infer.Config{StepTimeout: 200 * time.Millisecond}, 15)
	ok := `{"model":"go","prompt":"x","max_tokens":2}`
	code, out := call(t, srv, "", "POST", "/v1/completions", ok)
	apiErr(t, "no key", code, out, 401, "invalid_request_error", "")
	code, out = call(t, srv, "tsk-wrong-key-entirely", "POST", "/v1/completions", ok)
	apiErr(t, "bad key", code, out, 401, "invalid_request_error", "invalid_api_key")
	code, out = call(t, srv, key, "POST", "/v1/completions", `{"model":"nope","prompt":"x"}`)
	apiErr(t, "unknown model", code, out, 404, "invalid_request_error", "model_not_found")
	for _, tc := range []struct{ body, param, code string }{
		{`{"model":"go","prompt":"x","temperature":3}`, "temperature", ""},
		{`{"model":"go","prompt":"x","n":2}`, "n", ""},
		{`{"model":"go","prompt":"x","max_tokens":0}`, "max_tokens", ""},
		{`{"model":"go","prompt":["a","b"]}`, "prompt", ""},
		{`{"model":"go","prompt":[1,300]}`, "prompt", ""},
		{`{"model":"go","prompt":"x","stop":["a","b","c","d","e"]}`, "stop", ""},
		{`{"model":"go","prompt":"` + strings.Repeat("x", 33) + `"}`, "", "context_length_exceeded"},
		{`{"model":"go","prompt":"x","logprobs":2}`, "logprobs", ""},
		{`{"model":"go","prompt":`, "", ""},
		// Refused by the engine (hub/infer), which names the field too.
		{`{"model":"go","prompt":"x","max_tokens":100000}`, "max_tokens", ""},
		{`{"model":"go","prompt":"x","stop":["` + strings.Repeat("s", 300) + `"]}`, "stop", ""},
		// A chat request is told about the field it used.
		{`{"model":"go","messages":[{"role":"user","content":"x"}],"max_completion_tokens":0}`, "max_completion_tokens", ""},
		{`{"model":"go","messages":[{"role":"user","content":"x"}],"max_completion_tokens":100000}`, "max_completion_tokens", ""},
		{`{"model":"go","messages":[{"role":"user","content":"x"}],"max_tokens":100000}`, "max_tokens", ""},
	} {
		path := "/v1/completions"
		if strings.Contains(tc.body, `"messages"`) {
			path = "/v1/chat/completions"
		}
		code, out = call(t, srv, key, "POST", path, tc.body)
		apiErr(t, tc.body, code, out, 400, "invalid_request_error", tc.code)
		// The field at fault is named, as OpenAI's error object does.
		if e, _ := out["error"].(map[string]any); e != nil && tc.param != "" {
			// (and the message says max_completion_tokens too, to
			// a chat request that gave it).
			msg, _ := e["message"].(string)
			if e["param"] != tc.param || strings.Contains(tc.param, "tokens") && !strings.Contains(msg, tc.param+" ") {
				t.Errorf("%s: param %v (%q), want %q", tc.body, e["param"], msg, tc.param)
			}
		}
	}
	// The key allows 15 requests per minute and has made 15 (refused ones
	// count; those refused for their key do not).
	code, out = call(t, srv, key, "POST", "/v1/completions", ok)
	apiErr(t, "over the limit", code, out, 429, "requests", "rate_limit_exceeded")
	// No contributor: the request fails after the step timeout.
	srv2, key2, led2 := serve(t, m, remote, infer.Config{StepTimeout: 200 * time.Millisecond}, 0)
	began := time.Now()
	code, out = call(t, srv2, key2, "POST", "/v1/completions", ok)
	apiErr(t, "no contributors", code, out, 503, "server_error", "no_contributors")
	if took := time.Since(began); took < 200*time.Millisecond {
		t.Errorf("failed after %v, before the timeout", took)
	}
	// And streaming fails the same way, before any event.
	resp, err := http.DefaultClient.Do(authed(srv2.URL+"/v1/completions", key2, `{"model":"go","prompt":"x","stream":true}`))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 503 || !bytes.Contains(body, []byte(`"no_contributors"`)) {
		t.Errorf("stream without contributors: %d %s", resp.StatusCode, body)
	}
	// Failed requests are not charged.
	if keys, err := led2.Keys(context.Background()); err != nil || keys[0].Requests != 0 {
		t.Errorf("failed requests metered: %+v %v", keys, err)
	}
}

// explaining is a backend that knows why "later" is not served yet.
type explaining struct{ *backend }

func (explaining) WhyNotServed(_ context.Context, id string) string {
	if id == "later" {
		return "later has no checkpoint yet"
	}
	return ""
}

// TestCompletionModelNotServedYet: a 404 for a model the hub trains but
// cannot serve yet says why, in OpenAI's error object.
func TestCompletionModelNotServedYet(t *testing.T) {
	m := infertest.Model(t)
	led, err := ledger.Open(context.Background(), filepath.Join(t.TempDir(), "ledger.db"), ledger.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer led.Close()
	key, _, err := led.CreateKey(context.Background(), "k", big.NewInt(0), 0)
	if err != nil {
		t.Fatal(err)
	}
	pool := infer.NewPool(infertest.Source{Name: "go", Model: m, Step: 3, Exec: tile.NewLocal(1)}, infer.Config{})
	defer pool.Close()
	mux := http.NewServeMux()
	New(explaining{&backend{Ledger: led, pool: pool, model: m}}, Config{Logger: slog.New(slog.DiscardHandler)}).Routes(func(p string, h http.Handler) { mux.Handle(p, h) })
	srv := httptest.NewServer(mux)
	defer srv.Close()
	code, out := call(t, srv, key, "POST", "/v1/completions", `{"model":"later","prompt":"x"}`)
	apiErr(t, "not served yet", code, out, 404, "invalid_request_error", "model_not_found")
	if msg, _ := out["error"].(map[string]any)["message"].(string); !strings.Contains(msg, "no checkpoint yet") {
		t.Errorf("message %q does not say why", msg)
	}
	code, out = call(t, srv, key, "POST", "/v1/completions", `{"model":"nope","prompt":"x"}`)
	if msg, _ := out["error"].(map[string]any)["message"].(string); code != 404 || !strings.Contains(msg, "does not exist") {
		t.Errorf("unknown model: %d %q", code, msg)
	}
}
