package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tessera-ai/tessera/hub/train"
)

type jobsDoc struct {
	Jobs []train.JobStatus `json:"jobs"`
}

func getJobs(tb testing.TB, base string) []train.JobStatus {
	tb.Helper()
	resp, err := http.Get(base + "/api/v1/jobs")
	if err != nil {
		tb.Fatalf("GET jobs: %v", err)
	}
	defer resp.Body.Close()
	var d jobsDoc
	if err := json.NewDecoder(resp.Body).Decode(&d); err != nil {
		tb.Fatalf("decode jobs: %v", err)
	}
	return d.Jobs
}

func getJob(tb testing.TB, base, id string) train.JobDetail {
	tb.Helper()
	resp, err := http.Get(base + "/api/v1/jobs/" + id)
	if err != nil {
		tb.Fatalf("GET job: %v", err)
	}
	defer resp.Body.Close()
	var d train.JobDetail
	if err := json.NewDecoder(resp.Body).Decode(&d); err != nil {
		tb.Fatalf("decode job: %v", err)
	}
	return d
}

// createJob posts spec to the admin API with the token the hub wrote.
func createJob(tb testing.TB, base, dataDir string, spec train.Spec) string {
	tb.Helper()
	tok, err := os.ReadFile(filepath.Join(dataDir, "admin.token"))
	if err != nil {
		tb.Fatalf("admin token: %v", err)
	}
	body, _ := json.Marshal(spec)
	req, _ := http.NewRequest("POST", base+"/api/v1/admin/jobs", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(tok)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	var st train.JobStatus
	json.NewDecoder(resp.Body).Decode(&st)
	if resp.StatusCode != http.StatusCreated || st.ID == "" {
		tb.Fatalf("create job: HTTP %d %+v", resp.StatusCode, st)
	}
	return st.ID
}

// edgeAddress creates an edge key and returns its address.
func edgeAddress(tb testing.TB, bins, keyFile string) string {
	tb.Helper()
	p := start(tb, filepath.Join(bins, "tessera-edge"), []string{"--key", keyFile, "--print-address"}, nil)
	if err := <-p.done; err != nil {
		tb.Fatalf("print address: %v", err)
	}
	p.done <- nil
	m := addressLine.FindString(p.output())
	if m == "" {
		tb.Fatalf("no address printed:\n%s", p.output())
	}
	return m
}

var addressLine = regexp.MustCompile(`(?m)^0x[0-9a-fA-F]{40}$`)

// TestTrainMNISTWithEdges trains the default MNIST job (784-256-256-10,
// Adam) through a real hub and two real edge clients on lavapipe to 97%
// test accuracy.
func TestTrainMNISTWithEdges(t *testing.T) {
	bins := edgeBinaries(t)
	keys := t.TempDir()
	var addrs []string
	for i := range 2 {
		addrs = append(addrs, edgeAddress(t, bins, filepath.Join(keys, fmt.Sprintf("edge%d.key", i))))
	}
	// Two contributors cannot cover a 0.3 cap between them; as the
	// operator's own workers they are exempt.
	_, base := startHubBinary(t, bins, "--matmul-shape", "off", "--jobs", "mnist-mlp", "--own-workers", strings.Join(addrs, ","))
	ws := "ws" + strings.TrimPrefix(base, "http") + "/ws"
	for i := range 2 {
		start(t, filepath.Join(bins, "tessera-edge"), []string{"--hub", ws, "--key", filepath.Join(keys, fmt.Sprintf("edge%d.key", i)),
			"--backend", "webgpu", "--progress", "0"}, nil)
	}
	began := time.Now()
	deadline := began.Add(8 * time.Minute)
	var job train.JobStatus
	for {
		jobs := getJobs(t, base)
		if len(jobs) != 1 {
			t.Fatalf("want the default job, got %+v", jobs)
		}
		job = jobs[0]
		if job.State == "done" || job.State == "failed" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("job did not finish in time: %+v", job)
		}
		time.Sleep(500 * time.Millisecond)
	}
	if job.State != "done" || job.Latest == nil || job.Latest.TestAccuracy < 0.97 {
		t.Fatalf("job ended %s: %+v latest %+v", job.State, job, job.Latest)
	}
	t.Logf("reached %.2f%% test accuracy at step %d in %v (%.0f ms/step)", 100*job.Latest.TestAccuracy, job.Step,
		time.Since(began).Round(time.Second), job.StepMillis)
	st := edgeStatus(t, base)
	for _, r := range st.Contributors {
		if r.Backend != "webgpu" || r.TasksCompleted == 0 {
			t.Errorf("contributor %s: backend %s, %d tasks", r.Address, r.Backend, r.TasksCompleted)
		}
	}
	if st.TasksRejected != 0 {
		t.Errorf("%d results rejected from honest edges", st.TasksRejected)
	}
	d := getJob(t, base, job.ID)
	if len(d.History) == 0 || d.History[len(d.History)-1].TestAccuracy != job.Latest.TestAccuracy {
		t.Errorf("history does not end at the latest evaluation: %+v", d.History)
	}
}

