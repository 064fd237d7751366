package openai

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/tessera-ai/tessera/hub/infer"
	"github.com/tessera-ai/tessera/hub/ledger"
	"github.com/tessera-ai/tessera/internal/httpjson"
)

// usageJSON is OpenAI's usage object.
type usageJSON struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
	TotalTokens      int `json:"total_tokens"`
}

// choice is one element of choices: a completion's (Text) or a chat's
// (Message, or Delta when streaming).
type choice struct {
	Index        int             `json:"index"`
	Text         *string         `json:"text,omitempty"`
	Message      *message        `json:"message,omitempty"`
	Delta        *message        `json:"delta,omitempty"`
	Logprobs     json.RawMessage `json:"logprobs"`
	FinishReason *string         `json:"finish_reason"`
}

type message struct {
	Role    string  `json:"role,omitempty"`
	Content *string `json:"content,omitempty"`
	Refusal *string `json:"refusal,omitempty"`
}

// response is a completion, a chat completion, or a chunk of either.
type response struct {
	ID                string     `json:"id"`
	Object            string     `json:"object"`
	Created           int64      `json:"created"`
	Model             string     `json:"model"`
	SystemFingerprint string     `json:"system_fingerprint"`
	Choices           []choice   `json:"choices"`
	Usage             *usageJSON `json:"usage,omitempty"`
}

var null = json.RawMessage("null")

// complete runs req on the model c names and answers it, streaming or
// not; chat chooses the chat completion's shapes.
func (s *Server) complete(w http.ResponseWriter, r *http.Request, c *common, req infer.Request, chat bool) {
	if _, aerr := s.model(r.Context(), c.Model); aerr != nil {
		writeError(w, aerr)
		return
	}
	key := keyOf(r)
	// Free requests (a demo key) are computed by the hub: tiles computed
	// for them would earn contributors ownership for work nobody paid for.
	req.HubOnly = key.PriceWei.Sign() == 0
	comp, err := s.b.Submit(r.Context(), c.Model, req)
	if err != nil {
		writeError(w, c.tokensError(submitError(err)))
		return
	}
	base := response{ID: newID("cmpl-"), Object: "text_completion", Created: time.Now().Unix(), Model: c.Model}
	if chat {
		base.ID, base.Object = newID("chatcmpl-"), "chat.completion"
	}
	base.SystemFingerprint = fmt.Sprintf("tessera-step-%d", comp.Step)
	if !c.Stream {
		var text strings.Builder
		for p := range comp.Text {
			text.WriteString(p)
		}
		if comp.Err != nil {
			// The client gets none of the text: nothing is charged.
			writeError(w, submitError(comp.Err))
			return
		}
		usage, merr := s.meter(key, c.Model, base.ID, comp)
		if merr != nil {
			writeError(w, newError(http.StatusInternalServerError, "server_error", "", "", "The request's usage could not be recorded; it is not charged."))
			return
		}
		out := base
		t, finish := text.String(), comp.Finish
		if chat {
			out.Choices = []choice{{Message: &message{Role: "assistant", Content: &t}, Logprobs: null, FinishReason: &finish}}
		} else {
			out.Choices = []choice{{Text: &t, Logprobs: null, FinishReason: &finish}}
		}
		out.Usage = &usage
		httpjson.Write(w, http.StatusOK, out)
		return
	}
	s.stream(w, c, base, comp, key, chat)
}

// stream sends comp as server-sent events: one chunk per piece of text,
// a last chunk with the finish reason, the usage chunk if asked for, and
// "data: [DONE]". Headers wait for the first piece, so that a request
// that fails before any text gets an ordinary error response.
func (s *Server) stream(w http.ResponseWriter, c *common, base response, comp *infer.Completion, key ledger.APIKey, chat bool) {
	includeUsage := c.StreamOptions != nil && c.StreamOptions.IncludeUsage
	base.Object = "text_completion"
	if chat {
		base.Object = "chat.completion.chunk"
	}
	flusher, _ := w.(http.Flusher)
	started := false
	send := func(v any) {
		if !started {
			h := w.Header()
			h.Set("Content-Type", "text/event-stream")
			h.Set("Cache-Control", "no-cache")
			h.Set("X-Accel-Buffering", "no")
			w.WriteHeader(http.StatusOK)
			started = true
		}
		b, _ := json.Marshal(v)
		fmt.Fprintf(w, "data: %s\n\n", b)
		if flusher != nil {
			flusher.Flush()
		}
	}
	chunk := func(text *string, finish *string, first bool) response {
		out := base
		if chat {
			d := &message{Content: text}
			if first {
				d.Role = "assistant"
			}
			out.Choices = []choice{{Delta: d, Logprobs: null, FinishReason: finish}}
		} else {
			if text == nil {
				empty := ""
				text = &empty
			}
			out.Choices = []choice{{Text: text, Logprobs: null, FinishReason: finish}}
		}
		return out
	}
	first := true
	for p := range comp.Text {
		send(withNullUsage(chunk(&p, nil, first), includeUsage))
		first = false
	}
	usage, merr := s.meter(key, c.Model, base.ID, comp)
	if comp.Err != nil || merr != nil {
		e := newError(http.StatusInternalServerError, "server_error", "", "", "The request's usage could not be recorded.")
		if comp.Err != nil {
			e = submitError(comp.Err)
		}
		if !started {
			writeError(w, e)
			return
		}
		send(e)
		return
	}
	finish := comp.Finish
	if first && chat {
		empty := ""
		send(withNullUsage(chunk(&empty, nil, true), includeUsage))
	}
	send(withNullUsage(chunk(nil, &finish, false), includeUsage))
	if includeUsage {
		out := base
		out.Choices = []choice{}
		out.Usage = &usage
		send(out)
	}
	fmt.Fprint(w, "data: [DONE]\n\n")
	if flusher != nil {
		flusher.Flush()
	}
}

// withNullUsage returns r as a chunk whose usage is null when the usage
// chunk will follow (OpenAI's shape), absent otherwise.
func withNullUsage(r response, include bool) any {
	if !include {
		return r
	}
	return struct {
		response
		Usage *usageJSON `json:"usage"`
	}{response: r}
}

// meter records comp's usage under key and waits until it is durable. A
// request that failed before generating anything is not charged (nor is
// a non-streamed one that failed at all: complete does not meter it).
func (s *Server) meter(key ledger.APIKey, model, id string, comp *infer.Completion) (usageJSON, error) {
	u := usageJSON{PromptTokens: comp.PromptTokens, CompletionTokens: comp.CompletionTokens,
		TotalTokens: comp.PromptTokens + comp.CompletionTokens}
	if comp.Err != nil && comp.CompletionTokens == 0 {
		return u, nil
	}
	if comp.Ledger != "" {
		model = comp.Ledger
	}
	err := <-s.b.RecordUsage(ledger.Usage{Request: id, KeyID: key.ID, Model: model, PromptTokens: u.PromptTokens,
		CompletionTokens: u.CompletionTokens, Wei: ledger.Price(u.TotalTokens, key.PriceWei)})
	if err != nil {
		s.log.Error("meter a completion", "request", id, "key", key.Name, "err", err)
	}
	return u, err
}
