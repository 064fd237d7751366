package openai

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net/http"
	"strings"

	"github.com/tessera-ai/tessera/hub/infer"
	"github.com/tessera-ai/tessera/hub/lm"
)

// common holds the parameters both endpoints share, as OpenAI names them.
// Pointers tell an absent (or null) parameter from a zero one.
type common struct {
	Model            string          `json:"model"`
	MaxTokens        *int            `json:"max_tokens"`
	Temperature      *float64        `json:"temperature"`
	TopP             *float64        `json:"top_p"`
	Seed             *int64          `json:"seed"`
	Stop             json.RawMessage `json:"stop"`
	N                *int            `json:"n"`
	Stream           bool            `json:"stream"`
	StreamOptions    *streamOptions  `json:"stream_options"`
	Logprobs         json.RawMessage `json:"logprobs"`
	PresencePenalty  *float64        `json:"presence_penalty"`
	FrequencyPenalty *float64        `json:"frequency_penalty"`
	LogitBias        map[string]any  `json:"logit_bias"`
	User             string          `json:"user"`
	// tokensParam is the request's name for MaxTokens: "" for
	// max_tokens, or chat's max_completion_tokens when that was given.
	tokensParam string
}

type streamOptions struct {
	IncludeUsage bool `json:"include_usage"`
}

// completionRequest is POST /v1/completions' body.
type completionRequest struct {
	common
	Prompt json.RawMessage `json:"prompt"`
	Echo   bool            `json:"echo"`
	BestOf *int            `json:"best_of"`
	Suffix *string         `json:"suffix"`
}

// chatRequest is POST /v1/chat/completions' body.
type chatRequest struct {
	common
	Messages            []chatMessage   `json:"messages"`
	MaxCompletionTokens *int            `json:"max_completion_tokens"`
	Tools               json.RawMessage `json:"tools"`
	ResponseFormat      *struct {
		Type string `json:"type"`
	} `json:"response_format"`
	TopLogprobs *int `json:"top_logprobs"`
}

type chatMessage struct {
	Role    string          `json:"role"`
	Content json.RawMessage `json:"content"`
}

// decode reads a JSON body into v, bounded in size.
func (s *Server) decode(w http.ResponseWriter, r *http.Request, v any) *apiError {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.cfg.MaxBody))
	if err != nil {
		return badParam("", "The request body could not be read (at most %d bytes): %v", s.cfg.MaxBody, err)
	}
	if err := json.Unmarshal(body, v); err != nil {
		return badParam("", "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. The OpenAI API expects a JSON payload.) %v", err)
	}
	return nil
}

// tokensError names the request's own field in an error about
// max_tokens: a chat request that gave max_completion_tokens is told
// about that field.
func (c *common) tokensError(e *apiError) *apiError {
	if c.tokensParam == "" || e.Body.Param == nil || *e.Body.Param != "max_tokens" {
		return e
	}
	name := c.tokensParam
	e.Body.Param = &name
	e.Body.Message = strings.Replace(e.Body.Message, "max_tokens", name, 1)
	return e
}

// request turns the shared parameters into an infer.Request (without the
// prompt), checking each against OpenAI's ranges and what Tessera
// supports; defTokens is max_tokens when absent.
func (c *common) request(defTokens int) (infer.Request, *apiError) {
	var req infer.Request
	if c.Model == "" {
		return req, badParam("model", "you must provide a model parameter")
	}
	if c.N != nil && *c.N != 1 {
		return req, badParam("n", "n must be 1: Tessera returns one choice per request")
	}
	if len(c.Logprobs) > 0 && !bytes.Equal(c.Logprobs, []byte("null")) && !bytes.Equal(c.Logprobs, []byte("false")) {
		return req, badParam("logprobs", "logprobs are not supported")
	}
	for name, v := range map[string]*float64{"presence_penalty": c.PresencePenalty, "frequency_penalty": c.FrequencyPenalty} {
		if v != nil && *v != 0 {
			return req, badParam(name, "%s is not supported; leave it 0", name)
		}
	}
	if len(c.LogitBias) > 0 {
		return req, badParam("logit_bias", "logit_bias is not supported")
	}
	req.MaxTokens = defTokens
	if c.MaxTokens != nil {
		req.MaxTokens = *c.MaxTokens
	}
	if req.MaxTokens < 1 {
		return req, c.tokensError(badParam("max_tokens", "max_tokens must be at least 1, got %d", req.MaxTokens))
	}
	temp, topP := 1.0, 1.0
	if c.Temperature != nil {
		temp = *c.Temperature
	}
	if !(temp >= 0 && temp <= 2) {
		return req, badParam("temperature", "%v is greater than the maximum of 2 or less than the minimum of 0 - 'temperature'", temp)
	}
	if c.TopP != nil {
		topP = *c.TopP
	}
	if !(topP > 0 && topP <= 1) {
		return req, badParam("top_p", "top_p must be greater than 0 and at most 1, got %v", topP)
	}
	seed := mrand.Uint64()
	if c.Seed != nil {
		seed = uint64(*c.Seed)
	}
	sampler, err := lm.NewSampler(temp, topP, seed)
	if err != nil {
		return req, badParam("temperature", "%v", err)
	}
	req.Sampler = sampler
	stops, aerr := parseStop(c.Stop)
	if aerr != nil {
		return req, aerr
	}
	req.Stop = stops
	return req, nil
}

