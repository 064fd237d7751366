package train_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tessera-ai/tessera/hub/store"
	"github.com/tessera-ai/tessera/hub/train"
)

const testToken = "0123456789abcdef0123456789abcdef"

// startManager runs a Manager with a real SQLite file over a real hub with
// two CPU contributors, and serves its API.
func startManager(t *testing.T) (*train.Manager, *httptest.Server) {
	t.Helper()
	mgr, srv, _ := startManagerDB(t)
	return mgr, srv
}

// startManagerDB is startManager, also returning the manager's database.
func startManagerDB(t *testing.T) (*train.Manager, *httptest.Server, *store.DB) {
	t.Helper()
	h, _ := startNetwork(t, 2)
	dir := t.TempDir()
	db, err := store.Open(context.Background(), filepath.Join(dir, "hub.db"))
	if err != nil {
		t.Fatal(err)
	}
	mgr := train.NewManager(h, db, train.ManagerConfig{DataDir: dir, Logger: quiet})
	mux := http.NewServeMux()
	mgr.Routes(mux.Handle, testToken)
	ctx, cancel := context.WithCancel(context.Background())
	if err := mgr.Start(ctx); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(mux)
	t.Cleanup(func() { cancel(); mgr.Wait(); srv.Close(); db.Close() })
	return mgr, srv, db
}

func tinyJob(name string) train.Spec {
	s := train.MNISTSpec()
	s.Name = name
	s.Model.Layers = []int{784, 32, 10}
	s.TileCols = 16
	s.MaxSteps = 40
	s.EvalEvery = 20
	s.CheckpointEvery = 10
	s.TargetAccuracy = 0
	s.ExposureCap = 1
	return s
}

