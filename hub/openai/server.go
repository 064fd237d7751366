// Package openai serves the hub's trained language models through
// OpenAI's HTTP API, as its published reference defines it, so that
// existing clients and SDKs work unchanged with their base URL pointed at
// the hub's /v1: GET /v1/models, GET /v1/models/{model},
// POST /v1/completions and POST /v1/chat/completions, streaming with
// server-sent events that end in "data: [DONE]", errors as OpenAI's error
// object with its status codes.
//
// Every request carries a bearer API key (hub/ledger's keys); it is
// rate-limited per key, metered in tokens and priced at the key's price,
// and its usage is durable in the ledger before the response's usage is
// sent. The model id is the training job's name. Completions are computed
// by contributors through hub/infer.
//
// Chat messages are rendered with a plain template, one line per message
// and an open assistant line for the model to continue:
//
//	system: You write Go.
//	user: Write a function that adds two ints.
//	assistant:
//
// and "\nuser:" is always a stop string, so the reply ends where the
// model starts the user's next turn.
//
// Entry points: New, (*Server).Routes.
package openai

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tessera-ai/tessera/hub/infer"
	"github.com/tessera-ai/tessera/hub/ledger"
	"github.com/tessera-ai/tessera/internal/httpjson"
)

// Model is a model the API lists.
type Model struct {
	ID      string
	Created time.Time
	Context int // its maximum context length in tokens
}

// Backend is what the API serves from: the models, their completions,
// the keys and the meter. The hub's service wires hub/train, hub/infer
// and hub/ledger into one.
type Backend interface {
	Models(ctx context.Context) ([]Model, error)
	Submit(ctx context.Context, model string, req infer.Request) (*infer.Completion, error)
	KeyByToken(ctx context.Context, token string) (ledger.APIKey, error)
	RecordUsage(u ledger.Usage) <-chan error
}

// Config tunes the server.
type Config struct {
	// KeyCacheTTL is how long a looked-up key is trusted before it is
	// read again (a revocation takes effect within it).
	KeyCacheTTL time.Duration
	// MaxBody bounds a request body in bytes.
	MaxBody int64
	// Logger; nil means slog.Default().
	Logger *slog.Logger
}

// Server is the API.
type Server struct {
	b   Backend
	cfg Config
	log *slog.Logger

	mu    sync.Mutex
	keys  map[string]cachedKey // by token
	rates map[int64]*bucket    // by key id
}

type cachedKey struct {
	key ledger.APIKey
	err error // the lookup's refusal, for a bad token
	at  time.Time
}

// New returns the API over b.
func New(b Backend, cfg Config) *Server {
	if cfg.KeyCacheTTL <= 0 {
		cfg.KeyCacheTTL = 10 * time.Second
	}
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = 1 << 20
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Server{b: b, cfg: cfg, log: cfg.Logger, keys: map[string]cachedKey{}, rates: map[int64]*bucket{}}
}

// Routes registers the API's handlers.
func (s *Server) Routes(handle func(pattern string, h http.Handler)) {
	handle("GET /v1/models", s.authed(s.serveModels))
	handle("GET /v1/models/{model}", s.authed(s.serveModel))
	handle("POST /v1/completions", s.authed(s.serveCompletions))
	handle("POST /v1/chat/completions", s.authed(s.serveChat))
}

// apiError is OpenAI's error object, with the status it is sent with.
type apiError struct {
	status int
	Body   struct {
		Message string  `json:"message"`
		Type    string  `json:"type"`
		Param   *string `json:"param"`
		Code    *string `json:"code"`
	} `json:"error"`
}

func (e *apiError) Error() string { return e.Body.Message }

// newError returns an error object; param and code may be "" for null.
func newError(status int, typ, param, code, format string, args ...any) *apiError {
	e := &apiError{status: status}
	e.Body.Message = fmt.Sprintf(format, args...)
	e.Body.Type = typ
	if param != "" {
		e.Body.Param = &param
	}
	if code != "" {
		e.Body.Code = &code
	}
	return e
}

func badParam(param, format string, args ...any) *apiError {
	return newError(http.StatusBadRequest, "invalid_request_error", param, "", format, args...)
}

func writeError(w http.ResponseWriter, e *apiError) {
	if e.status == http.StatusTooManyRequests || e.status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "1")
	}
	httpjson.Write(w, e.status, e)
}

