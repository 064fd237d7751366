package infer

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tessera-ai/tessera/hub/infer/infertest"
	"github.com/tessera-ai/tessera/hub/train/tile"
)

// collect reads a completion to its end.
func collect(c *Completion) (string, []string) {
	var pieces []string
	for p := range c.Text {
		pieces = append(pieces, p)
	}
	return strings.Join(pieces, ""), pieces
}

// TestInferenceEngineMatchesDecoder: concurrent requests decoded together
// (prefills beside decoding, contexts sliding past their length) give
// each exactly the greedy text of lm's one-at-a-time Decoder, and are
// batched into shared steps.
func TestInferenceEngineMatchesDecoder(t *testing.T) {
	m := infertest.Model(t)
	e := NewEngine("go", infertest.Source{Name: "go", Model: m, Step: 7, Exec: tile.NewLocal(2)}, Config{})
	defer e.Close()
	prompts := []string{"func main", "fmt.Pri", "", "}\n\nfunc ", "hello"}
	const n = 70 // more than two contexts of 32
	var wg sync.WaitGroup
	got := make([]string, len(prompts))
	comps := make([]*Completion, len(prompts))
	for i, p := range prompts {
		c, err := e.Submit(context.Background(), Request{Prompt: []byte(p), MaxTokens: n, Sampler: infertest.Greedy(t)})
		if err != nil {
			t.Fatal(err)
		}
		comps[i] = c
		wg.Add(1)
		go func() {
			defer wg.Done()
			got[i], _ = collect(c)
		}()
	}
	wg.Wait()
	for i, p := range prompts {
		c := comps[i]
		if c.Err != nil {
			t.Fatalf("request %d: %v", i, c.Err)
		}
		want := m.Generate([]byte(p), n, infertest.Greedy(t))
		if k := strings.IndexByte(string(want), 0); k >= 0 {
			want = want[:k] // the engine stops at the end-of-text token
		}
		if got[i] != string(want) {
			t.Errorf("prompt %q:\n got %q\nwant %q", p, got[i], want)
		}
		if c.PromptTokens != len(p) || c.Step != 7 {
			t.Errorf("prompt %q: %d prompt tokens, step %d", p, c.PromptTokens, c.Step)
		}
		if c.Finish == "length" && c.CompletionTokens != n {
			t.Errorf("prompt %q: finished by length with %d tokens", p, c.CompletionTokens)
		}
	}
	if st := e.Stats(); st.MaxBatch < 2 || st.Sequences <= st.Steps {
		t.Errorf("requests were not batched: %+v", st)
	}
}

// TestInferenceEngineStops: a stop string ends the completion before it,
// is never streamed, and the pieces add up to the text.
func TestInferenceEngineStops(t *testing.T) {
	m := infertest.Model(t)
	e := NewEngine("go", infertest.Source{Name: "go", Model: m, Step: 7, Exec: tile.NewLocal(1)}, Config{})
	defer e.Close()
	ref := string(m.Generate([]byte("func"), 40, infertest.Greedy(t)))
	stop := ref[12:15]
	at := strings.Index(ref, stop)
	c, err := e.Submit(context.Background(), Request{Prompt: []byte("func"), MaxTokens: 40, Sampler: infertest.Greedy(t), Stop: []string{"\x01never", stop}})
	if err != nil {
		t.Fatal(err)
	}
	text, pieces := collect(c)
	if c.Err != nil || c.Finish != "stop" || text != ref[:at] {
		t.Fatalf("stop %q: text %q finish %q err %v; want %q", stop, text, c.Finish, c.Err, ref[:at])
	}
	if c.CompletionTokens != at+len(stop) {
		t.Errorf("%d completion tokens, want %d (the stop string was generated)", c.CompletionTokens, at+len(stop))
	}
	for _, p := range pieces {
		if strings.Contains(p, stop) {
			t.Errorf("piece %q holds the stop string", p)
		}
	}
}

// stall never completes a tile, as a hub with no contributor.
type stall struct{}

func (stall) Start(ctx context.Context, tiles []*tile.Tile) *tile.Batch {
	return tile.NewBatch(len(tiles))
}

