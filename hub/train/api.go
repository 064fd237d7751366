package train

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/tessera-ai/tessera/hub/store"
	"github.com/tessera-ai/tessera/internal/httpjson"
	"github.com/tessera-ai/tessera/internal/protocol"
	"github.com/tessera-ai/tessera/internal/safetensors"
)

// sortStatuses orders jobs oldest first (IDs are random: they only break
// ties).
func sortStatuses(s []JobStatus) {
	sort.Slice(s, func(i, j int) bool {
		if !s[i].Created.Equal(s[j].Created) {
			return s[i].Created.Before(s[j].Created)
		}
		return s[i].ID < s[j].ID
	})
}

func removeAll(dir string) error {
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("remove job files: %w", err)
	}
	return nil
}

// maxSpecBytes bounds a job spec in a request body.
const maxSpecBytes = 64 << 10

// JobDetail is GET /api/v1/jobs/{id}: the summary, the spec and the
// evaluation history.
type JobDetail struct {
	JobStatus
	Spec    Spec          `json:"spec"`
	History []store.Point `json:"history"`
}

// Routes registers the jobs API: public reads under /api/v1/jobs and,
// guarded by the admin token, job management under /api/v1/admin/jobs.
func (m *Manager) Routes(handle func(pattern string, h http.Handler), adminToken string) {
	handle("GET /api/v1/jobs", http.HandlerFunc(m.serveList))
	handle("GET /api/v1/jobs/{id}", http.HandlerFunc(m.serveJob))
	handle("GET /api/v1/jobs/{id}/weights", http.HandlerFunc(m.serveWeights))
	handle("GET /api/v1/jobs/{id}/config.json", http.HandlerFunc(m.serveHFConfig))
	admin := func(f http.HandlerFunc) http.Handler { return RequireToken(adminToken, f) }
	handle("POST /api/v1/admin/jobs", admin(m.serveCreate))
	handle("POST /api/v1/admin/jobs/{id}/pause", admin(m.serveAction(m.pause)))
	handle("POST /api/v1/admin/jobs/{id}/resume", admin(m.serveAction(m.resume)))
	handle("DELETE /api/v1/admin/jobs/{id}", admin(m.serveAction(m.remove)))
}

// RequireToken admits requests bearing the admin token ("Authorization:
// Bearer ..."), compared in constant time, and refuses others with 401.
func RequireToken(token string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if token == "" || !ok || subtle.ConstantTimeCompare([]byte(got), []byte(token)) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="tessera-admin"`)
			httpjson.Errorf(w, http.StatusUnauthorized, "missing or wrong admin token (see admin.token in the hub's data directory)")
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (m *Manager) serveList(w http.ResponseWriter, r *http.Request) {
	httpjson.Write(w, http.StatusOK, map[string]any{"jobs": m.Statuses()})
}

func (m *Manager) serveJob(w http.ResponseWriter, r *http.Request) {
	id, err := m.Resolve(r.PathValue("id"))
	if err != nil {
		refuseRef(w, err)
		return
	}
	run, err := m.get(id)
	if errors.Is(err, ErrBrokenJob) {
		m.serveBrokenJob(w, r, id)
		return
	}
	if err != nil {
		refuseRef(w, err)
		return
	}
	hist, err := m.db.History(r.Context(), id)
	if err != nil {
		httpjson.Errorf(w, http.StatusInternalServerError, "cannot read the job's history")
		return
	}
	httpjson.Write(w, http.StatusOK, JobDetail{JobStatus: run.job.Status(run.exposure), Spec: run.job.Spec, History: hist})
}

// serveBrokenJob answers GET /api/v1/jobs/{id} for a job listed as failed
// because it could not be loaded: its summary with the reason, the spec
// as stored (it may be what failed, so it is not parsed again) and its
// history, in JobDetail's shape.
func (m *Manager) serveBrokenJob(w http.ResponseWriter, r *http.Request, id string) {
	m.mu.Lock()
	st, ok := m.broken[id]
	m.mu.Unlock()
	row, err := m.db.Job(r.Context(), id)
	if !ok || errors.Is(err, store.ErrNotFound) {
		// Removed meanwhile: as for any job that is not there.
		httpjson.Errorf(w, http.StatusNotFound, "%v %q", ErrUnknownJob, id)
		return
	}
	if err != nil {
		httpjson.Errorf(w, http.StatusInternalServerError, "cannot read the job")
		return
	}
	hist, err := m.db.History(r.Context(), id)
	if err != nil {
		httpjson.Errorf(w, http.StatusInternalServerError, "cannot read the job's history")
		return
	}
	spec := json.RawMessage(row.Spec)
	if !json.Valid(spec) {
		spec = json.RawMessage("null")
	}
	httpjson.Write(w, http.StatusOK, struct {
		JobStatus
		Spec    json.RawMessage `json:"spec"`
		History []store.Point   `json:"history"`
	}{st, spec, hist})
}

// runOf returns the job the request's {id} names (an ID, or a name only
// one job has), or answers 404 (or 409 for a shared name) and false.
func (m *Manager) runOf(w http.ResponseWriter, r *http.Request) (*run, bool) {
	run, err := m.lookup(r.PathValue("id"))
	if err != nil {
		refuseRef(w, err)
		return nil, false
	}
	return run, true
}

// refuseRef answers a job reference that resolve or get refused: 404 for
// no such job, 409 for a shared name or a job that could not be restored.
func refuseRef(w http.ResponseWriter, err error) {
	status := http.StatusNotFound
	if errors.Is(err, ErrAmbiguousJob) || errors.Is(err, ErrBrokenJob) {
		status = http.StatusConflict
	}
	httpjson.Errorf(w, status, "%v", err)
}

// checkpointModel loads the job's latest checkpoint into a fresh model, so
// that an export never races the training goroutine.
func (m *Manager) checkpointModel(ctx context.Context, run *run) (Model, int, error) {
	row, err := m.db.Job(ctx, run.job.ID)
	if err != nil {
		return nil, 0, err
	}
	if row.Checkpoint == "" {
		return nil, 0, errNoCheckpoint
	}
	model, err := buildModel(run.job.Spec, nil)
	if err != nil {
		return nil, 0, err
	}
	if err := model.LoadCheckpoint(filepath.Join(m.cfg.DataDir, row.Checkpoint)); err != nil {
		return nil, 0, err
	}
	return model, row.Step, nil
}

var errNoCheckpoint = errors.New("the job has no checkpoint yet; try again after its first checkpoint")

// serveWeights sends the latest checkpoint's weights as a safetensors
// file: GPT-2's names and layout for a gpt2 model, layers.N.weight and
// layers.N.bias for an mlp.
func (m *Manager) serveWeights(w http.ResponseWriter, r *http.Request) {
	run, ok := m.runOf(w, r)
	if !ok {
		return
	}
	id := run.job.ID
	model, step, err := m.checkpointModel(r.Context(), run)
	switch {
	case errors.Is(err, errNoCheckpoint):
		httpjson.Errorf(w, http.StatusNotFound, "%v", err)
		return
	case err != nil:
		m.log.Error("export weights", "job", id, "err", err)
		httpjson.Errorf(w, http.StatusInternalServerError, "cannot read the job's checkpoint")
		return
	}
	tensors, meta := model.Tensors()
	meta["tessera.job"] = id
	meta["tessera.step"] = strconv.Itoa(step)
	var buf bytes.Buffer
	if err := safetensors.Write(&buf, tensors, meta); err != nil {
		m.log.Error("export weights", "job", id, "err", err)
		httpjson.Errorf(w, http.StatusInternalServerError, "cannot encode the weights")
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s-step%d.safetensors"`, id, step))
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	w.Write(buf.Bytes())
}