func call(t *testing.T, method, url, token, body string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

func waitState(t *testing.T, mgr *train.Manager, id, state string) train.JobStatus {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		for _, st := range mgr.Statuses() {
			if st.ID == id && st.State == state {
				return st
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("job %s never reached %s: %+v", id, state, mgr.Statuses())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestJobsRunConcurrently runs two separately owned jobs at once through
// the same contributors; both finish with their own history.
func TestJobsRunConcurrently(t *testing.T) {
	mgr, srv := startManager(t)
	ctx := context.Background()
	a, err := mgr.Create(ctx, tinyJob("a"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := mgr.Create(ctx, tinyJob("b"))
	if err != nil {
		t.Fatal(err)
	}
	if a == b {
		t.Fatal("two jobs share an ID")
	}
	for _, id := range []string{a, b} {
		st := waitState(t, mgr, id, "done")
		if st.Step != 40 || st.Latest == nil || st.Latest.Step != 40 {
			t.Errorf("job %s: %+v", id, st)
		}
		code, d := call(t, "GET", srv.URL+"/api/v1/jobs/"+id, "", "")
		if code != 200 || len(d["history"].([]any)) != 2 {
			t.Errorf("GET job %s: %d %v", id, code, d)
		}
	}
	code, list := call(t, "GET", srv.URL+"/api/v1/jobs", "", "")
	if code != 200 || len(list["jobs"].([]any)) != 2 {
		t.Errorf("GET jobs: %d %v", code, list)
	}
}

// TestJobNames checks that the jobs API takes a job's name where only one
// job has it, and refuses a name two jobs share, naming their IDs.
func TestJobNames(t *testing.T) {
	mgr, srv := startManager(t)
	ctx := context.Background()
	long := tinyJob("twin")
	long.MaxSteps = 100000
	a, err := mgr.Create(ctx, long)
	if err != nil {
		t.Fatal(err)
	}
	if code, d := call(t, "GET", srv.URL+"/api/v1/jobs/twin", "", ""); code != 200 || d["id"] != a {
		t.Errorf("GET by a name one job has: %d %v", code, d)
	}
	if code, d := call(t, "POST", srv.URL+"/api/v1/admin/jobs/twin/pause", testToken, ""); code != 200 || d["id"] != a || d["state"] != "paused" {
		t.Errorf("pause by name: %d %v", code, d)
	}
	b, err := mgr.Create(ctx, long)
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/api/v1/jobs/twin", "/api/v1/jobs/twin/weights", "/api/v1/jobs/twin/config.json"} {
		code, d := call(t, "GET", srv.URL+path, "", "")
		msg, _ := d["error"].(string)
		if code != 409 || !strings.Contains(msg, a) || !strings.Contains(msg, b) || !strings.Contains(msg, "use an ID") {
			t.Errorf("GET %s with a shared name: %d %v", path, code, d)
		}
	}
	for _, act := range []string{"pause", "resume"} {
		code, d := call(t, "POST", srv.URL+"/api/v1/admin/jobs/twin/"+act, testToken, "")
		if msg, _ := d["error"].(string); code != 409 || !strings.Contains(msg, "use an ID") || !strings.Contains(msg, a) || !strings.Contains(msg, b) {
			t.Errorf("%s by a shared name: %d %v, want 409 naming both IDs", act, code, d)
		}
	}
	if code, _ := call(t, "POST", srv.URL+"/api/v1/admin/jobs/no-such-name/pause", testToken, ""); code != 404 {
		t.Errorf("pause by an unknown name: %d, want 404", code)
	}
	if _, _, _, err := mgr.Classify(ctx, "twin", [][]float32{make([]float32, 784)}, nil); !errors.Is(err, train.ErrAmbiguousJob) {
		t.Errorf("classify by a shared name: %v, want ErrAmbiguousJob", err)
	}
	if code, _ := call(t, "DELETE", srv.URL+"/api/v1/admin/jobs/twin", testToken, ""); code != 409 {
		t.Errorf("remove by a shared name: %d, want 409", code)
	}
	if len(mgr.Statuses()) != 2 {
		t.Errorf("a refused removal removed a job: %+v", mgr.Statuses())
	}
	if code, d := call(t, "DELETE", srv.URL+"/api/v1/admin/jobs/"+b, testToken, ""); code != 200 || d["removed"] != b {
		t.Errorf("remove by ID: %d %v", code, d)
	}
	if code, d := call(t, "GET", srv.URL+"/api/v1/jobs/twin", "", ""); code != 200 || d["id"] != a {
		t.Errorf("GET by the name once it is unique again: %d %v", code, d)
	}
}

func TestAdminAPI(t *testing.T) {
	mgr, srv := startManager(t)
	spec, _ := json.Marshal(func() train.Spec { s := tinyJob("api"); s.MaxSteps = 100000; return s }())
	t.Run("WrongToken", func(t *testing.T) {
		for _, tok := range []string{"", "nope", testToken + "x"} {
			if code, body := call(t, "POST", srv.URL+"/api/v1/admin/jobs", tok, string(spec)); code != 401 || body["error"] == nil {
				t.Errorf("token %q: %d %v", tok, code, body)
			}
		}
		if len(mgr.Statuses()) != 0 {
			t.Error("a refused request created a job")
		}
	})
	t.Run("BadSpec", func(t *testing.T) {
		for body, want := range map[string]string{
			`{"model":{"type":"mlp","layers":[784,10]},"batch_size":0}`: "batch_size",
			`{"optimizer":{"type":"rmsprop","lr":0.1}}`:                 "optimizer.type",
			`{"exposure_cap":2}`:       "exposure_cap",
			`{"wire_dtype":"float16"}`: "wire_dtype",
			`{"nonsense":1}`:           "unknown field",
			`not json`:                 "invalid job spec",
			`{"model":{"type":"mlp","layers":[784,784,10]},"tile_cols":784,"exposure_cap":0.3}`: "exposure cap",
		} {
			code, out := call(t, "POST", srv.URL+"/api/v1/admin/jobs", testToken, body)
			if code != 400 || !strings.Contains(out["error"].(string), want) {
				t.Errorf("%s: %d %v, want 400 mentioning %q", body, code, out, want)
			}
		}
	})
	t.Run("Lifecycle", func(t *testing.T) {
		code, out := call(t, "POST", srv.URL+"/api/v1/admin/jobs", testToken, string(spec))
		if code != 201 {
			t.Fatalf("create: %d %v", code, out)
		}
		id := out["id"].(string)
		waitState(t, mgr, id, "running")
		if code, out := call(t, "POST", srv.URL+"/api/v1/admin/jobs/"+id+"/pause", testToken, ""); code != 200 || out["state"] != "paused" {
			t.Fatalf("pause: %d %v", code, out)
		}
		paused := waitState(t, mgr, id, "paused").Step
		time.Sleep(200 * time.Millisecond)
		if st := waitState(t, mgr, id, "paused"); st.Step != paused {
			t.Errorf("a paused job kept stepping: %d -> %d", paused, st.Step)
		}
		if code, out := call(t, "POST", srv.URL+"/api/v1/admin/jobs/"+id+"/resume", testToken, ""); code != 200 || out["state"] != "running" {
			t.Fatalf("resume: %d %v", code, out)
		}
		if code, _ := call(t, "POST", srv.URL+"/api/v1/admin/jobs/"+id+"/resume", testToken, ""); code != 409 {
			t.Errorf("resuming a running job: %d, want 409", code)
		}
		if code, _ := call(t, "DELETE", srv.URL+"/api/v1/admin/jobs/"+id, testToken, ""); code != 200 {
			t.Fatalf("remove: %d", code)
		}
		if code, out := call(t, "GET", srv.URL+"/api/v1/jobs/"+id, "", ""); code != 404 || !strings.Contains(out["error"].(string), "unknown job") {
			t.Errorf("removed job: %d %v", code, out)
		}
	})
	t.Run("UnknownJob", func(t *testing.T) {
		if code, out := call(t, "POST", srv.URL+"/api/v1/admin/jobs/job-nope/pause", testToken, ""); code != 404 || out["error"] == nil {
			t.Errorf("pause unknown: %d %v", code, out)
		}
	})
}

// TestStatusesOldestFirst: the jobs list is in the order the jobs were
// created (their IDs are random, so sorting by ID would shuffle it).
func TestStatusesOldestFirst(t *testing.T) {
	mgr, srv := startManager(t)
	var want []string
	for i := range 5 {
		id, err := mgr.Create(context.Background(), tinyJob(fmt.Sprintf("job%d", i)))
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, id)
		time.Sleep(2 * time.Millisecond) // creation times are stored to the millisecond
	}
	var got []string
	for _, st := range mgr.Statuses() {
		got = append(got, st.ID)
	}
	if !slices.Equal(got, want) {
		t.Errorf("Statuses: %v, want the order of creation %v", got, want)
	}
	code, d := call(t, "GET", srv.URL+"/api/v1/jobs", "", "")
	jobs, _ := d["jobs"].([]any)
	got = got[:0]
	for _, j := range jobs {
		if m, ok := j.(map[string]any); ok {
			id, _ := m["id"].(string)
			got = append(got, id)
		}
	}
	if code != 200 || !slices.Equal(got, want) {
		t.Errorf("GET /api/v1/jobs: %d %v, want the order of creation %v", code, got, want)
	}
}

// TestBrokenJobWithGarbledSpec: a stored job whose spec is not even JSON
// is listed as failed at start, and GET shows it (spec null) rather than
// failing.
func TestBrokenJobWithGarbledSpec(t *testing.T) {
	h, _ := startNetwork(t, 1)
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	db, err := store.Open(ctx, filepath.Join(dir, "hub.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.CreateJob(ctx, "job-garbled", "garbled", "{not json"); err != nil {
		t.Fatal(err)
	}
	mgr := train.NewManager(h, db, train.ManagerConfig{DataDir: dir, Logger: quiet})
	mux := http.NewServeMux()
	mgr.Routes(mux.Handle, testToken)
	if err := mgr.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer mgr.Wait()
	srv := httptest.NewServer(mux)
	defer srv.Close()
	code, d := call(t, "GET", srv.URL+"/api/v1/jobs/garbled", "", "")
	msg, _ := d["error"].(string)
	if code != 200 || d["id"] != "job-garbled" || d["state"] != store.StateFailed || d["spec"] != nil || d["error"] == nil || msg == "" {
		t.Errorf("GET a job whose stored spec is garbled: %d %v", code, d)
	}
	if code, d := call(t, "DELETE", srv.URL+"/api/v1/admin/jobs/garbled", testToken, ""); code != 200 {
		t.Errorf("remove it: %d %v", code, d)
	}
}
