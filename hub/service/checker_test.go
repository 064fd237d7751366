package service_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"

	"github.com/tessera-ai/tessera/contracts"
	"github.com/tessera-ai/tessera/hub/ledger"
	"github.com/tessera-ai/tessera/hub/service"
	"github.com/tessera-ai/tessera/internal/flop"
	"github.com/tessera-ai/tessera/internal/identity"
)

// checkerModel is the model the outside checker proves credit in.
const checkerModel = "gpt2-small"

// TestOutsideChecker runs a real hub (service.Run, its SQLite ledger and
// embedded chain) whose ledger holds credit past 2^64 FLOP, commits two
// epochs, and checks every contributor's proofs in both with
// contracts/check-proofs.mjs: ethers v6 and @openzeppelin/merkle-tree as
// pinned in contracts/package.json, no Tessera code, the contract called
// through the hub's read-only RPC proxy with ethers' default batching. It
// also checks the refusals of bad proof requests and that every address
// the API writes is checksummed.
func TestOutsideChecker(t *testing.T) {
	if testing.Short() {
		t.Skip("needs node and contracts/node_modules")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	contractsDir := filepath.Join("..", "..", "contracts")
	if err := contracts.InstallNodeModules(ctx, contractsDir); err != nil {
		t.Fatalf("the checker needs contracts/node_modules: %v", err)
	}

	// 150 contributors (more than one ethers batch of calls); three hold
	// 2^64-1, 2^64 and 3·(2^63-1) FLOP in epoch 1, past 2^65 in epoch 2.
	dir := t.TempDir()
	const n = 150
	addrs := make([]string, n)
	for i := range addrs {
		k, _ := identity.Generate()
		addrs[i] = k.Address().Hex()
	}
	const top = math.MaxInt64 // the most one credit row holds
	big1 := [][]int64{{top, top, 1}, {top, top, 2}, {top, top, top}}
	credit := func(l *ledger.Ledger, round int) {
		t.Helper()
		var ops []ledger.Op
		for i, a := range addrs {
			amounts := []int64{int64(1000*round + i + 1)}
			if i < len(big1) {
				amounts = big1[i]
			}
			for k, v := range amounts {
				ops = append(ops, ledger.Op{Kind: ledger.AddVerified, Task: fmt.Sprintf("r%d-%d", round, k), Model: checkerModel, Address: a, Amount: v})
			}
		}
		if err := <-l.Submit(ops...); err != nil {
			t.Fatal(err)
		}
	}
	l, err := ledger.Open(ctx, filepath.Join(dir, "ledger.db"), ledger.Config{})
	if err != nil {
		t.Fatal(err)
	}
	credit(l, 1)
	l.Close()

	base, stop := startHub(t, dir)
	defer stop()
	token, err := os.ReadFile(filepath.Join(dir, "admin.token"))
	if err != nil {
		t.Fatal(err)
	}
	commitNow := func() map[string]any {
		t.Helper()
		var out map[string]any
		doJSON(t, "POST", base+"/api/v1/admin/commit", strings.TrimSpace(string(token)), http.StatusOK, &out)
		return out
	}
	commitOut := commitNow()
	// Epoch 2: more credit, written while the hub runs (a second handle
	// on the same SQLite file), then committed.
	l, err = ledger.Open(ctx, filepath.Join(dir, "ledger.db"), ledger.Config{})
	if err != nil {
		t.Fatal(err)
	}
	credit(l, 2)
	l.Close()
	commitNow()

	// The outside checker: every address, latest epoch and epoch 1; a
	// third of the addresses in lower case (either case is accepted).
	in := make([]string, n)
	for i, a := range addrs {
		in[i] = a
		if i%3 == 0 {
			in[i] = strings.ToLower(a)
		}
	}
	stdin, _ := json.Marshal(in)
	cmd := exec.CommandContext(ctx, "node", filepath.Join(contractsDir, "check-proofs.mjs"), base, checkerModel, "0,1")
	cmd.Stdin = bytes.NewReader(stdin)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("check-proofs.mjs: %v\n%s", err, stderr.Bytes())
	}
	var res struct {
		Checked  int
		Batches  []int
		Failures []string
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n") // ethers may warn first
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &res); err != nil {
		t.Fatalf("check-proofs.mjs output: %v\n%s", err, out)
	}
	for _, f := range res.Failures {
		t.Error(f)
	}
	largest := 0
	for _, b := range res.Batches {
		largest = max(largest, b)
	}
	t.Logf("checked %d proofs; ethers sent %d requests to the RPC proxy, batches of up to %d calls", res.Checked, len(res.Batches), largest)
	if res.Checked != 2*n {
		t.Errorf("checked %d proofs, want %d", res.Checked, 2*n)
	}
	if largest != 100 {
		t.Errorf("ethers' largest batch was %d calls; its default is 100 and the checker makes %d calls at once", largest, 6*n)
	}

	// The proofs past 2^64, as the API writes them.
	two64 := new(big.Int).Lsh(big.NewInt(1), 64)
	for i, want := range []*big.Int{new(big.Int).Sub(two64, big.NewInt(1)), two64, new(big.Int).Mul(big.NewInt(top), big.NewInt(3))} {
		var p struct{ Amount string }
		getJSON(t, base+"/api/v1/proof?epoch=1&model="+checkerModel+"&address="+addrs[i], http.StatusOK, &p)
		if p.Amount != want.String() {
			t.Errorf("%s: epoch 1 amount %q, want %s", addrs[i], p.Amount, want)
		}
	}

	// Refusals, each with a message.
	for _, tc := range []struct {
		query string
		code  int
	}{
		{"epoch=3&address=" + addrs[5], http.StatusNotFound},
		{"epoch=0&address=" + addrs[5], http.StatusBadRequest},
		{"epoch=two&address=" + addrs[5], http.StatusBadRequest},
		{"epoch=1&epoch=2&address=" + addrs[5], http.StatusBadRequest},
		{"round=1&address=" + addrs[5], http.StatusBadRequest},
		{"address=0x" + strings.Repeat("0", 39) + "1", http.StatusNotFound},
	} {
		var e struct{ Error string }
		getJSON(t, base+"/api/v1/proof?model="+checkerModel+"&"+tc.query, tc.code, &e)
		if e.Error == "" {
			t.Errorf("%s: HTTP %d without a message", tc.query, tc.code)
		}
	}
	var e struct{ Error string }
	getJSON(t, base+"/api/v1/epochs?models="+checkerModel, http.StatusBadRequest, &e)

	// One spelling of every address in every output: EIP-55.
	lower := strings.ToLower(addrs[1])
	for _, path := range []string{
		"/api/v1/proof?model=" + checkerModel + "&address=" + lower,
		"/api/v1/proof?model=" + checkerModel + "&epoch=1&address=" + lower,
		"/api/v1/epochs",
		"/api/v1/epochs/" + checkerModel + "/1",
		"/api/v1/credits",
		"/api/v1/credits/" + checkerModel,
		"/api/v1/contributors/" + lower + "/credits",
		"/api/v1/contributors/" + lower + "/decisions",
	} {
		var v any
		getJSON(t, base+path, http.StatusOK, &v)
		checkAddresses(t, path, v)
	}
	for _, path := range []string{"/api/v1/admin/contributors", "/api/v1/admin/contributors/" + lower, "/api/v1/admin/credits"} {
		var v any
		doJSON(t, "GET", base+path, strings.TrimSpace(string(token)), http.StatusOK, &v)
		checkAddresses(t, path, v)
	}
	checkAddresses(t, "admin/commit", commitOut)
}