var resumedLine = regexp.MustCompile(`msg="resumed from checkpoint" job=\S+ step=(\d+)`)

// TestHubCrashResume kills the hub with SIGKILL twice while it trains,
// restarts it on the same data directory each time, and checks that the
// job resumes from its last checkpoint (never from an earlier one, never
// past a step it had not checkpointed) and reaches its target.
func TestHubCrashResume(t *testing.T) {
	bins := edgeBinaries(t)
	keys, data := t.TempDir(), t.TempDir()
	key := filepath.Join(keys, "edge.key")
	addr := edgeAddress(t, bins, key)
	args := []string{"--data", data, "--matmul-shape", "off", "--default-job=false", "--own-workers", addr}
	hubProc, base := startHubOn(t, bins, "127.0.0.1:0", args)
	hostPort := strings.TrimPrefix(base, "http://")
	spec := train.MNISTSpec()
	spec.Name = "crash-test"
	spec.TargetAccuracy = 0.93
	spec.EvalEvery = 50
	spec.CheckpointEvery = 20
	id := createJob(t, base, data, spec)
	start(t, filepath.Join(bins, "tessera-edge"), []string{"--hub", "ws://" + hostPort + "/ws", "--key", key,
		"--backend", "webgpu", "--progress", "0"}, nil)

	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
	lastResume := 0
	for kill := range 2 {
		// Let it train past a checkpoint or two, then kill it mid-step.
		killAt := 30 + rng.IntN(40) + 60*kill
		seen := 0
		deadline := time.Now().Add(3 * time.Minute)
		for seen < killAt {
			if time.Now().After(deadline) {
				t.Fatalf("training stuck at step %d", seen)
			}
			for _, j := range getJobs(t, base) {
				seen = j.Step
			}
			time.Sleep(20 * time.Millisecond)
		}
		hubProc.cmd.Process.Kill() // SIGKILL: no cleanup at all
		<-hubProc.done
		hubProc.done <- nil
		hubProc, _ = startHubOn(t, bins, hostPort, args)
		var resumed int
		deadline = time.Now().Add(20 * time.Second)
		for {
			if m := resumedLine.FindStringSubmatch(hubProc.output()); m != nil {
				resumed, _ = strconv.Atoi(m[1])
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("restarted hub did not resume the job:\n%s", hubProc.output())
			}
			time.Sleep(20 * time.Millisecond)
		}
		t.Logf("killed at step %d, resumed from step %d", seen, resumed)
		if resumed > seen || resumed < lastResume || resumed%spec.CheckpointEvery != 0 {
			t.Errorf("resumed from step %d after a kill at %d (previous resume %d)", resumed, seen, lastResume)
		}
		if seen-resumed > spec.CheckpointEvery+1 {
			t.Errorf("lost %d steps: more than one checkpoint interval", seen-resumed)
		}
		lastResume = resumed
	}
	deadline := time.Now().Add(5 * time.Minute)
	for {
		d := getJob(t, base, id)
		if d.State == "done" {
			if d.Latest == nil || d.Latest.TestAccuracy < spec.TargetAccuracy {
				t.Fatalf("done without reaching the target: %+v", d.Latest)
			}
			for i := 1; i < len(d.History); i++ {
				if d.History[i].Step <= d.History[i-1].Step {
					t.Errorf("history steps not increasing: %+v", d.History)
				}
			}
			t.Logf("reached %.2f%% at step %d after two crashes", 100*d.Latest.TestAccuracy, d.Step)
			return
		}
		if d.State == "failed" || time.Now().After(deadline) {
			t.Fatalf("job %s: %+v", d.State, d.JobStatus)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
