package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"math/big"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common/hexutil"

	"github.com/tessera-ai/tessera/client/hubapi"
	"github.com/tessera-ai/tessera/internal/identity"
)

// runEdge runs the tessera-edge binary to completion and returns its
// stdout, stderr and exit code.
func runEdge(tb testing.TB, bins string, args ...string) (stdout, stderr string, code int) {
	tb.Helper()
	cmd := exec.Command(filepath.Join(bins, "tessera-edge"), args...)
	var out, errOut strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		code = exit.ExitCode()
	case err != nil:
		tb.Fatalf("run tessera-edge %v: %v", args, err)
	}
	return out.String(), errOut.String(), code
}

// TestEdgeProof earns credit with two real edge clients, has the real hub
// commit an epoch on its embedded chain, and runs `tessera-edge proof`: it
// must print the proof and VALID, as checked by the contract through the
// hub's read-only RPC proxy; a wrong model or address is a clear error and
// a non-zero exit; a tampered proof is INVALID.
func TestEdgeProof(t *testing.T) {
	bins := edgeBinaries(t)
	data := t.TempDir()
	hubProc, base := startHubOn(t, bins, "127.0.0.1:0", []string{"--data", data,
		"--matmul-shape", "64x96x32", "--default-job=false", "--epoch", "1h"})
	ws := "ws" + strings.TrimPrefix(base, "http") + "/ws"
	var keys []string
	var edges []*proc
	for range 2 {
		key := filepath.Join(t.TempDir(), "edge.key")
		keys = append(keys, key)
		edges = append(edges, start(t, filepath.Join(bins, "tessera-edge"), []string{"--hub", ws, "--key", key, "--backend", "cpu", "--slots", "1", "--progress", "0"}, nil))
	}
	key, _, err := identity.LoadOrCreate(keys[0])
	if err != nil {
		t.Fatal(err)
	}
	address := key.Address().Hex()

	// Credit is committed once verified; with two contributors, replicas
	// are settled within moments.
	api, err := hubapi.New(ws)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	deadline := time.Now().Add(60 * time.Second)
	for {
		c0, err0 := api.Credit(ctx, "matmul", address)
		st := edgeStatus(t, base)
		if err0 == nil && !c0.Verified.IsZero() && len(st.Contributors) == 2 && st.Contributors[0].TasksCompleted > 5 && st.Contributors[1].TasksCompleted > 5 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no verified credit in time: %+v, %v; status %+v", c0, err0, st)
		}
		time.Sleep(50 * time.Millisecond)
	}
	for i, e := range edges {
		if err := e.stop(t); err != nil {
			t.Errorf("edge %d exit: %v", i, err)
		}
	}
	commit(t, base, data)

	t.Run("Valid", func(t *testing.T) {
		out, errOut, code := runEdge(t, bins, "proof", "--hub", ws, "--key", keys[0])
		if code != 0 {
			t.Fatalf("proof exited %d:\n%s\n%s", code, out, errOut)
		}
		t.Logf("tessera-edge proof:\n%s", out)
		for _, want := range []string{"model         matmul", "address       " + address, "on-chain      VALID", "contract      0x", "transaction   0x", "proof         0x"} {
			if !strings.Contains(out, want) {
				t.Errorf("proof output lacks %q:\n%s", want, out)
			}
		}
	})

	t.Run("JSON", func(t *testing.T) {
		out, errOut, code := runEdge(t, bins, "proof", "--hub", ws, "--key", keys[1], "--model", "matmul", "--json")
		if code != 0 {
			t.Fatalf("proof exited %d:\n%s\n%s", code, out, errOut)
		}
		var got struct {
			Address string `json:"address"`
			Proofs  []struct {
				Proof hubapi.Proof `json:"proof"`
				Share float64      `json:"share"`
				Valid bool         `json:"valid"`
			} `json:"proofs"`
		}
		if err := json.Unmarshal([]byte(out), &got); err != nil {
			t.Fatalf("proof --json output: %v\n%s", err, out)
		}
		if len(got.Proofs) != 1 || !got.Proofs[0].Valid {
			t.Fatalf("want one valid proof, got %+v", got)
		}
		p := got.Proofs[0]
		if p.Proof.Model != "matmul" || p.Proof.Contributors != 2 || len(p.Proof.Proof) != 1 || p.Share <= 0 || p.Share >= 1 {
			t.Errorf("proof of one of two contributors: model %q, %d contributors, %d proof hashes, share %v",
				p.Proof.Model, p.Proof.Contributors, len(p.Proof.Proof), p.Share)
		}
	})

	t.Run("WrongModel", func(t *testing.T) {
		out, errOut, code := runEdge(t, bins, "proof", "--hub", ws, "--key", keys[0], "--model", "no-such-model")
		if code == 0 || !strings.Contains(errOut, `"no-such-model" has no epoch committed`) {
			t.Errorf("proof of an unknown model: exit %d, stderr %q, stdout %q", code, errOut, out)
		}
	})

	t.Run("WrongAddress", func(t *testing.T) {
		stranger := "0x00000000000000000000000000000000000000a1"
		out, errOut, code := runEdge(t, bins, "proof", "--hub", ws, "--address", stranger)
		if code == 0 || !strings.Contains(errOut, "has no committed credit") {
			t.Errorf("proof of an address without credit: exit %d, stderr %q, stdout %q", code, errOut, out)
		}
		out, errOut, code = runEdge(t, bins, "proof", "--hub", ws, "--address", "0xnot-an-address")
		if code != 2 || !strings.Contains(errOut, "not an Ethereum address") {
			t.Errorf("proof of a malformed address: exit %d, stderr %q, stdout %q", code, errOut, out)
		}
	})

	t.Run("Tampered", func(t *testing.T) {
		rpc := base + "/api/v1/chain/rpc"
		p, err := api.Proof(ctx, "matmul", address)
		if err != nil {
			t.Fatal(err)
		}
		v, err := hubapi.Check(ctx, rpc, p)
		if err != nil || !v.Valid {
			t.Fatalf("untampered proof: %+v, %v", v, err)
		}
		amount, _ := new(big.Int).SetString(p.Amount, 10)
		more := *p
		more.Amount = new(big.Int).Add(amount, big.NewInt(1)).String()
		bent := *p
		bent.Proof = append([]hexutil.Bytes(nil), p.Proof...)
		bent.Proof[0] = append([]byte(nil), p.Proof[0]...)
		bent.Proof[0][0] ^= 1
		other := *p
		other.Model = "mnist"
		for name, q := range map[string]*hubapi.Proof{"amount": &more, "path": &bent, "model": &other} {
			v, err := hubapi.Check(ctx, rpc, q)
			if err != nil {
				t.Errorf("%s: %v", name, err)
				continue
			}
			if v.Valid || v.Reason == "" {
				t.Errorf("a proof with a tampered %s passed: %+v", name, v)
			}
		}
	})

	if err := hubProc.stop(t); err != nil {
		t.Errorf("hub exit: %v", err)
	}
}

// commit asks the hub to commit an epoch now, with the admin token from
// its data directory.
func commit(tb testing.TB, base, data string) {
	tb.Helper()
	token, err := os.ReadFile(filepath.Join(data, "admin.token"))
	if err != nil {
		tb.Fatalf("admin token: %v", err)
	}
	req, _ := http.NewRequest(http.MethodPost, base+"/api/v1/admin/commit", nil)
	req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(token)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatalf("commit: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		var e struct{ Error string }
		json.NewDecoder(resp.Body).Decode(&e)
		tb.Fatalf("commit: HTTP %d: %s", resp.StatusCode, e.Error)
	}
}