// serveHFConfig sends a gpt2 model's Hugging Face config.json.
func (m *Manager) serveHFConfig(w http.ResponseWriter, r *http.Request) {
	run, ok := m.runOf(w, r)
	if !ok {
		return
	}
	spec := run.job.Spec
	if spec.Model.Type != "gpt2" {
		httpjson.Errorf(w, http.StatusNotFound, "a %s model has no Hugging Face config; its weights export as layers.N.weight (in×out) and layers.N.bias", spec.Model.Type)
		return
	}
	httpjson.Write(w, http.StatusOK, spec.lmConfig().HFConfig())
}

// ParseSpec decodes a JSON job spec strictly (unknown fields are errors),
// starting from the defaults of MNISTSpec (or GoCodeLMSpec for a "gpt2"
// model) for fields it leaves out, and validates it.
func ParseSpec(r io.Reader) (Spec, error) {
	raw, err := io.ReadAll(io.LimitReader(r, maxSpecBytes+1))
	if err != nil {
		return Spec{}, fmt.Errorf("invalid job spec: %w", err)
	}
	if len(raw) > maxSpecBytes {
		return Spec{}, fmt.Errorf("invalid job spec: larger than %d bytes", maxSpecBytes)
	}
	// Fields left out take the defaults of the kind of model asked for.
	var kind struct {
		Model struct {
			Type string `json:"type"`
		} `json:"model"`
	}
	json.Unmarshal(raw, &kind)
	spec := MNISTSpec()
	if kind.Model.Type == "gpt2" {
		spec = GoCodeLMSpec()
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&spec); err != nil {
		return Spec{}, fmt.Errorf("invalid job spec: %w", err)
	}
	if dec.More() {
		return Spec{}, errors.New("invalid job spec: more than one JSON value")
	}
	// An empty wire_dtype means float32, which the defaults of MNIST
	// (bfloat16) would otherwise replace when the spec is read again.
	if spec.WireDType == "" {
		spec.WireDType = protocol.Float32.String()
	}
	// An empty list means the same as a missing one.
	if len(spec.Model.Layers) == 0 {
		spec.Model.Layers = nil
	}
	if spec.Corpus != nil && len(spec.Corpus.ValidationPrefixes) == 0 {
		spec.Corpus.ValidationPrefixes = nil
	}
	if err := spec.Validate(); err != nil {
		return Spec{}, err
	}
	return spec, nil
}

func (m *Manager) serveCreate(w http.ResponseWriter, r *http.Request) {
	spec, err := ParseSpec(r.Body)
	if err != nil {
		httpjson.Errorf(w, http.StatusBadRequest, "%v", err)
		return
	}
	id, err := m.Create(r.Context(), spec)
	if err != nil {
		httpjson.Errorf(w, http.StatusBadRequest, "%v", err)
		return
	}
	run, _ := m.get(id)
	httpjson.Write(w, http.StatusCreated, run.job.Status(run.exposure))
}

// serveAction serves an admin action on the job {id} names, resolved
// once here: act takes the job's ID.
func (m *Manager) serveAction(act func(ctx context.Context, id string) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, err := m.Resolve(r.PathValue("id"))
		if err != nil {
			refuseRef(w, err)
			return
		}
		if err := act(r.Context(), id); errors.Is(err, ErrUnknownJob) || errors.Is(err, store.ErrNotFound) {
			httpjson.Errorf(w, http.StatusNotFound, "%v", err)
			return
		} else if err != nil {
			httpjson.Errorf(w, http.StatusConflict, "%v", err)
			return
		}
		if run, err := m.get(id); err == nil {
			httpjson.Write(w, http.StatusOK, run.job.Status(run.exposure))
			return
		}
		httpjson.Write(w, http.StatusOK, map[string]string{"removed": id})
	}
}