// TestInferenceEngineTimesOut: with nobody computing, a request fails
// with ErrNoCompute after the step timeout; bad requests are refused at
// once; a closed engine refuses work.
func TestInferenceEngineTimesOut(t *testing.T) {
	m := infertest.Model(t)
	e := NewEngine("go", infertest.Source{Name: "go", Model: m, Step: 7, Exec: stall{}}, Config{StepTimeout: 50 * time.Millisecond})
	c, err := e.Submit(context.Background(), Request{Prompt: []byte("x"), MaxTokens: 5, Sampler: infertest.Greedy(t)})
	if err != nil {
		t.Fatal(err)
	}
	collect(c)
	if !errors.Is(c.Err, ErrNoCompute) {
		t.Fatalf("err %v, want ErrNoCompute", c.Err)
	}
	for _, tc := range []struct {
		req         Request
		param, code string // of the *RequestError
	}{
		{Request{Prompt: make([]byte, 33), MaxTokens: 1, Sampler: infertest.Greedy(t)}, "", "context_length_exceeded"},
		{Request{Prompt: []byte("x"), MaxTokens: 0, Sampler: infertest.Greedy(t)}, "max_tokens", ""},
		{Request{Prompt: []byte("x"), MaxTokens: 1 << 20, Sampler: infertest.Greedy(t)}, "max_tokens", ""},
		{Request{Prompt: []byte("x"), MaxTokens: 1}, "", ""},
		{Request{Prompt: []byte("x"), MaxTokens: 1, Sampler: infertest.Greedy(t), Stop: []string{""}}, "stop", ""},
	} {
		_, err := e.Submit(context.Background(), tc.req)
		var re *RequestError
		if !errors.Is(err, ErrBadRequest) || !errors.As(err, &re) || re.Param != tc.param || re.Code != tc.code {
			t.Errorf("%d-byte prompt, %d tokens: err %v (%+v), want ErrBadRequest about %q, code %q", len(tc.req.Prompt), tc.req.MaxTokens, err, re, tc.param, tc.code)
		}
	}
	e.Close()
	if _, err := e.Submit(context.Background(), Request{Prompt: []byte("x"), MaxTokens: 1, Sampler: infertest.Greedy(t)}); !errors.Is(err, ErrClosed) {
		t.Errorf("after Close: %v", err)
	}
}

// TestInferenceEngineHubCompute: with HubCompute the hub answers by itself
// even when the model's executor never would.
func TestInferenceEngineHubCompute(t *testing.T) {
	m := infertest.Model(t)
	e := NewEngine("go", infertest.Source{Name: "go", Model: m, Step: 7, Exec: stall{}}, Config{StepTimeout: 50 * time.Millisecond, HubCompute: true})
	defer e.Close()
	c, err := e.Submit(context.Background(), Request{Prompt: []byte("func"), MaxTokens: 10, Sampler: infertest.Greedy(t)})
	if err != nil {
		t.Fatal(err)
	}
	text, _ := collect(c)
	if want := string(m.Generate([]byte("func"), 10, infertest.Greedy(t))); c.Err != nil || text != want {
		t.Fatalf("got %q (%v), want %q", text, c.Err, want)
	}
}

// TestInferenceEngineMemoryBound: with room for one KV cache, concurrent
// requests are decoded one at a time, and all of them complete.
func TestInferenceEngineMemoryBound(t *testing.T) {
	m := infertest.Model(t)
	c := m.Config()
	one := int64(2 * 4 * c.Layers * c.Context * c.Embd)
	e := NewEngine("go", infertest.Source{Name: "go", Model: m, Step: 7, Exec: tile.NewLocal(1)}, Config{MaxKVBytes: one})
	defer e.Close()
	var cs []*Completion
	for range 4 {
		comp, err := e.Submit(context.Background(), Request{Prompt: []byte("func"), MaxTokens: 10, Sampler: infertest.Greedy(t)})
		if err != nil {
			t.Fatal(err)
		}
		cs = append(cs, comp)
	}
	want := string(m.Generate([]byte("func"), 10, infertest.Greedy(t)))
	for i, comp := range cs {
		if text, _ := collect(comp); comp.Err != nil || text != want {
			t.Errorf("request %d: %q %v", i, text, comp.Err)
		}
	}
	if st := e.Stats(); st.MaxBatch != 1 {
		t.Errorf("%d requests decoded together with room for one", st.MaxBatch)
	}
}