// startHub runs service.Run on a loopback port with dir as its data
// directory (the embedded chain, committing only when asked).
func startHub(t *testing.T, dir string) (base string, stop func()) {
	t.Helper()
	cfg := service.DefaultConfig()
	cfg.DefaultJob = false
	cfg.Hub.DataDir = dir
	cfg.Hub.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	cfg.Chain.Interval = time.Hour
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- service.Run(ctx, ln, cfg) }()
	base = "http://" + ln.Addr().String()
	deadline := time.Now().Add(time.Minute)
	for {
		resp, err := http.Get(base + "/api/v1/epochs")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("the hub did not serve its epochs: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return base, func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("service.Run: %v", err)
		}
	}
}

func doJSON(t *testing.T, method, url, token string, want int, v any) {
	t.Helper()
	req, _ := http.NewRequest(method, url, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		t.Fatalf("%s %s: HTTP %d, want %d: %s", method, url, resp.StatusCode, want, body)
	}
	if err := json.Unmarshal(body, v); err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
}

var addressLike = regexp.MustCompile(`^0[xX][0-9a-fA-F]{40}$`)

// checkAddresses fails for any string in v that is an address not
// spelled EIP-55, and for any amount field that is a JSON number.
func checkAddresses(t *testing.T, where string, v any) {
	t.Helper()
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			switch k {
			case "verified", "pending", "rejected", "in_epoch", "model_verified", "amount", "total":
				if s, ok := x.(string); !ok {
					t.Errorf("%s: %s is %v, not a decimal string", where, k, x)
				} else if _, err := flop.Parse(s); err != nil {
					t.Errorf("%s: %s: %v", where, k, err)
				}
			}
			checkAddresses(t, where, x)
		}
	case []any:
		for _, x := range v {
			checkAddresses(t, where, x)
		}
	case string:
		if addressLike.MatchString(v) && v != common.HexToAddress(v).Hex() {
			t.Errorf("%s: address %s is not checksummed (%s)", where, v, common.HexToAddress(v).Hex())
		}
	}
}