// keyCtx carries the request's key.
type keyCtx struct{}

// Authed wraps h, an endpoint beside the OpenAI API that takes the same
// keys (MNIST classification), with the same key check and rate limit;
// KeyOf returns the request's key inside h.
func (s *Server) Authed(h http.HandlerFunc) http.Handler { return s.authed(h) }

// KeyOf returns the key of a request that passed Authed.
func KeyOf(r *http.Request) ledger.APIKey { return keyOf(r) }

// authed checks the bearer key and the key's rate limit before h.
func (s *Server) authed(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth := r.Header.Get("Authorization")
		token, ok := strings.CutPrefix(auth, "Bearer ")
		token = strings.TrimSpace(token)
		if !ok || token == "" {
			writeError(w, newError(http.StatusUnauthorized, "invalid_request_error", "", "",
				"You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY). Ask the hub's operator for a key."))
			return
		}
		key, err := s.lookup(r.Context(), token)
		if err != nil {
			if errors.Is(err, ledger.ErrUnknownKey) || errors.Is(err, ledger.ErrRevokedKey) {
				writeError(w, newError(http.StatusUnauthorized, "invalid_request_error", "", "invalid_api_key",
					"Incorrect API key provided: %s.", redact(token)))
				return
			}
			s.log.Error("api key lookup", "err", err)
			writeError(w, newError(http.StatusInternalServerError, "server_error", "", "", "The server could not check the API key."))
			return
		}
		if wait, remaining := s.take(key); wait > 0 {
			w.Header().Set("x-ratelimit-limit-requests", strconv.Itoa(key.RateLimit))
			w.Header().Set("x-ratelimit-remaining-requests", "0")
			e := newError(http.StatusTooManyRequests, "requests", "", "rate_limit_exceeded",
				"Rate limit reached for key %s on requests per min (RPM): Limit %d. Please try again in %s.", key.Name, key.RateLimit, wait.Round(time.Millisecond))
			writeError(w, e)
			return
		} else if key.RateLimit > 0 {
			w.Header().Set("x-ratelimit-limit-requests", strconv.Itoa(key.RateLimit))
			w.Header().Set("x-ratelimit-remaining-requests", strconv.Itoa(remaining))
		}
		h(w, r.WithContext(context.WithValue(r.Context(), keyCtx{}, key)))
	})
}

// redact shows a token's first and last characters only, as OpenAI does.
func redact(token string) string {
	if len(token) <= 8 {
		return "***"
	}
	return token[:4] + "***" + token[len(token)-4:]
}

// lookup returns the key of token, from the cache while it is fresh.
func (s *Server) lookup(ctx context.Context, token string) (ledger.APIKey, error) {
	s.mu.Lock()
	c, ok := s.keys[token]
	s.mu.Unlock()
	if ok && c.err == nil && time.Since(c.at) < s.cfg.KeyCacheTTL {
		return c.key, nil
	}
	if ok && c.err != nil && time.Since(c.at) < s.cfg.KeyCacheTTL {
		return ledger.APIKey{}, c.err // a token refused moments ago
	}
	key, err := s.b.KeyByToken(ctx, token)
	if err != nil {
		s.mu.Lock()
		if errors.Is(err, ledger.ErrUnknownKey) || errors.Is(err, ledger.ErrRevokedKey) {
			// Remembered, so that a flood of bad tokens costs no lookups.
			if len(s.keys) >= 4096 {
				clear(s.keys)
			}
			s.keys[token] = cachedKey{err: err, at: time.Now()}
		} else {
			delete(s.keys, token)
		}
		s.mu.Unlock()
		return ledger.APIKey{}, err
	}
	s.mu.Lock()
	if len(s.keys) >= 4096 {
		clear(s.keys) // bounded: valid keys are simply read again
	}
	s.keys[token] = cachedKey{key: key, at: time.Now()}
	s.mu.Unlock()
	return key, nil
}

// bucket is a key's token bucket: RateLimit requests per minute, with
// bursts up to RateLimit.
type bucket struct {
	tokens float64
	at     time.Time
}

