package service

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"time"

	"github.com/tessera-ai/tessera/hub/chain"
	"github.com/tessera-ai/tessera/hub/infer"
	"github.com/tessera-ai/tessera/hub/ledger"
	"github.com/tessera-ai/tessera/hub/metrics"
	"github.com/tessera-ai/tessera/hub/openai"
	"github.com/tessera-ai/tessera/hub/train"
	"github.com/tessera-ai/tessera/hub/train/tile"
	"github.com/tessera-ai/tessera/internal/flop"
	"github.com/tessera-ai/tessera/internal/httpjson"
)

// InferenceConfig configures the OpenAI-compatible API (hub/openai) and
// the engines behind it (hub/infer).
type InferenceConfig struct {
	// HubCompute lets the hub compute completions itself instead of
	// contributors (no one earns credit for that work).
	HubCompute bool
	// StepTimeout bounds how long a decoding step waits for contributors
	// before its requests fail; 0 means infer's default (30 s).
	StepTimeout time.Duration
	// DemoKey publishes a free, rate-limited key at GET /api/v1/demo for
	// the contributor page's "Try the model" box (demo.go).
	DemoKey bool
	// DemoRate is the demo key's requests per minute; 0 means
	// DefaultDemoRate.
	DemoRate int
}

// inferenceBackend joins the jobs, the engines and the ledger into what
// the API serves from.
type inferenceBackend struct {
	mgr  *train.Manager
	pool *infer.Pool
	led  *ledger.Ledger
}

func (b *inferenceBackend) Models(ctx context.Context) ([]openai.Model, error) {
	ms, err := b.mgr.ServedModels(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]openai.Model, len(ms))
	for i, m := range ms {
		out[i] = openai.Model{ID: m.Name, Created: m.Created, Context: m.Context}
	}
	return out, nil
}

func (b *inferenceBackend) WhyNotServed(ctx context.Context, id string) string {
	return b.mgr.WhyNotServed(ctx, id)
}

// Submit queues req and names, in the completion, the job whose ledger
// model its usage is metered under: resolved now, so that a job removed or
// renamed while the request runs cannot take its revenue.
func (b *inferenceBackend) Submit(ctx context.Context, model string, req infer.Request) (*infer.Completion, error) {
	ms, err := b.mgr.ServedModels(ctx)
	if err != nil {
		return nil, err
	}
	job := ""
	for _, m := range ms {
		if m.Name == model {
			job = m.JobID
		}
	}
	c, err := b.pool.Submit(ctx, model, req)
	if err == nil {
		c.Ledger = job
	}
	return c, err
}

func (b *inferenceBackend) KeyByToken(ctx context.Context, token string) (ledger.APIKey, error) {
	return b.led.KeyByToken(ctx, token)
}

func (b *inferenceBackend) RecordUsage(u ledger.Usage) <-chan error { return b.led.RecordUsage(u) }

