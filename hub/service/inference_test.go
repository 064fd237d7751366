package service_test

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tessera-ai/tessera/hub/metrics/metricstest"
	"github.com/tessera-ai/tessera/hub/train"
	"github.com/tessera-ai/tessera/internal/identity"
	"github.com/tessera-ai/tessera/internal/safetensors"
)

// TestInferenceOverHTTP serves both kinds of model through the assembled
// hub and a CPU contributor, over HTTP as a user calls them: an MLP job's
// classification (POST /api/v1/jobs/{id}/classify) equals an independent
// forward pass of its exported weights, and is keyed, checked and
// metered; a language model's completion moves the inference metrics.
// GET /metrics counts the API's responses by route and status.
func TestInferenceOverHTTP(t *testing.T) {
	h := startAdminHub(t, t.TempDir())
	key, _ := identity.Generate()
	contribute(t, h, key)

	mlp := createJob(t, h, `{"name": "digits", "model": {"type": "mlp", "layers": [784, 32, 10]}, "tile_cols": 16, "wire_dtype": "float32",
		"max_steps": 3, "eval_every": 3, "checkpoint_every": 3, "target_accuracy": 0, "exposure_cap": 1}`)
	text := filepath.Join(t.TempDir(), "corpus")
	os.MkdirAll(text, 0o700)
	for i := range 4 {
		os.WriteFile(filepath.Join(text, fmt.Sprintf("f%d.txt", i)), []byte(strings.Repeat("func main() { return }\n", 100)), 0o600)
	}
	spec := train.GoCodeLMSpec()
	spec.Name = "tiny-lm"
	spec.Model.NLayer, spec.Model.NEmbd, spec.Model.NHead, spec.Model.NPositions, spec.Model.AttnBatch = 1, 16, 2, 16, 4
	spec.Corpus = &train.CorpusSpec{Path: text, ValidationPercent: 25}
	spec.BatchSize, spec.MaxSteps, spec.EvalEvery, spec.EvalWindows, spec.CheckpointEvery = 2, 2, 2, 2, 2
	spec.Optimizer.WarmupSteps, spec.TileCols, spec.ExposureCap = 1, 16, 1
	raw, _ := json.Marshal(spec)
	lm := createJob(t, h, string(raw))
	for _, id := range []string{mlp, lm} {
		waitUntil(t, id+" to finish", func() bool {
			var j struct{ State string }
			return h.do(t, "GET", "/api/v1/jobs/"+id, "", "", &j) == http.StatusOK && j.State == "done"
		})
	}
	var k struct{ Key string }
	if code := h.do(t, "POST", "/api/v1/admin/keys", h.token, `{"name": "paid", "price_per_1k_tokens_wei": "1000"}`, &k); code != http.StatusCreated {
		t.Fatalf("create key: %d", code)
	}
	before := metricstest.Scrape(t, h.base+"/metrics")

	// Classification, computed by the contributor (a paid key's work is
	// not done by the hub), against the exported weights.
	rng := rand.New(rand.NewPCG(1, 2))
	images := make([][]float32, 3)
	for i := range images {
		images[i] = make([]float32, 784)
		for j := range images[i] {
			images[i][j] = rng.Float32()
		}
	}
	body, _ := json.Marshal(map[string]any{"images": images})
	var got struct {
		Model         string
		Step          int
		Predictions   []int
		Probabilities [][]float64
	}
	if code := h.do(t, "POST", "/api/v1/jobs/"+mlp+"/classify", k.Key, string(body), &got); code != http.StatusOK {
		t.Fatalf("classify: %d", code)
	}
	want := mlpForward(t, h, mlp, images)
	if got.Model != mlp || got.Step != 3 || len(got.Predictions) != len(images) || len(got.Probabilities) != len(images) {
		t.Fatalf("classify answered %+v", got)
	}
	for i, p := range want {
		best := 0
		for c := range p {
			if d := math.Abs(got.Probabilities[i][c] - p[c]); d > 1e-5 {
				t.Errorf("image %d class %d: probability %v, the exported weights give %v", i, c, got.Probabilities[i][c], p[c])
			}
			if p[c] > p[best] {
				best = c
			}
		}
		if got.Predictions[i] != best {
			t.Errorf("image %d: predicted %d, the exported weights give %d", i, got.Predictions[i], best)
		}
	}

	// Refusals: no key, wrong image size, an unknown job, a language model.
	checkRefusal(t, h, "/api/v1/jobs/"+mlp+"/classify", "", string(body), http.StatusUnauthorized)
	checkRefusal(t, h, "/api/v1/jobs/"+mlp+"/classify", k.Key, `{"images": [[0.5, 0.5]]}`, http.StatusBadRequest)
	checkRefusal(t, h, "/api/v1/jobs/no-such-job/classify", k.Key, string(body), http.StatusNotFound)
	checkRefusal(t, h, "/api/v1/jobs/"+lm+"/classify", k.Key, string(body), http.StatusNotFound)

	// A completion, and a request for a model that does not exist.
	var comp struct {
		Usage struct {
			CompletionTokens int `json:"completion_tokens"`
		}
	}
	if code := h.do(t, "POST", "/v1/completions", k.Key, `{"model": "tiny-lm", "prompt": "func", "max_tokens": 4, "temperature": 0}`, &comp); code != http.StatusOK {
		t.Fatalf("completion: %d", code)
	}
	checkRefusal(t, h, "/v1/completions", k.Key, `{"model": "nope", "prompt": "func", "max_tokens": 4}`, http.StatusNotFound)

	// Metered: each image is one prompt token at 1000 wei per 1000.
	var usage struct {
		Models []struct {
			Model        string
			Requests     int64
			PromptTokens int64  `json:"prompt_tokens"`
			Wei          string `json:"revenue_wei"`
		}
	}
	h.do(t, "GET", "/api/v1/usage", "", "", &usage)
	metered := false
	for _, u := range usage.Models {
		if u.Model == mlp {
			metered = u.Requests == 1 && u.PromptTokens == 3 && u.Wei == "3"
			if !metered {
				t.Errorf("classification usage %+v, want 1 request, 3 prompt tokens, 3 wei", u)
			}
		}
	}
	if !metered {
		t.Errorf("no usage for %s: %+v", mlp, usage)
	}

	after := metricstest.Scrape(t, h.base+"/metrics")
	delta := func(name string, labels ...string) float64 {
		a, _ := metricstest.Value(after, name, labels...)
		b, _ := metricstest.Value(before, name, labels...)
		return a - b
	}
	classify := []string{"route", "POST /api/v1/jobs/{id}/classify"}
	completions := []string{"route", "POST /v1/completions"}
	for _, c := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"tessera_api_responses_total", append(classify, "code", "200"), 1},
		{"tessera_api_responses_total", append(classify, "code", "401"), 1},
		{"tessera_api_responses_total", append(classify, "code", "400"), 1},
		{"tessera_api_responses_total", append(classify, "code", "404"), 2},
		{"tessera_api_responses_total", append(completions, "code", "200"), 1},
		{"tessera_api_responses_total", append(completions, "code", "404"), 1},
		{"tessera_inference_requests_total", []string{"model", "tiny-lm"}, 1},
		{"tessera_inference_requests_finished_total", []string{"model", "tiny-lm"}, 1},
		{"tessera_inference_requests_failed_total", []string{"model", "tiny-lm"}, 0},
		{"tessera_inference_tokens_total", []string{"model", "tiny-lm"}, float64(comp.Usage.CompletionTokens)},
		{"tessera_inference_time_to_first_token_seconds", []string{"model", "tiny-lm"}, 1}, // its count
	} {
		if got := delta(c.name, c.labels...); got != c.want {
			t.Errorf("%s%v moved by %v, want %v", c.name, c.labels, got, c.want)
		}
	}
	if steps := delta("tessera_inference_steps_total", "model", "tiny-lm"); steps < 1 {
		t.Errorf("tessera_inference_steps_total moved by %v", steps)
	}
}