// take spends one request of key's limit; if none is left it returns how
// long until one is, else the requests remaining.
func (s *Server) take(key ledger.APIKey) (wait time.Duration, remaining int) {
	if key.RateLimit <= 0 {
		return 0, 0
	}
	limit := float64(key.RateLimit)
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.rates[key.ID]
	if !ok {
		b = &bucket{tokens: limit, at: now}
		s.rates[key.ID] = b
	}
	b.tokens = math.Min(limit, b.tokens+now.Sub(b.at).Minutes()*limit)
	b.at = now
	if b.tokens < 1 {
		return time.Duration((1 - b.tokens) / limit * float64(time.Minute)), 0
	}
	b.tokens--
	return 0, int(b.tokens)
}

func keyOf(r *http.Request) ledger.APIKey { return r.Context().Value(keyCtx{}).(ledger.APIKey) }

// modelJSON is OpenAI's model object.
type modelJSON struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Created int64  `json:"created"`
	OwnedBy string `json:"owned_by"`
}

func toJSON(m Model) modelJSON {
	return modelJSON{ID: m.ID, Object: "model", Created: m.Created.Unix(), OwnedBy: "tessera-contributors"}
}

func (s *Server) serveModels(w http.ResponseWriter, r *http.Request) {
	ms, err := s.b.Models(r.Context())
	if err != nil {
		s.log.Error("list models", "err", err)
		writeError(w, newError(http.StatusInternalServerError, "server_error", "", "", "The server could not list its models."))
		return
	}
	data := make([]modelJSON, len(ms))
	for i, m := range ms {
		data[i] = toJSON(m)
	}
	httpjson.Write(w, http.StatusOK, map[string]any{"object": "list", "data": data})
}

func (s *Server) serveModel(w http.ResponseWriter, r *http.Request) {
	m, aerr := s.model(r.Context(), r.PathValue("model"))
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	httpjson.Write(w, http.StatusOK, toJSON(m))
}

// model finds the model named id, or returns the 404 OpenAI gives.
func (s *Server) model(ctx context.Context, id string) (Model, *apiError) {
	ms, err := s.b.Models(ctx)
	if err != nil {
		s.log.Error("list models", "err", err)
		return Model{}, newError(http.StatusInternalServerError, "server_error", "", "", "The server could not list its models.")
	}
	for _, m := range ms {
		if m.ID == id {
			return m, nil
		}
	}
	msg := fmt.Sprintf("The model `%s` does not exist or you do not have access to it.", id)
	if ex, ok := s.b.(Explainer); ok {
		if why := ex.WhyNotServed(ctx, id); why != "" {
			msg = fmt.Sprintf("The model `%s` cannot be served yet: %s.", id, why)
		}
	}
	return Model{}, newError(http.StatusNotFound, "invalid_request_error", "model", "model_not_found", "%s", msg)
}

// Explainer is implemented by backends that can say why a model is not
// served (a language model before its first checkpoint), for the 404.
type Explainer interface {
	WhyNotServed(ctx context.Context, id string) string
}

// newID returns a response id with prefix.
func newID(prefix string) string {
	var b [18]byte
	rand.Read(b[:])
	return prefix + base64.RawURLEncoding.EncodeToString(b[:])
}

// submitError maps hub/infer's errors to OpenAI's.
func submitError(err error) *apiError {
	switch {
	case errors.Is(err, infer.ErrBadRequest):
		var re *infer.RequestError
		if !errors.As(err, &re) {
			return badParam("", "%s", strings.TrimPrefix(err.Error(), infer.ErrBadRequest.Error()+": "))
		}
		e := badParam(re.Param, "%s", re.Msg)
		if re.Code != "" {
			code := re.Code
			e.Body.Code = &code
		}
		return e
	case errors.Is(err, infer.ErrBusy):
		return newError(http.StatusServiceUnavailable, "server_error", "", "", "The model is currently overloaded with other requests. Please retry your request shortly.")
	case errors.Is(err, infer.ErrNoCompute):
		return newError(http.StatusServiceUnavailable, "server_error", "", "no_contributors", "%s", err)
	case errors.Is(err, infer.ErrClosed):
		return newError(http.StatusServiceUnavailable, "server_error", "", "", "The hub is shutting down.")
	case errors.Is(err, context.Canceled):
		return newError(499, "invalid_request_error", "", "", "The request was cancelled.")
	}
	return newError(http.StatusInternalServerError, "server_error", "", "", "The server had an error while processing your request: %s", err)
}