// routeInference serves the OpenAI-compatible API under /v1, the usage
// per model (public) and the admin endpoints of API keys. It returns what
// stops the engines.
func routeInference(ctx context.Context, handle func(string, http.Handler), mgr *train.Manager, led *ledger.Ledger, cfg InferenceConfig,
	m *metrics.Metrics, dataDir, token string, log *slog.Logger) (func(), error) {
	pool := infer.NewPool(mgr, infer.Config{HubCompute: cfg.HubCompute, StepTimeout: cfg.StepTimeout})
	m.WatchInference(func() map[string]metrics.Inference {
		out := map[string]metrics.Inference{}
		for name, s := range pool.Stats() {
			out[name] = metrics.Inference{Requests: s.Requests, Finished: s.Finished, Failed: s.Failed, Decoding: s.Decoding, Waiting: s.Waiting,
				Steps: s.Steps, Sequences: s.Sequences, Tokens: s.Tokens, MaxBatch: s.MaxBatch, StepSeconds: s.StepSeconds,
				FirstTokens: s.FirstTokens, FirstTokenSeconds: s.FirstTokenSeconds}
		}
		return out
	})
	// The API's responses are counted by route and status.
	counted := func(pattern string, h http.Handler) { handle(pattern, m.APIResponses(pattern, h)) }
	api := openai.New(&inferenceBackend{mgr: mgr, pool: pool, led: led}, openai.Config{Logger: log})
	api.Routes(counted)
	keys := &keysAPI{led: led, pool: pool, known: knownModel(mgr, led)}
	admin := func(pattern string, f http.HandlerFunc) { handle(pattern, train.RequireToken(token, f)) }
	admin("GET /api/v1/admin/keys", keys.list)
	admin("POST /api/v1/admin/keys", keys.create)
	admin("POST /api/v1/admin/keys/{name}/revoke", keys.revoke)
	admin("POST /api/v1/admin/revenue", keys.recordRevenue)
	counted("POST /api/v1/jobs/{id}/classify", api.Authed((&classifier{mgr: mgr, led: led, cfg: cfg}).serve))
	handle("GET /api/v1/usage", http.HandlerFunc(keys.usage))
	demo, demoRate := "", cfg.DemoRate
	if demoRate == 0 {
		demoRate = DefaultDemoRate
	}
	if cfg.DemoKey {
		var err error
		if demo, err = demoKey(ctx, led, dataDir, demoRate); err != nil {
			pool.Close()
			return nil, err
		}
	}
	handle("GET /api/v1/demo", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if demo == "" {
			httpjson.Write(w, http.StatusOK, map[string]any{"enabled": false})
			return
		}
		httpjson.Write(w, http.StatusOK, map[string]any{"enabled": true, "key": demo, "rate_limit_per_minute": demoRate})
	}))
	return pool.Close, nil
}

// keysAPI is the admin side of API keys.
type keysAPI struct {
	led   *ledger.Ledger
	pool  *infer.Pool
	known func(ctx context.Context, model string) error // knownModel
}

// KeyJSON is an API key in the admin API (never its token, which only
// creation returns).
type KeyJSON struct {
	Name             string     `json:"name"`
	PricePer1KWei    string     `json:"price_per_1k_tokens_wei"`
	RateLimit        int        `json:"rate_limit_per_minute"`
	CreatedAt        time.Time  `json:"created_at"`
	RevokedAt        *time.Time `json:"revoked_at,omitempty"`
	Requests         int64      `json:"requests"`
	PromptTokens     int64      `json:"prompt_tokens"`
	CompletionTokens int64      `json:"completion_tokens"`
	Wei              string     `json:"wei"`
	// Key is the bearer token, in the answer to its creation only.
	Key string `json:"key,omitempty"`
}

func keyJSON(k ledger.APIKey) KeyJSON {
	out := KeyJSON{Name: k.Name, PricePer1KWei: k.PriceWei.String(), RateLimit: k.RateLimit, CreatedAt: k.CreatedAt,
		Requests: k.Requests, PromptTokens: k.PromptTokens, CompletionTokens: k.CompletionTokens, Wei: k.Wei.String()}
	if !k.RevokedAt.IsZero() {
		t := k.RevokedAt
		out.RevokedAt = &t
	}
	return out
}

func (a *keysAPI) list(w http.ResponseWriter, r *http.Request) {
	ks, err := a.led.Keys(r.Context())
	if err != nil {
		httpjson.Errorf(w, http.StatusInternalServerError, "list keys: %v", err)
		return
	}
	out := make([]KeyJSON, len(ks))
	for i, k := range ks {
		out[i] = keyJSON(k)
	}
	httpjson.Write(w, http.StatusOK, map[string]any{"keys": out})
}

