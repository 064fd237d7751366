package e2e

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tessera-ai/tessera/hub"
	"github.com/tessera-ai/tessera/hub/train"
)

// Churn: how many edges work at once, and how many of them are killed and
// replaced by new ones (new keys) how often.
const (
	churnEdges = 10
	churnKill  = 3 // 30%
	churnEvery = 10 * time.Second
	// churnQuiet is how many steps before the end churn stops. When a job
	// finishes, the hub drops its queued tasks, and a lease on one of them
	// that ends with its holder's death is dropped too rather than
	// requeued, which the lease accounting below would count as lost.
	churnQuiet = 30
)

// churnSpec is the job both runs train: the default MNIST model for a
// fixed number of steps, so that both stop at the same step with the same
// seed and their final accuracies compare.
func churnSpec() train.Spec {
	spec := train.MNISTSpec()
	spec.Name = "churn-mnist"
	spec.TargetAccuracy = 0
	spec.MaxSteps = 700 // at least three churn rounds on a fast machine
	spec.EvalEvery = 100
	spec.CheckpointEvery = 100
	return spec
}

// churnRun is what one training run ended with.
type churnRun struct {
	accuracy float64
	rounds   int // churn rounds
	edges    int // edge processes started
	status   hub.Status
	took     time.Duration
}

// TestChurn trains MNIST through a real hub and ten real tessera-edge
// processes (CPU backend) twice with the same spec and seed: once
// undisturbed, once with three of the ten killed by SIGKILL and replaced
// by new edges with new keys every ten seconds. The churned run must
// complete every step, lose no task (every lease completed or requeued,
// requeues seen), credit every accepted result exactly once to the
// address that computed it, keep the ledger's invariants, and end within
// 0.5 points of the undisturbed run's test accuracy.
func TestChurn(t *testing.T) {
	if testing.Short() {
		t.Skip("trains MNIST twice with ten edge processes")
	}
	bins := edgeBinaries(t)
	spec := churnSpec()
	calm := trainWithChurn(t, bins, spec, false)
	churned := trainWithChurn(t, bins, spec, true)
	t.Logf("undisturbed: %.2f%% after %d steps in %v, %d tasks", 100*calm.accuracy, spec.MaxSteps, calm.took.Round(time.Second), calm.status.TasksCompleted)
	t.Logf("churned: %.2f%% after %d steps in %v, %d tasks; %d rounds killed %d of %d edges (%d edges in all), %d leases requeued",
		100*churned.accuracy, spec.MaxSteps, churned.took.Round(time.Second), churned.status.TasksCompleted,
		churned.rounds, churnKill, churnEdges, churned.edges, churned.status.TasksRequeued)
	if churned.rounds < 2 {
		t.Errorf("only %d churn rounds happened during the run; the test needs at least 2 (make the job longer)", churned.rounds)
	}
	if calm.status.TasksRequeued != 0 || calm.status.TasksExpired != 0 {
		t.Errorf("the undisturbed run requeued %d and expired %d leases; want none", calm.status.TasksRequeued, calm.status.TasksExpired)
	}
	if churned.status.TasksRequeued == 0 {
		t.Errorf("no lease was requeued although %d edges were killed while working", churned.rounds*churnKill)
	}
	if gap := math.Abs(churned.accuracy - calm.accuracy); gap > 0.005 {
		t.Errorf("churned run ended at %.2f%%, the undisturbed one at %.2f%%: %.2f points apart, want at most 0.5",
			100*churned.accuracy, 100*calm.accuracy, 100*gap)
	}
}