// createJob creates a job through the admin API and returns its ID.
func createJob(t *testing.T, h *adminHub, spec string) string {
	t.Helper()
	var job struct{ ID string }
	if code := h.do(t, "POST", "/api/v1/admin/jobs", h.token, spec, &job); code != http.StatusCreated {
		t.Fatalf("create job: %d", code)
	}
	return job.ID
}

// checkRefusal posts body to path with key and wants status, with a JSON
// error body.
func checkRefusal(t *testing.T, h *adminHub, path, key, body string, status int) {
	t.Helper()
	var e map[string]any
	if code := h.do(t, "POST", path, key, body, &e); code != status || e["error"] == nil {
		t.Errorf("POST %s: %d %v, want %d with an error", path, code, e, status)
	}
}

// mlpForward computes the class probabilities of images from the job's
// exported safetensors (layers.N.weight stored in×out, layers.N.bias,
// ReLU between layers, softmax at the end), independently of the hub.
func mlpForward(t *testing.T, h *adminHub, id string, images [][]float32) [][]float64 {
	t.Helper()
	resp, err := http.Get(h.base + "/api/v1/jobs/" + id + "/weights")
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	f, err := safetensors.Read(raw)
	if err != nil {
		t.Fatalf("weights: %v", err)
	}
	var out [][]float64
	for _, img := range images {
		x := make([]float64, len(img))
		for i, v := range img {
			x[i] = float64(v)
		}
		for l := 0; ; l++ {
			w, err := f.Float32(fmt.Sprintf("layers.%d.weight", l))
			if err != nil {
				break
			}
			b, err := f.Float32(fmt.Sprintf("layers.%d.bias", l))
			if err != nil {
				t.Fatal(err)
			}
			in, n := w.Shape[0], w.Shape[1]
			y := make([]float64, n)
			for j := range n {
				y[j] = float64(b.Data[j])
				for i := range in {
					y[j] += x[i] * float64(w.Data[i*n+j])
				}
			}
			if _, err := f.Float32(fmt.Sprintf("layers.%d.weight", l+1)); err == nil {
				for j := range y {
					y[j] = max(y[j], 0)
				}
			}
			x = y
		}
		mx := x[0]
		for _, v := range x {
			mx = max(mx, v)
		}
		var sum float64
		p := make([]float64, len(x))
		for c, v := range x {
			p[c] = math.Exp(v - mx)
			sum += p[c]
		}
		for c := range p {
			p[c] /= sum
		}
		out = append(out, p)
	}
	return out
}