func (a *keysAPI) create(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Name          string `json:"name"`
		PricePer1KWei string `json:"price_per_1k_tokens_wei"`
		RateLimit     int    `json:"rate_limit_per_minute"`
	}
	dec := json.NewDecoder(io.LimitReader(r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil {
		httpjson.Errorf(w, http.StatusBadRequest, "bad key request: %v", err)
		return
	}
	if body.PricePer1KWei == "" {
		body.PricePer1KWei = "0"
	}
	price, ok := new(big.Int).SetString(body.PricePer1KWei, 10)
	if !ok {
		httpjson.Errorf(w, http.StatusBadRequest, "price_per_1k_tokens_wei %q is not a whole number of wei", body.PricePer1KWei)
		return
	}
	tok, k, err := a.led.CreateKey(r.Context(), body.Name, price, body.RateLimit)
	switch {
	case errors.Is(err, ledger.ErrKeyExists):
		httpjson.Errorf(w, http.StatusConflict, "%v", err)
		return
	case err != nil:
		httpjson.Errorf(w, http.StatusBadRequest, "%v", err)
		return
	}
	out := keyJSON(k)
	out.Key = tok
	httpjson.Write(w, http.StatusCreated, out)
}

func (a *keysAPI) revoke(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if err := a.led.RevokeKey(r.Context(), name); errors.Is(err, ledger.ErrUnknownKey) {
		httpjson.Errorf(w, http.StatusNotFound, "no API key named %q", name)
		return
	} else if err != nil {
		httpjson.Errorf(w, http.StatusInternalServerError, "revoke key: %v", err)
		return
	}
	httpjson.Write(w, http.StatusOK, map[string]any{"revoked": name})
}

// usage serves the metered usage and revenue per model, and what each
// model's inference engine has done since the hub started.
func (a *keysAPI) usage(w http.ResponseWriter, r *http.Request) {
	us, err := a.led.UsageByModel(r.Context())
	if err != nil {
		httpjson.Errorf(w, http.StatusInternalServerError, "usage: %v", err)
		return
	}
	type model struct {
		Model            string `json:"model"`
		Requests         int64  `json:"requests"`
		PromptTokens     int64  `json:"prompt_tokens"`
		CompletionTokens int64  `json:"completion_tokens"`
		Wei              string `json:"revenue_wei"`
	}
	out := make([]model, len(us))
	for i, u := range us {
		out[i] = model{u.Model, u.Requests, u.PromptTokens, u.CompletionTokens, u.Wei.String()}
	}
	type engine struct {
		Steps     uint64  `json:"steps"`
		Sequences uint64  `json:"sequences"`
		MeanBatch float64 `json:"mean_batch"`
		MaxBatch  uint64  `json:"max_batch"`
		Tokens    uint64  `json:"tokens"`
	}
	engines := map[string]engine{}
	for name, st := range a.pool.Stats() {
		e := engine{Steps: st.Steps, Sequences: st.Sequences, MaxBatch: st.MaxBatch, Tokens: st.Tokens}
		if st.Steps > 0 {
			e.MeanBatch = float64(st.Sequences) / float64(st.Steps)
		}
		engines[name] = e
	}
	httpjson.Write(w, http.StatusOK, map[string]any{"models": out, "engines": engines})
}

// recordRevenue records revenue a model earned outside the API (a
// license, a grant): POST /api/v1/admin/revenue {model, wei, note}. It is
// split among the model's owners at the next epoch, as metered usage is.
func (a *keysAPI) recordRevenue(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Model string `json:"model"`
		Wei   string `json:"wei"`
		Note  string `json:"note"`
	}
	dec := json.NewDecoder(io.LimitReader(r.Body, 8<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil || body.Model == "" {
		httpjson.Errorf(w, http.StatusBadRequest, "want {\"model\": \"job ID\", \"wei\": \"decimal\", \"note\": \"...\"}")
		return
	}
	wei, err := flop.Parse(body.Wei)
	if err != nil || wei.IsZero() {
		httpjson.Errorf(w, http.StatusBadRequest, "wei %q is not a positive whole number below 2^256", body.Wei)
		return
	}
	if len(body.Note) > 200 {
		httpjson.Errorf(w, http.StatusBadRequest, "note longer than 200 bytes")
		return
	}
	if err := a.known(r.Context(), body.Model); errors.Is(err, chain.ErrUnknownModel) {
		httpjson.Errorf(w, http.StatusNotFound, "%v", err)
		return
	} else if err != nil {
		httpjson.Errorf(w, http.StatusInternalServerError, "%v", err)
		return
	}
	if err := a.led.RecordRevenue(r.Context(), body.Model, wei, body.Note); err != nil {
		httpjson.Errorf(w, http.StatusInternalServerError, "%v", err)
		return
	}
	httpjson.Write(w, http.StatusOK, map[string]any{"model": body.Model, "recorded_wei": wei.String()})
}

// classifier serves POST /api/v1/jobs/{id}/classify: an MLP job's latest
// checkpoint classifies up to maxImages images, computed by contributors
// like completions. It takes the same bearer keys and rate limits as the
// completions API (openai's Authed) and meters each image as one prompt
// token; free keys' images are computed by the hub, as their completions
// are.
type classifier struct {
	mgr *train.Manager
	led *ledger.Ledger
	cfg InferenceConfig
}

const maxImages = 256

func (c *classifier) serve(w http.ResponseWriter, r *http.Request) {
	key := openai.KeyOf(r)
	var body struct {
		Images [][]float32 `json:"images"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 8<<20)).Decode(&body); err != nil {
		httpjson.Errorf(w, http.StatusBadRequest, "want {\"images\": [[784 pixel values in 0..1], ...]}: %v", err)
		return
	}
	if len(body.Images) == 0 || len(body.Images) > maxImages {
		httpjson.Errorf(w, http.StatusBadRequest, "send 1 to %d images, not %d", maxImages, len(body.Images))
		return
	}
	timeout := c.cfg.StepTimeout
	if timeout <= 0 {
		timeout = infer.DefaultConfig().StepTimeout
	}
	ctx, cancel := context.WithTimeout(r.Context(), timeout)
	defer cancel()
	var exec tile.Executor
	if c.cfg.HubCompute || key.PriceWei.Sign() == 0 {
		exec = tile.NewLocal(0)
	}
	probs, step, jobID, err := c.mgr.Classify(ctx, r.PathValue("id"), body.Images, exec)
	switch {
	case errors.Is(err, train.ErrNotServable):
		httpjson.Errorf(w, http.StatusNotFound, "%v", err)
		return
	case errors.Is(err, train.ErrAmbiguousJob):
		httpjson.Errorf(w, http.StatusConflict, "%v", err)
		return
	case errors.Is(err, train.ErrBadInput):
		httpjson.Errorf(w, http.StatusBadRequest, "%v", err)
		return
	case errors.Is(err, context.DeadlineExceeded):
		httpjson.Errorf(w, http.StatusServiceUnavailable, "no contributor computed the classification within %v", timeout)
		return
	case err != nil:
		httpjson.Errorf(w, http.StatusInternalServerError, "classify: %v", err)
		return
	}
	var raw [18]byte
	rand.Read(raw[:])
	id := "clf-" + base64.RawURLEncoding.EncodeToString(raw[:])
	if err := <-c.led.RecordUsage(ledger.Usage{Request: id, KeyID: key.ID, Model: jobID, PromptTokens: len(body.Images),
		Wei: ledger.Price(len(body.Images), key.PriceWei)}); err != nil {
		httpjson.Errorf(w, http.StatusInternalServerError, "the request's usage could not be recorded; it is not charged")
		return
	}
	preds := make([]int, len(probs))
	for i, p := range probs {
		for k, v := range p {
			if v > p[preds[i]] {
				preds[i] = k
			}
		}
	}
	httpjson.Write(w, http.StatusOK, map[string]any{"id": id, "model": jobID, "step": step, "predictions": preds, "probabilities": probs})
}