// trainWithChurn runs spec on a new hub with churnEdges edges, churning
// them if churn is set, and checks what must hold at the end of any run.
func trainWithChurn(t *testing.T, bins string, spec train.Spec, churn bool) churnRun {
	t.Helper()
	data := t.TempDir()
	hubProc, base := startHubOn(t, bins, "127.0.0.1:0", []string{"--data", data, "--matmul-shape", "off", "--default-job=false"})
	ws := "ws" + strings.TrimPrefix(base, "http") + "/ws"
	id := createJob(t, base, data, spec)
	var run churnRun
	keys := t.TempDir()
	addrs := map[*proc]string{}
	startEdge := func() *proc {
		run.edges++
		key := filepath.Join(keys, fmt.Sprintf("edge%d.key", run.edges))
		addr := edgeAddress(t, bins, key)
		p := start(t, filepath.Join(bins, "tessera-edge"), []string{"--hub", ws, "--key", key,
			"--backend", "cpu", "--slots", "2", "--progress", "0"}, nil)
		addrs[p] = addr
		return p
	}
	edges := make([]*proc, churnEdges)
	for i := range edges {
		edges[i] = startEdge()
	}

	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 3))
	began := time.Now()
	lastChurn := began
	deadline := began.Add(3 * time.Minute)
	var job train.JobDetail
	for {
		job = getJob(t, base, id)
		if job.State == "done" || job.State == "failed" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("job not done in time: %+v", job.JobStatus)
		}
		if churn && time.Since(lastChurn) >= churnEvery && job.Step < spec.MaxSteps-churnQuiet {
			victims := holdersFirst(t, base, data, edges, addrs, rng)
			for _, i := range victims {
				edges[i].sigkill()
			}
			for _, i := range victims {
				edges[i] = startEdge()
			}
			run.rounds++
			lastChurn = time.Now()
		}
		time.Sleep(100 * time.Millisecond)
	}
	run.took = time.Since(began)
	if job.State != "done" || job.Step != spec.MaxSteps || job.Latest == nil || job.Latest.Step != spec.MaxSteps {
		t.Fatalf("job ended %s at step %d (latest evaluation %+v); want done after all %d steps: %s",
			job.State, job.Step, job.Latest, spec.MaxSteps, job.Error)
	}
	run.accuracy = job.Latest.TestAccuracy

	// No task lost: once what was still held (replicas of the last steps)
	// is returned, every lease ever granted ended completed, requeued, or
	// dropped (a lease of weights a dead edge kept: its source recovers
	// them). A lease cut short by a dead edge is requeued when its
	// connection drops; requeues also count the few tasks never sent to
	// an edge that was dying, so the sum may exceed the leases, never fall
	// short.
	run.status = waitEdgeStatus(t, base, "every edge connected and every lease completed, requeued or dropped", 60*time.Second, func(st hub.Status) bool {
		return st.ContributorsConnected == churnEdges && st.TasksInFlight == 0 && st.TasksQueued == 0 &&
			st.TasksCompleted+st.TasksRequeued+st.TasksDropped >= st.TasksLeased
	})
	st := run.status
	if st.TasksRejected != 0 {
		t.Errorf("%d results of honest edges rejected", st.TasksRejected)
	}

	// Every accepted result is credited once, to the address that
	// computed it, dead edges' included: each address's credit in the
	// ledger equals the work the hub accepted from it.
	waitFor(t, 15*time.Second, "credit equal to the work accepted", func() error {
		credits, err := fetchCredits(base, id)
		if err != nil {
			return err
		}
		var worked []string
		for _, c := range st.Contributors {
			if c.TasksCompleted == 0 {
				continue
			}
			worked = append(worked, c.Address)
			b := credits[c.Address]
			got, want := float64(fi(b.Verified)+fi(b.Pending)+fi(b.Rejected)), c.GFLOP*1e9
			if math.Abs(got-want) > 1e-9*want || !b.Rejected.IsZero() {
				return fmt.Errorf("%s: ledger has %s verified, %s pending, %s rejected FLOP; the hub accepted %.0f FLOP from it",
					c.Address, b.Verified, b.Pending, b.Rejected, want)
			}
		}
		for a := range credits {
			if !slices.Contains(worked, a) {
				return fmt.Errorf("%s is credited but the hub accepted no work from it", a)
			}
		}
		return nil
	})
	if len(st.Contributors) != run.edges {
		t.Errorf("the hub saw %d contributors; %d edges with their own keys were started", len(st.Contributors), run.edges)
	}

	if err := hubProc.stop(t); err != nil {
		t.Errorf("hub exit: %v", err)
	}
	openHubLedger(t, data).Close()
	return run
}

// holdersFirst picks churnKill edges to kill, preferring edges that hold
// leases right now (as the hub's admin API lists them), so that every
// round kills work in flight; it waits up to a second for enough holders.
func holdersFirst(t *testing.T, base, data string, edges []*proc, addrs map[*proc]string, rng *rand.Rand) []int {
	t.Helper()
	tok, err := os.ReadFile(filepath.Join(data, "admin.token"))
	if err != nil {
		t.Fatal(err)
	}
	var holders []int
	for deadline := time.Now().Add(time.Second); ; {
		req, _ := http.NewRequest("GET", base+"/api/v1/admin/workers", nil)
		req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(tok)))
		var list struct{ Workers []hub.Worker }
		if resp, err := http.DefaultClient.Do(req); err == nil {
			json.NewDecoder(resp.Body).Decode(&list)
			resp.Body.Close()
		}
		holding := map[string]bool{}
		for _, w := range list.Workers {
			if w.Leases > 0 {
				holding[strings.ToLower(w.Address)] = true
			}
		}
		holders = holders[:0]
		for i, e := range edges {
			if holding[strings.ToLower(addrs[e])] {
				holders = append(holders, i)
			}
		}
		if len(holders) >= churnKill || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	rng.Shuffle(len(holders), func(i, j int) { holders[i], holders[j] = holders[j], holders[i] })
	picked := map[int]bool{}
	var out []int
	for _, i := range holders {
		if len(out) < churnKill {
			out, picked[i] = append(out, i), true
		}
	}
	for _, i := range rng.Perm(len(edges)) {
		if len(out) < churnKill && !picked[i] {
			out, picked[i] = append(out, i), true
		}
	}
	return out
}
