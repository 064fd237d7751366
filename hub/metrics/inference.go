package metrics

import (
	"net/http"
	"strconv"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
)

// Inference is one served model's inference counters (hub/infer's
// Stats), read at each scrape.
type Inference struct {
	Requests, Finished, Failed uint64
	Decoding, Waiting          int
	Steps, Sequences, Tokens   uint64
	MaxBatch                   uint64
	StepSeconds                float64
	FirstTokens                uint64
	FirstTokenSeconds          float64
}

// WatchInference makes each scrape report f's result, by model. The
// service calls it once, with its engines' counters.
func (m *Metrics) WatchInference(f func() map[string]Inference) {
	if m != nil {
		m.inference.f.Store(&f)
	}
}

// inferenceWatcher is the collector of what WatchInference reports.
type inferenceWatcher struct {
	f atomic.Pointer[func() map[string]Inference]

	requests, finished, failed, decoding, waiting *prometheus.Desc
	steps, sequences, tokens, maxBatch, stepTime  *prometheus.Desc
	firstToken                                    *prometheus.Desc
}

func newInferenceWatcher() *inferenceWatcher {
	d := func(name, help string) *prometheus.Desc {
		return prometheus.NewDesc(name, help, []string{"model"}, nil)
	}
	return &inferenceWatcher{
		requests: d("tessera_inference_requests_total", "Completion and classification requests queued for decoding, by model."),
		finished: d("tessera_inference_requests_finished_total", "Requests that ended with their answer (a stop or the token limit), by model."),
		failed: d("tessera_inference_requests_failed_total",
			"Requests that ended with an error: no contributor answered within the step timeout, the hub shut down, or the caller went away, by model."),
		decoding: d("tessera_inference_requests_decoding", "Requests being decoded now (the continuous batch), by model."),
		waiting:  d("tessera_inference_requests_waiting", "Requests queued to join the batch, by model."),
		steps:    d("tessera_inference_steps_total", "Decoding steps (one token for every request in the batch), by model."),
		sequences: d("tessera_inference_sequences_total",
			"Requests summed over steps: its rate over tessera_inference_steps_total's is the mean batch, by model."),
		tokens:   d("tessera_inference_tokens_total", "Tokens generated, by model."),
		maxBatch: d("tessera_inference_max_batch", "The most requests decoded in one step since the hub started, by model."),
		stepTime: d("tessera_inference_step_seconds_total", "Time spent in decoding steps (contributors' rounds and the hub's work), by model."),
		firstToken: d("tessera_inference_time_to_first_token_seconds",
			"Time from a request's arrival to its first generated token, by model (sum and count; divide their rates for the mean)."),
	}
}

// Describe implements prometheus.Collector.
func (w *inferenceWatcher) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{w.requests, w.finished, w.failed, w.decoding, w.waiting,
		w.steps, w.sequences, w.tokens, w.maxBatch, w.stepTime, w.firstToken} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (w *inferenceWatcher) Collect(ch chan<- prometheus.Metric) {
	f := w.f.Load()
	if f == nil {
		return
	}
	for model, s := range (*f)() {
		counter := func(d *prometheus.Desc, v float64) {
			ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v, model)
		}
		gauge := func(d *prometheus.Desc, v float64) {
			ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, model)
		}
		counter(w.requests, float64(s.Requests))
		counter(w.finished, float64(s.Finished))
		counter(w.failed, float64(s.Failed))
		gauge(w.decoding, float64(s.Decoding))
		gauge(w.waiting, float64(s.Waiting))
		counter(w.steps, float64(s.Steps))
		counter(w.sequences, float64(s.Sequences))
		counter(w.tokens, float64(s.Tokens))
		gauge(w.maxBatch, float64(s.MaxBatch))
		counter(w.stepTime, s.StepSeconds)
		ch <- prometheus.MustNewConstSummary(w.firstToken, s.FirstTokens, s.FirstTokenSeconds, nil, model)
	}
}

// APIResponses wraps h, an inference API endpoint, so that its responses
// are counted by route and status code (tessera_api_responses_total):
// 401s, 429s and 503s show there before users report them.
func (m *Metrics) APIResponses(route string, h http.Handler) http.Handler {
	if m == nil {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		h.ServeHTTP(sw, r)
		m.apiResponses.WithLabelValues(route, strconv.Itoa(sw.status)).Inc()
	})
}

// statusWriter remembers the status a handler wrote. Flush and Unwrap
// keep streaming (server-sent events) working through it.
type statusWriter struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wrote {
		w.status, w.wrote = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	w.wrote = true
	return w.ResponseWriter.Write(b)
}

// Flush implements http.Flusher.
func (w *statusWriter) Flush() {
	w.wrote = true
	http.NewResponseController(w.ResponseWriter).Flush()
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
