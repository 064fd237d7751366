package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"time"
)

// jobStatus is a job's summary (hub/train.JobStatus), as far as the CLI
// shows it.
type jobStatus struct {
	ID             string     `json:"id"`
	Name           string     `json:"name"`
	State          string     `json:"state"`
	Step           int        `json:"step"`
	MaxSteps       int        `json:"max_steps"`
	TargetAccuracy float64    `json:"target_accuracy"`
	LastLoss       float64    `json:"last_loss"`
	StepMillis     float64    `json:"step_ms"`
	Latest         *evalPoint `json:"latest"`
	ExposureCap    float64    `json:"exposure_cap"`
	MaxExposure    float64    `json:"max_exposure"`
	Error          string     `json:"error"`
	Model          string     `json:"model"`
	TokensPerSec   float64    `json:"tokens_per_second"`
	HubMillis      float64    `json:"hub_ms"`
	WaitMillis     float64    `json:"contributors_ms"`
	Sample         *struct {
		Step   int    `json:"step"`
		Prompt string `json:"prompt"`
		Text   string `json:"text"`
	} `json:"sample"`
}

// evalPoint is one evaluation in a job's history (hub/store.Point).
type evalPoint struct {
	Step         int       `json:"step"`
	At           time.Time `json:"at"`
	TrainLoss    float64   `json:"train_loss"`
	TestLoss     float64   `json:"test_loss"`
	TestAccuracy float64   `json:"test_accuracy"`
	BitsPerByte  float64   `json:"bits_per_byte"`
	Full         bool      `json:"full"`
}

// quality is an evaluation's headline figure: bits per byte for a
// language model, test accuracy otherwise.
func (p *evalPoint) quality() string {
	switch {
	case p == nil:
		return "-"
	case p.BitsPerByte > 0:
		return fmt.Sprintf("%.3f bits/byte", p.BitsPerByte)
	}
	return percent(p.TestAccuracy)
}

// jobDetail is GET /api/v1/jobs/{id}.
type jobDetail struct {
	jobStatus
	Spec    json.RawMessage `json:"spec"`
	History []evalPoint     `json:"history"`
}

// maxSpecFile bounds a job spec file (the hub takes 64 KiB).
const maxSpecFile = 1 << 20

func jobsCommand() *command {
	return &command{
		name:    "jobs",
		summary: "Training jobs: list, show, create, pause, resume, remove.",
		subs: []*command{
			{name: "list", summary: "List the jobs with their progress.", setup: leaf(jobsList)},
			{name: "show", args: []string{"JOB"}, summary: "Show a job (its ID, or a name only one job has): progress, spec and evaluation history.", setup: leaf(jobsShow)},
			{name: "create", args: []string{"FILE"}, summary: "Create a job from a JSON spec file (- reads standard input).",
				details: `The spec lists the fields to change from the default job of its model type:
mnist-mlp for "mlp", gocode-lm for "gpt2". For example, an MLP:
  {"name": "mnist-wide", "model": {"type": "mlp", "layers": [784, 512, 512, 10]}, "exposure_cap": 0.25}
and a language model on your own text: a directory or glob of UTF-8 files,
or JSON Lines with a "text" field, on the hub's machine (nothing is
uploaded). Files whose path starts with one of validation_prefixes, or
validation_percent of them by a stable hash of their path (of JSON Lines,
of the records, by their text; of a single file, its end), are the
validation split:
  {"name": "poems-lm", "model": {"type": "gpt2", "n_layer": 4, "n_embd": 256, "n_head": 8, "n_positions": 128},
   "dataset": "text", "corpus": {"path": "/srv/poems", "validation_percent": 10}, "max_steps": 20000}
Give each job a "name": without one it takes the default job's (two jobs of one
name are then reached by ID only). See hub/train/spec.go for every field. The
hub checks the spec and says what is wrong.`,
				setup: leaf(jobsCreate)},
			{name: "pause", args: []string{"JOB"}, summary: "Pause a running job after its current step.", setup: leaf(jobAction("pause"))},
			{name: "resume", args: []string{"JOB"}, summary: "Resume a paused job.", setup: leaf(jobAction("resume"))},
			{name: "remove", args: []string{"JOB"}, summary: "Stop a job and delete it with its checkpoints (its credit stays in the ledger).", setup: leaf(jobAction("remove"))},
		},
	}
}

// leaf adapts a runFunc for a command without flags of its own.
func leaf(run runFunc) func(*flag.FlagSet) runFunc {
	return func(*flag.FlagSet) runFunc { return run }
}

func jobsList(ctx context.Context, a *app, _ []string) error {
	var out struct {
		Jobs []jobStatus `json:"jobs"`
	}
	raw, err := a.getJSON(ctx, "/api/v1/jobs", false, &out)
	if err != nil {
		return err
	}
	if a.opts.json {
		return a.printRaw(raw)
	}
	return printJobs(a.stdout, out.Jobs)
}

