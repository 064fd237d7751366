package train

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"strings"

	"github.com/tessera-ai/tessera/hub/store"
	"github.com/tessera-ai/tessera/internal/httpjson"
)

func sortStatuses(s []JobStatus) { sort.Slice(s, func(i, j int) bool { return s[i].ID < s[j].ID }) }

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
	admin := func(f http.HandlerFunc) http.Handler { return RequireToken(adminToken, f) }
	handle("POST /api/v1/admin/jobs", admin(m.serveCreate))
	handle("POST /api/v1/admin/jobs/{id}/pause", admin(m.serveAction(m.Pause)))
	handle("POST /api/v1/admin/jobs/{id}/resume", admin(m.serveAction(m.Resume)))
	handle("DELETE /api/v1/admin/jobs/{id}", admin(m.serveAction(m.Remove)))
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
	id := r.PathValue("id")
	run, err := m.get(id)
	if err != nil {
		httpjson.Errorf(w, http.StatusNotFound, "%v", err)
		return
	}
	hist, err := m.db.History(r.Context(), id)
	if err != nil {
		httpjson.Errorf(w, http.StatusInternalServerError, "cannot read the job's history")
		return
	}
	httpjson.Write(w, http.StatusOK, JobDetail{JobStatus: run.job.Status(run.exposure), Spec: run.job.Spec, History: hist})
}

// ParseSpec decodes a JSON job spec strictly (unknown fields are errors),
// starting from MNISTSpec's defaults for fields it leaves out, and
// validates it.
func ParseSpec(r io.Reader) (Spec, error) {
	spec := MNISTSpec()
	dec := json.NewDecoder(io.LimitReader(r, maxSpecBytes+1))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&spec); err != nil {
		return Spec{}, fmt.Errorf("invalid job spec: %w", err)
	}
	if dec.More() {
		return Spec{}, errors.New("invalid job spec: more than one JSON value")
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

func (m *Manager) serveAction(act func(ctx context.Context, id string) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("id")
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