// gate runs tiles on exec, except that tiles of rows rows wait until open
// is closed; seen is closed when the first such tile arrives.
type gate struct {
	exec       tile.Executor
	rows       int
	seen, open chan struct{}
	once       sync.Once
}

func (g *gate) Start(ctx context.Context, tiles []*tile.Tile) *tile.Batch {
	for _, t := range tiles {
		if t.Shape.M == g.rows {
			g.once.Do(func() { close(g.seen) })
			b := tile.NewBatch(1)
			go func() {
				<-g.open
				b.Complete(g.exec.Start(ctx, tiles).Wait(ctx))
			}()
			return b
		}
	}
	return g.exec.Start(ctx, tiles)
}

// TestInferenceEngineLanesStepApart: while one lane's step waits for its
// tiles, a request in the other lane is decoded to its end (lanes do not
// step in lockstep), and then the waiting one completes too.
func TestInferenceEngineLanesStepApart(t *testing.T) {
	m := infertest.Model(t)
	g := &gate{exec: tile.NewLocal(1), rows: 5, seen: make(chan struct{}), open: make(chan struct{})}
	e := NewEngine("go", infertest.Source{Name: "go", Model: m, Step: 7, Exec: g}, Config{Lanes: 2})
	defer e.Close()
	slow, err := e.Submit(context.Background(), Request{Prompt: []byte("func("), MaxTokens: 10, Sampler: infertest.Greedy(t)})
	if err != nil {
		t.Fatal(err)
	}
	<-g.seen // the first lane is in its step, waiting
	fast, err := e.Submit(context.Background(), Request{Prompt: []byte("fmt"), MaxTokens: 10, Sampler: infertest.Greedy(t)})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan string)
	go func() {
		text, _ := collect(fast)
		done <- text
	}()
	select {
	case text := <-done:
		if want := string(m.Generate([]byte("fmt"), 10, infertest.Greedy(t))); fast.Err != nil || text != want {
			t.Errorf("the other lane's request: %q (%v), want %q", text, fast.Err, want)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("a request in the other lane made no progress while the first lane waited")
	}
	close(g.open)
	text, _ := collect(slow)
	if want := string(m.Generate([]byte("func("), 10, infertest.Greedy(t))); slow.Err != nil || text != want {
		t.Errorf("the waiting request: %q (%v), want %q", text, slow.Err, want)
	}
}

// TestInferenceEngineMaxBatchOverLanes: MaxBatch bounds the requests
// decoded at once over all lanes: with room for one, a second request
// waits while the first lane's step is held, even though the other lane
// is idle, and completes once the first is done.
func TestInferenceEngineMaxBatchOverLanes(t *testing.T) {
	m := infertest.Model(t)
	g := &gate{exec: tile.NewLocal(1), rows: 5, seen: make(chan struct{}), open: make(chan struct{})}
	e := NewEngine("go", infertest.Source{Name: "go", Model: m, Step: 7, Exec: g}, Config{Lanes: 2, MaxBatch: 1})
	defer e.Close()
	first, err := e.Submit(context.Background(), Request{Prompt: []byte("func("), MaxTokens: 5, Sampler: infertest.Greedy(t)})
	if err != nil {
		t.Fatal(err)
	}
	<-g.seen
	second, err := e.Submit(context.Background(), Request{Prompt: []byte("fmt"), MaxTokens: 5, Sampler: infertest.Greedy(t)})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case piece := <-second.Text:
		t.Fatalf("the second request was decoded (%q) beside the first with MaxBatch 1", piece)
	case <-time.After(300 * time.Millisecond):
	}
	close(g.open)
	for _, c := range []*Completion{first, second} {
		if text, _ := collect(c); c.Err != nil || text == "" {
			t.Errorf("completion %q, %v", text, c.Err)
		}
	}
}
