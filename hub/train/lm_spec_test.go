package train_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tessera-ai/tessera/hub/store"
	"github.com/tessera-ai/tessera/hub/train"
)

// TestLanguageModelSpecRefusals: specs a hub must not run are refused
// with an error that names the problem.
func TestLanguageModelSpecRefusals(t *testing.T) {
	for _, tc := range []struct {
		name, spec, want string
	}{
		{"OK", `{"name":"lm","model":{"type":"gpt2"}}`, ""},
		{"HeadsDoNotDivide", `{"name":"lm","model":{"type":"gpt2","n_embd":100,"n_head":3}}`, "multiple of n_head"},
		{"TooManyParams", `{"name":"lm","model":{"type":"gpt2","n_layer":48,"n_embd":2048,"n_head":16}}`, "parameters, more than the hub's limit"},
		{"TooManyActivations", `{"name":"lm","model":{"type":"gpt2","n_positions":2048},"batch_size":512}`, "activations"},
		{"ContextTooLong", `{"name":"lm","model":{"type":"gpt2","n_positions":100000}}`, "n_positions must be"},
		{"ZeroLayers", `{"name":"lm","model":{"type":"gpt2","n_layer":0}}`, "n_layer must be"},
		{"WrongOptimizer", `{"name":"lm","model":{"type":"gpt2"},"optimizer":{"type":"adam","lr":0.001}}`, "adamw"},
		{"WarmupPastEnd", `{"name":"lm","model":{"type":"gpt2"},"max_steps":10,"optimizer":{"type":"adamw","lr":0.001,"beta1":0.9,"beta2":0.95,"eps":1e-8,"warmup_steps":100}}`, "warmup_steps"},
		{"MinLRAboveLR", `{"name":"lm","model":{"type":"gpt2"},"optimizer":{"type":"adamw","lr":0.001,"min_lr":0.1,"beta1":0.9,"beta2":0.95,"eps":1e-8}}`, "min_lr"},
		{"MNISTForLM", `{"name":"lm","model":{"type":"gpt2"},"dataset":"mnist"}`, `dataset "text"`},
		{"TextForMLP", `{"name":"m","dataset":"text"}`, `dataset "mnist"`},
		{"NoCorpus", `{"name":"lm","model":{"type":"gpt2"},"corpus":null}`, "needs a corpus"},
		{"LayersForLM", `{"name":"lm","model":{"type":"gpt2","layers":[1,2]}}`, "model.layers is for an mlp"},
		{"HugeEvalWindows", `{"name":"lm","model":{"type":"gpt2"},"eval_windows":1000000}`, "eval_windows"},
		{"EvalStrideOverContext", `{"name":"lm","model":{"type":"gpt2","n_positions":64},"eval_stride":65}`, "eval_stride must be between 1 and n_positions (64)"},
		{"NegativeEvalStride", `{"name":"lm","model":{"type":"gpt2"},"eval_stride":-1}`, "eval_stride"},
		{"AccuracyTarget", `{"name":"lm","model":{"type":"gpt2"},"target_accuracy":0.9}`, "target_bits_per_byte"},
		{"UnknownModel", `{"name":"x","model":{"type":"rnn"}}`, `"mlp" or "gpt2"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := train.ParseSpec(strings.NewReader(tc.spec))
			if tc.want == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one mentioning %q", err, tc.want)
			}
		})
	}
}

// TestLanguageModelBadCorpora: a corpus that cannot be trained on is
// refused when its job is created, with the file or path named, and the
// hub goes on.
func TestLanguageModelBadCorpora(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	os.MkdirAll(filepath.Join(dir, "empty"), 0o755)
	write("binary/a.txt", []byte("text\x00\x01\x02"))
	write("binary/b.txt", []byte("more text"))
	write("large/big.txt", []byte(strings.Repeat("x", 16<<20+1)))
	write("jsonl/bad.jsonl", []byte("{\"text\":\"ok\"}\n{\"txt\":\"no text field\"}\n"))
	mgr, _, db := startManagerDB(t)
	for _, tc := range []struct{ name, path, want string }{
		{"Missing", filepath.Join(dir, "nope"), "nope"},
		{"Empty", filepath.Join(dir, "empty"), "empty"},
		{"Binary", filepath.Join(dir, "binary"), "a.txt"},
		{"TooLarge", filepath.Join(dir, "large"), "big.txt"},
		{"BadJSONL", filepath.Join(dir, "jsonl"), "bad.jsonl"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spec := train.GoCodeLMSpec()
			spec.Corpus = &train.CorpusSpec{Path: tc.path, ValidationPercent: 50}
			raw, _ := json.Marshal(spec)
			parsed, err := train.ParseSpec(strings.NewReader(string(raw)))
			if err != nil {
				t.Fatal(err)
			}
			_, err = mgr.Create(context.Background(), parsed)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one naming %q", err, tc.want)
			}
			t.Log(err)
		})
	}
	// A refused job leaves nothing behind (the hub's default jobs are
	// listed as failed instead: TestServiceDefaultJobsWithoutGoSource).
	if st := mgr.Statuses(); len(st) != 0 {
		t.Errorf("%d jobs listed after 5 refused corpora: %+v", len(st), st)
	}
	if rows, err := db.Jobs(context.Background()); err != nil || len(rows) != 0 {
		t.Errorf("the database holds %d jobs after 5 refused corpora (%v)", len(rows), err)
	}
}

// TestTargetEndsOnWholeSplit sets a target the first sampled evaluation
// meets: the job must score the whole validation split before it ends,
// and end on that figure, at that step.
func TestTargetEndsOnWholeSplit(t *testing.T) {
	spec := tinyLMSpec(t, 100)
	spec.Model.NEmbd, spec.Model.NPositions = 16, 16
	spec.EvalEvery, spec.EvalWindows, spec.CheckpointEvery = 5, 4, 5
	spec.TargetBitsPerByte = 8 // any model meets it
	hist := trainLocal(t, spec)
	if len(hist) != 1 {
		t.Fatalf("history %+v, want one evaluation (replaced by the whole split's)", hist)
	}
	if p := hist[0]; p.Step != 5 || !p.Full || p.BitsPerByte <= 0 || p.TrainLoss <= 0 {
		t.Errorf("the job ended on %+v, want the whole split's evaluation at step 5 with its training loss", p)
	}
}

// TestBrokenJobIsListed restarts a manager whose language-model job lost
// its corpus: the job is listed as failed with the reason (it used to
// vanish from the list), and removing it deletes it.
func TestBrokenJobIsListed(t *testing.T) {
	h, _ := startNetwork(t, 1)
	dir := t.TempDir()
	db, err := store.Open(context.Background(), filepath.Join(dir, "hub.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	text := filepath.Join(t.TempDir(), "corpus")
	if err := os.MkdirAll(text, 0o700); err != nil {
		t.Fatal(err)
	}
	for i := range 4 {
		os.WriteFile(filepath.Join(text, fmt.Sprintf("f%d.txt", i)), []byte(strings.Repeat("some text to learn from. ", 200)), 0o600)
	}
	spec := tinyLMSpec(t, 1_000_000)
	spec.Corpus = &train.CorpusSpec{Path: text, ValidationPercent: 25}
	spec.ExposureCap = 1
	spec.CheckpointEvery = 1
	spec.EvalEvery = 1

	ctx, cancel := context.WithCancel(context.Background())
	mgr := train.NewManager(h, db, train.ManagerConfig{DataDir: dir, Logger: quiet})
	if err := mgr.Start(ctx); err != nil {
		t.Fatal(err)
	}
	id, err := mgr.Create(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	// A resume that cannot load the job's checkpoint lists the job as
	// failed, with the reason (it used to vanish until a restart).
	var row store.Job
	var hist []store.Point
	for deadline := time.Now().Add(time.Minute); row.Checkpoint == "" || len(hist) == 0; time.Sleep(10 * time.Millisecond) {
		if row, err = db.Job(ctx, id); err != nil || time.Now().After(deadline) {
			t.Fatalf("no checkpoint and evaluation: %+v %v", row, err)
		}
		if hist, err = db.History(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	if err := mgr.Pause(ctx, id); err != nil {
		t.Fatal(err)
	}
	row, _ = db.Job(ctx, id)
	ckpt := filepath.Join(dir, row.Checkpoint)
	good, err := os.ReadFile(ckpt)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(ckpt, []byte("not a checkpoint"), 0o600)
	if err := mgr.Resume(ctx, id); err == nil {
		t.Fatal("resumed a job whose checkpoint is garbage")
	}
	if sts := mgr.Statuses(); len(sts) != 1 || sts[0].State != store.StateFailed || sts[0].Error == "" || sts[0].Model != "gpt2" {
		t.Errorf("after a failed resume: %+v, want the job listed as failed with the reason", sts)
	}
	if err := mgr.Pause(ctx, id); !errors.Is(err, train.ErrBrokenJob) {
		t.Errorf("pause a job that failed to resume: %v, want ErrBrokenJob", err)
	}
	os.WriteFile(ckpt, good, 0o600)
	cancel()
	mgr.Wait()

	os.RemoveAll(text)
	ctx, cancel = context.WithCancel(context.Background())
	defer cancel()
	mgr = train.NewManager(h, db, train.ManagerConfig{DataDir: dir, Logger: quiet})
	if err := mgr.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer mgr.Wait()
	sts := mgr.Statuses()
	if len(sts) != 1 || sts[0].ID != id || sts[0].State != store.StateFailed || !strings.Contains(sts[0].Error, "corpus") {
		t.Fatalf("after restart: %+v, want job %s failed for its corpus", sts, id)
	}
	// GET shows it, by ID or name: the reason, what its spec asked for,
	// and the evaluations it made before it broke.
	mux := http.NewServeMux()
	mgr.Routes(mux.Handle, testToken)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	for _, ref := range []string{id, spec.Name} {
		resp, err := http.Get(srv.URL + "/api/v1/jobs/" + ref)
		if err != nil {
			t.Fatal(err)
		}
		var d train.JobDetail
		err = json.NewDecoder(resp.Body).Decode(&d)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || err != nil {
			t.Fatalf("GET the broken job by %q: HTTP %d, %v", ref, resp.StatusCode, err)
		}
		if d.ID != id || d.State != store.StateFailed || !strings.Contains(d.Error, "corpus") || d.Spec.Name != spec.Name ||
			d.Spec.Corpus == nil || d.Spec.Corpus.Path != text || d.MaxSteps != spec.MaxSteps || d.Created.IsZero() {
			t.Errorf("GET the broken job by %q: %+v", ref, d)
		}
		if len(d.History) == 0 {
			t.Errorf("GET the broken job by %q: no history, want the evaluations it made", ref)
		}
	}
	// It can only be removed, also by its name.
	if err := mgr.Pause(ctx, spec.Name); !errors.Is(err, train.ErrBrokenJob) || !strings.Contains(err.Error(), "corpus") {
		t.Errorf("pause the broken job: %v, want ErrBrokenJob with the reason", err)
	}
	if err := mgr.Remove(ctx, spec.Name); err != nil {
		t.Fatalf("remove the broken job: %v", err)
	}
	if sts := mgr.Statuses(); len(sts) != 0 {
		t.Errorf("after remove: %+v", sts)
	}
	if rows, _ := db.Jobs(ctx); len(rows) != 0 {
		t.Errorf("the database still holds %d jobs", len(rows))
	}
}

// TestSpecZeroesSurviveRoundTrip: ParseSpec lays a spec over its model
// type's defaults, so a field whose default is not zero must keep an
// explicit zero when the spec is written and read again (the admin CLI
// and the API print specs back): beta1 0 is Adam without momentum, not a
// request for the default 0.9. Every field of both default specs is
// tried at its zero value; each spec accepted must read back the same.
func TestSpecZeroesSurviveRoundTrip(t *testing.T) {
	tried := 0
	for _, def := range []train.Spec{train.MNISTSpec(), train.GoCodeLMSpec()} {
		raw, _ := json.Marshal(def)
		var doc map[string]any
		if err := json.Unmarshal(raw, &doc); err != nil {
			t.Fatal(err)
		}
		forEachZeroed(doc, "", func(path string) {
			edited, _ := json.Marshal(doc)
			first, err := train.ParseSpec(strings.NewReader(string(edited)))
			if err != nil {
				return // zero is refused for this field: nothing to keep
			}
			tried++
			out, _ := json.Marshal(first)
			again, err := train.ParseSpec(strings.NewReader(string(out)))
			if err != nil {
				t.Fatalf("%s %s at its zero value: read back: %v", def.Name, path, err)
			}
			if back, _ := json.Marshal(again); string(back) != string(out) {
				t.Errorf("%s %s at its zero value does not survive: %s, read back as %s", def.Name, path, out, back)
			}
		})
	}
	if tried < 10 {
		t.Fatalf("only %d zeroed fields were accepted: the walk found nothing to test", tried)
	}
}

// forEachZeroed sets each number, string and bool under obj to its zero
// value in turn (restoring it after), calling f with the field's path.
func forEachZeroed(obj map[string]any, prefix string, f func(path string)) {
	for k, v := range obj {
		var zero any
		switch v := v.(type) {
		case map[string]any:
			forEachZeroed(v, prefix+k+".", f)
			continue
		case float64:
			zero = 0.0
		case string:
			zero = ""
		case bool:
			zero = false
		default:
			continue
		}
		if v == zero {
			continue
		}
		obj[k] = zero
		f(prefix + k)
		obj[k] = v
	}
}