func printJobs(w io.Writer, jobs []jobStatus) error {
	if len(jobs) == 0 {
		_, err := fmt.Fprintln(w, "no jobs")
		return err
	}
	t := newTable(w, "ID", "NAME", "STATE", "STEP", "LOSS", "QUALITY", "EXPOSURE", "ERROR")
	for _, j := range jobs {
		t.row(j.ID, j.Name, j.State, fmt.Sprintf("%d/%d", j.Step, j.MaxSteps), fmt.Sprintf("%.4f", j.LastLoss), j.Latest.quality(),
			fmt.Sprintf("%s (cap %s)", percent(j.MaxExposure), percent(j.ExposureCap)), orDash(j.Error))
	}
	return t.flush()
}

func jobsShow(ctx context.Context, a *app, args []string) error {
	var d jobDetail
	raw, err := a.getJSON(ctx, "/api/v1/jobs/"+url.PathEscape(args[0]), false, &d)
	if err != nil {
		return err
	}
	if a.opts.json {
		return a.printRaw(raw)
	}
	t := newTable(a.stdout)
	t.row("id", d.ID)
	t.row("name", d.Name)
	t.row("state", d.State)
	t.row("step", fmt.Sprintf("%d of at most %d (%.1f ms a step: hub %.1f, waiting for contributors %.1f)", d.Step, d.MaxSteps, d.StepMillis, d.HubMillis, d.WaitMillis))
	if d.Model == "gpt2" {
		t.row("throughput", fmt.Sprintf("%.0f tokens/s", d.TokensPerSec))
		t.row("validation", d.Latest.quality())
	} else {
		t.row("target", percent(d.TargetAccuracy)+" test accuracy")
	}
	t.row("loss", fmt.Sprintf("%.4f", d.LastLoss))
	t.row("exposure", fmt.Sprintf("%s of the weights at most to one contributor (cap %s)", percent(d.MaxExposure), percent(d.ExposureCap)))
	if d.Error != "" {
		t.row("error", d.Error)
	}
	if err := t.flush(); err != nil {
		return err
	}
	if d.Sample != nil {
		fmt.Fprintf(a.stdout, "\nsample at step %d:\n%s%s\n", d.Sample.Step, d.Sample.Prompt, d.Sample.Text)
	}
	var spec any
	if json.Unmarshal(d.Spec, &spec) == nil {
		b, _ := json.MarshalIndent(spec, "", "  ")
		fmt.Fprintf(a.stdout, "\nspec:\n%s\n", b)
	}
	if len(d.History) == 0 {
		_, err := fmt.Fprintln(a.stdout, "\nno evaluation yet")
		return err
	}
	fmt.Fprintln(a.stdout, "\nhistory:")
	h := newTable(a.stdout, "STEP", "AT", "TRAIN_LOSS", "TEST_LOSS", "QUALITY")
	for _, p := range d.History {
		h.row(p.Step, p.At.Local().Format(time.DateTime), fmt.Sprintf("%.4f", p.TrainLoss), fmt.Sprintf("%.4f", p.TestLoss), p.quality())
	}
	return h.flush()
}

func jobsCreate(ctx context.Context, a *app, args []string) error {
	var (
		spec []byte
		err  error
	)
	if args[0] == "-" {
		spec, err = io.ReadAll(io.LimitReader(a.stdin, maxSpecFile+1))
	} else {
		spec, err = readLimited(args[0], maxSpecFile)
	}
	if err != nil {
		return fmt.Errorf("read the spec: %w", err)
	}
	if len(spec) > maxSpecFile {
		return fmt.Errorf("the spec %s is larger than %d bytes", args[0], maxSpecFile)
	}
	if !json.Valid(spec) {
		return usageErrorf("%s is not JSON", args[0])
	}
	var st jobStatus
	raw, err := a.doJSON(ctx, http.MethodPost, "/api/v1/admin/jobs", spec, true, &st)
	if err != nil {
		return err
	}
	if a.opts.json {
		return a.printRaw(raw)
	}
	_, err = fmt.Fprintf(a.stdout, "created job %s (%s), %s\n", st.ID, st.Name, st.State)
	return err
}

// readLimited reads a file of at most limit bytes (one more tells it is
// too large).
func readLimited(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, limit+1))
}

// jobAction pauses, resumes or removes the job named by the argument.
func jobAction(action string) runFunc {
	return func(ctx context.Context, a *app, args []string) error {
		method, path := http.MethodPost, "/api/v1/admin/jobs/"+url.PathEscape(args[0])+"/"+action
		if action == "remove" {
			method, path = http.MethodDelete, "/api/v1/admin/jobs/"+url.PathEscape(args[0])
		}
		var st jobStatus
		raw, err := a.doJSON(ctx, method, path, nil, true, &st)
		if err != nil {
			return err
		}
		switch {
		case a.opts.json:
			return a.printRaw(raw)
		case action == "remove":
			// The hub answers with the ID it removed (args[0] may be a name).
			var gone struct {
				Removed string `json:"removed"`
			}
			if json.Unmarshal(raw, &gone) != nil || gone.Removed == "" {
				gone.Removed = args[0]
			}
			_, err = fmt.Fprintf(a.stdout, "removed job %s\n", gone.Removed)
		default:
			_, err = fmt.Fprintf(a.stdout, "job %s (%s) is %s at step %d\n", st.ID, st.Name, st.State, st.Step)
		}
		return err
	}
}