// parseStop reads stop: null, a string, or up to 4 strings.
func parseStop(raw json.RawMessage) ([]string, *apiError) {
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return nil, nil
	}
	var one string
	if err := json.Unmarshal(raw, &one); err == nil {
		if one == "" {
			return nil, nil
		}
		return []string{one}, nil
	}
	var many []string
	if err := json.Unmarshal(raw, &many); err != nil {
		return nil, badParam("stop", "stop must be a string or an array of strings")
	}
	if len(many) > 4 {
		return nil, badParam("stop", "stop may hold at most 4 sequences, got %d", len(many))
	}
	var out []string
	for _, s := range many {
		if s != "" {
			out = append(out, s)
		}
	}
	return out, nil
}

// parsePrompt reads prompt: a string, an array of one string, an array of
// tokens (bytes, 0..255: the model's vocabulary), or an array of one such
// array. Absent, it is empty.
func parsePrompt(raw json.RawMessage) ([]byte, *apiError) {
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return nil, nil
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return []byte(s), nil
	}
	var ss []string
	if json.Unmarshal(raw, &ss) == nil {
		if len(ss) != 1 {
			return nil, badParam("prompt", "prompt must hold exactly one string: Tessera answers one prompt per request (got %d)", len(ss))
		}
		return []byte(ss[0]), nil
	}
	tokens := func(ts []int) ([]byte, *apiError) {
		out := make([]byte, len(ts))
		for i, t := range ts {
			if t < 0 || t >= lm.Vocab {
				return nil, badParam("prompt", "token %d is outside the vocabulary (0 to %d: bytes)", t, lm.Vocab-1)
			}
			out[i] = byte(t)
		}
		return out, nil
	}
	var ts []int
	if json.Unmarshal(raw, &ts) == nil {
		return tokens(ts)
	}
	var tss [][]int
	if json.Unmarshal(raw, &tss) == nil {
		if len(tss) != 1 {
			return nil, badParam("prompt", "prompt must hold exactly one token array (got %d)", len(tss))
		}
		return tokens(tss[0])
	}
	return nil, badParam("prompt", "prompt must be a string, an array of one string, or an array of tokens")
}

// renderChat renders messages with the documented plain template.
func renderChat(msgs []chatMessage) ([]byte, *apiError) {
	if len(msgs) == 0 {
		return nil, badParam("messages", "messages must hold at least one message")
	}
	var b strings.Builder
	for i, m := range msgs {
		switch m.Role {
		case "system", "developer", "user", "assistant":
		default:
			return nil, badParam(fmt.Sprintf("messages[%d].role", i), "role %q is not supported (system, developer, user or assistant)", m.Role)
		}
		text, err := contentText(m.Content)
		if err != nil {
			return nil, badParam(fmt.Sprintf("messages[%d].content", i), "%v", err)
		}
		fmt.Fprintf(&b, "%s: %s\n", m.Role, text)
	}
	b.WriteString("assistant:")
	return []byte(b.String()), nil
}

// contentText reads a message's content: a string, or an array of text
// parts.
func contentText(raw json.RawMessage) (string, error) {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s, nil
	}
	var parts []struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	if err := json.Unmarshal(raw, &parts); err != nil {
		return "", errors.New("content must be a string or an array of text parts")
	}
	var b strings.Builder
	for _, p := range parts {
		if p.Type != "text" {
			return "", fmt.Errorf("content parts of type %q are not supported (text only)", p.Type)
		}
		b.WriteString(p.Text)
	}
	return b.String(), nil
}

func (s *Server) serveCompletions(w http.ResponseWriter, r *http.Request) {
	var body completionRequest
	if aerr := s.decode(w, r, &body); aerr != nil {
		writeError(w, aerr)
		return
	}
	req, aerr := body.request(16) // OpenAI's default for completions
	if aerr == nil && body.Echo {
		aerr = badParam("echo", "echo is not supported")
	}
	if aerr == nil && body.BestOf != nil && *body.BestOf != 1 {
		aerr = badParam("best_of", "best_of must be 1")
	}
	if aerr == nil && body.Suffix != nil && *body.Suffix != "" {
		aerr = badParam("suffix", "suffix is not supported")
	}
	if aerr == nil {
		req.Prompt, aerr = parsePrompt(body.Prompt)
	}
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	s.complete(w, r, &body.common, req, false)
}

func (s *Server) serveChat(w http.ResponseWriter, r *http.Request) {
	var body chatRequest
	if aerr := s.decode(w, r, &body); aerr != nil {
		writeError(w, aerr)
		return
	}
	if body.MaxCompletionTokens != nil {
		body.MaxTokens, body.tokensParam = body.MaxCompletionTokens, "max_completion_tokens"
	}
	req, aerr := body.request(256)
	switch {
	case aerr != nil:
	case len(body.Tools) > 0 && !bytes.Equal(body.Tools, []byte("null")) && !bytes.Equal(body.Tools, []byte("[]")):
		aerr = badParam("tools", "tools are not supported")
	case body.ResponseFormat != nil && body.ResponseFormat.Type != "" && body.ResponseFormat.Type != "text":
		aerr = badParam("response_format", "response_format %q is not supported (text only)", body.ResponseFormat.Type)
	case body.TopLogprobs != nil:
		aerr = badParam("top_logprobs", "logprobs are not supported")
	}
	if aerr == nil {
		req.Prompt, aerr = renderChat(body.Messages)
	}
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	req.Stop = append(req.Stop, "\nuser:")
	s.complete(w, r, &body.common, req, true)
}
