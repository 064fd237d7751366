package chain

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/ethereum/go-ethereum/common"

	"github.com/tessera-ai/tessera/hub/chain/merkle"
	"github.com/tessera-ai/tessera/hub/ledger"
)

// proofFixture is a real ledger with two committed epochs of 5
// contributors (the second past 2^63 FLOP for some) and a third one only
// prepared, without a chain: the proof handler reads only the ledger.
var proofFixture struct {
	once     sync.Once
	handler  http.Handler
	roots    map[uint64][32]byte // committed epoch → root
	earnings map[uint64][32]byte // committed epoch → earnings root
	err      error
}

func proofHandlerForFuzz(tb testing.TB) (http.Handler, map[uint64][32]byte) {
	proofFixture.once.Do(func() {
		proofFixture.roots, proofFixture.err = buildProofFixture()
		proofFixture.handler = proofFixtureHandler
	})
	if proofFixture.err != nil {
		tb.Fatal(proofFixture.err)
	}
	return proofFixture.handler, proofFixture.roots
}

var proofFixtureHandler http.Handler

func buildProofFixture() (map[uint64][32]byte, error) {
	dir, err := osTempDir()
	if err != nil {
		return nil, err
	}
	ctx := context.Background()
	l, err := ledger.Open(ctx, filepath.Join(dir, "ledger.db"), ledger.Config{})
	if err != nil {
		return nil, err
	}
	roots := map[uint64][32]byte{}
	proofFixture.earnings = map[uint64][32]byte{}
	for epoch := uint64(1); epoch <= 3; epoch++ {
		ops := make([]ledger.Op, 5)
		for i := range ops {
			amount := int64(i + 1)
			if epoch == 2 && i < 3 {
				amount = math.MaxInt64 // past 2^63 with epoch 1's
			}
			ops[i] = ledger.Op{Kind: ledger.AddVerified, Task: fmt.Sprint("t", epoch), Model: "m", Address: contributor(i), Amount: amount}
		}
		if epoch == 3 {
			ops[0].Amount = math.MaxInt64
		}
		if err := <-l.Submit(ops...); err != nil {
			return nil, err
		}
		if err := l.RecordRevenue(ctx, "m", fl(1_000_000_007*epoch), "fixture"); err != nil {
			return nil, err
		}
		s, err := l.Snapshot(ctx, "m")
		if err != nil {
			return nil, err
		}
		tree, err := Tree(s.Leaves)
		if err != nil {
			return nil, err
		}
		earnings, err := EarningsTree(s.Leaves)
		if err != nil {
			return nil, err
		}
		if err := l.PrepareEpoch(ctx, s, tree.Root(), earnings.Root()); err != nil {
			return nil, err
		}
		if epoch == 3 {
			break // prepared, never committed: its proofs are not served
		}
		tx := [32]byte{byte(epoch)}
		if err := l.MarkSent(ctx, "m", epoch, tx); err != nil {
			return nil, err
		}
		if err := l.MarkCommitted(ctx, "m", epoch, tx, 6+epoch); err != nil {
			return nil, err
		}
		roots[epoch] = tree.Root()
		proofFixture.earnings[epoch] = earnings.Root()
	}
	proofFixtureHandler = ProofHandler(l, common.HexToAddress("0x00000000000000000000000000000000000000cc"), big.NewInt(1337))
	return roots, nil
}

// FuzzProofRequest sends arbitrary query strings to GET /api/v1/proof. The
// handler must answer 200, 400 or 404 with a JSON body, never panic, and
// every proof it serves must verify against the root of the committed
// epoch asked for (the latest without epoch=), with the address
// checksummed and the amount a decimal string.
func FuzzProofRequest(f *testing.F) {
	f.Add("model=m&address=" + contributor(2))
	f.Add("model=m&address=" + strings.ToLower(contributor(2)))
	f.Add("model=m&address=" + strings.ToUpper(contributor(2)))
	f.Add("model=m&address=" + contributor(2) + "&address=0x00")
	f.Add("model=m&address=" + contributor(0) + "&epoch=1")
	f.Add("model=m&address=" + contributor(0) + "&epoch=10000000000000000000") // past int64: refused, not a ledger error
	f.Add("model=m&address=" + contributor(0) + "&epoch=2")
	f.Add("model=m&address=" + contributor(0) + "&epoch=3")
	f.Add("model=m&address=" + contributor(0) + "&epoch=99")
	f.Add("model=m&address=" + contributor(0) + "&epoch=0")
	f.Add("model=m&address=" + contributor(0) + "&epoch=-1")
	f.Add("model=m&address=" + contributor(0) + "&epoch=18446744073709551616")
	f.Add("model=m&address=" + contributor(0) + "&epoch=1&epoch=2")
	f.Add("model=m&address=" + contributor(0) + "&epochs=1")
	f.Add("model=m&address=" + contributor(0) + "&")
	f.Add("model=&address=")
	f.Add("model=m&address=0xZZ")
	f.Add("model=%ff%00&address=" + contributor(9))
	f.Add(";;&&==%")
	f.Add("model=m&kind=earnings&address=" + contributor(1))
	f.Add("model=m&kind=earnings&epoch=1&address=" + contributor(4))
	f.Add("model=m&kind=earnings&epoch=3&address=" + contributor(4))
	f.Add("model=m&kind=credit&address=" + contributor(1))
	f.Add("model=m&kind=Earnings&address=" + contributor(1))
	f.Add("model=m&kind=earnings&kind=credit&address=" + contributor(1))
	f.Fuzz(func(t *testing.T, query string) {
		h, roots := proofHandlerForFuzz(t)
		req := httptest.NewRequest("GET", "/api/v1/proof", nil)
		req.URL.RawQuery = query
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		switch w.Code {
		case http.StatusOK, http.StatusBadRequest, http.StatusNotFound:
		default:
			t.Fatalf("status %d for %q: %s", w.Code, query, w.Body)
		}
		if w.Code != http.StatusOK {
			var e struct{ Error string }
			if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || e.Error == "" {
				t.Fatalf("error without a JSON message for %q: %s", query, w.Body)
			}
			return
		}
		q, _ := url.ParseQuery(query)
		if q.Get("kind") == KindEarnings {
			checkFuzzedEarnings(t, query, q, w.Body.Bytes())
			return
		}
		var p Proof
		if err := json.Unmarshal(w.Body.Bytes(), &p); err != nil {
			t.Fatal(err)
		}
		var raw struct{ Address, Amount, Contract string }
		if err := json.Unmarshal(w.Body.Bytes(), &raw); err != nil {
			t.Fatal(err)
		}
		if raw.Address != p.Address.Hex() || raw.Contract != p.Contract.Hex() || raw.Amount != p.Amount.String() {
			t.Fatalf("address %q, contract %q, amount %q: want checksummed addresses and a decimal string", raw.Address, raw.Contract, raw.Amount)
		}
		if q.Get("model") != "m" {
			t.Fatalf("a proof served for model %q", q.Get("model"))
		}
		want := uint64(2)
		if s := q.Get("epoch"); s != "" {
			want, _ = strconv.ParseUint(s, 10, 64)
		}
		root, ok := roots[p.Epoch]
		if p.Epoch != want || !ok {
			t.Fatalf("%q served epoch %d", query, p.Epoch)
		}
		proof := make([][32]byte, len(p.Proof))
		for i := range p.Proof {
			copy(proof[i][:], p.Proof[i])
		}
		if !merkle.Verify(root, merkle.Entry{Account: p.Address.Common(), Amount: p.Amount.Big()}, proof) {
			t.Fatalf("served proof does not verify for %q", query)
		}
		leaf, _ := merkle.LeafHash(merkle.Entry{Account: p.Address.Common(), Amount: p.Amount.Big()})
		if !bytes.Equal(p.Leaf, leaf[:]) || !bytes.Equal(p.Root, root[:]) {
			t.Fatalf("leaf %x root %x for %q", p.Leaf, p.Root, query)
		}
	})
}

// checkFuzzedEarnings checks an earnings proof served for query: of the
// epoch asked for (the latest, 2, without epoch=), verifying against that
// epoch's earnings root, and claimable (Latest) only if of epoch 2.
func checkFuzzedEarnings(t *testing.T, query string, q url.Values, body []byte) {
	var p EarningsProof
	if err := json.Unmarshal(body, &p); err != nil {
		t.Fatal(err)
	}
	var raw struct{ Address, CumulativeEarnings string }
	if err := json.Unmarshal(body, &raw); err != nil {
		t.Fatal(err)
	}
	if raw.Address != p.Address.Hex() || raw.CumulativeEarnings != p.CumulativeEarnings.String() {
		t.Fatalf("address %q, earnings %q: want a checksummed address and a decimal string", raw.Address, raw.CumulativeEarnings)
	}
	want := uint64(2)
	if s := q.Get("epoch"); s != "" {
		want, _ = strconv.ParseUint(s, 10, 64)
	}
	root, ok := proofFixture.earnings[p.Epoch]
	if q.Get("model") != "m" || p.Epoch != want || !ok || p.Latest != (p.Epoch == 2) || p.Kind != KindEarnings {
		t.Fatalf("%q served epoch %d (latest %v, kind %q)", query, p.Epoch, p.Latest, p.Kind)
	}
	c, err := ClaimOf(p)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(p.EarningsRoot, root[:]) || !merkle.Verify(root, merkle.Entry{Account: c.Account, Amount: c.Cumulative}, c.Proof) {
		t.Fatalf("served earnings proof does not verify for %q", query)
	}
}

// rpcFixture is the embedded chain behind the read-only proxy.
var rpcFixture struct {
	once    sync.Once
	node    *Node
	handler http.Handler
	err     error
}

// FuzzReadOnlyRPC sends arbitrary bodies to the read-only JSON-RPC proxy
// in front of a real embedded node. Every answer must be JSON-RPC (an
// object, or an array of them for a batch), and no request may change the
// chain: the head block stays where it was.
func FuzzReadOnlyRPC(f *testing.F) {
	f.Add([]byte(`{"jsonrpc":"2.0","id":1,"method":"eth_chainId"}`))
	f.Add([]byte(`{"jsonrpc":"2.0","id":"x","method":"eth_call","params":[{"to":"0x00000000000000000000000000000000000000aa","data":"0x"},"latest"]}`))
	f.Add([]byte(`[{"jsonrpc":"2.0","id":1,"method":"eth_blockNumber"},{"jsonrpc":"2.0","id":2,"method":"eth_sendRawTransaction","params":["0x00"]}]`))
	f.Add([]byte(`{"jsonrpc":"2.0","id":1,"method":"eth_getBlockByNumber","params":["latest",true]}`))
	f.Add([]byte(`{"jsonrpc":"2.0","id":1,"method":"debug_setHead","params":["0x0"]}`))
	f.Add([]byte(`[]`))
	f.Add([]byte(`{"jsonrpc":`))
	f.Add([]byte(`[1,"x",null,{"id":{"a":1}},{"jsonrpc":"2.0","id":[],"method":"eth_chainId"}]`))
	reqs := make([]string, 21) // one over the old limit (TestReadOnlyRPCBatches sends the large ones)
	for i := range reqs {
		reqs[i] = fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"eth_chainId"}`, i)
	}
	f.Add([]byte("[" + strings.Join(reqs, ",") + "]"))
	f.Add([]byte("[" + strings.Repeat("1,", maxRPCBatch) + "1]")) // one over the limit, cheap to mutate
	f.Fuzz(func(t *testing.T, body []byte) {
		rpcFixture.once.Do(func() {
			dir, err := osTempDir()
			if err != nil {
				rpcFixture.err = err
				return
			}
			rpcFixture.node, rpcFixture.err = OpenNode(context.Background(), filepath.Join(dir, "chain"))
			if rpcFixture.err == nil {
				rpcFixture.handler = ReadOnlyRPC(rpcFixture.node.Client().Client())
			}
		})
		if rpcFixture.err != nil {
			t.Fatal(rpcFixture.err)
		}
		head := rpcFixture.node.Head()
		w := httptest.NewRecorder()
		rpcFixture.handler.ServeHTTP(w, httptest.NewRequest("POST", "/api/v1/chain/rpc", bytes.NewReader(body)))
		out := bytes.TrimSpace(w.Body.Bytes())
		var check func(raw json.RawMessage)
		check = func(raw json.RawMessage) {
			var r struct {
				JSONRPC string          `json:"jsonrpc"`
				ID      json.RawMessage `json:"id"`
				Result  json.RawMessage `json:"result"`
				Error   *struct {
					Code    int    `json:"code"`
					Message string `json:"message"`
				} `json:"error"`
			}
			if err := json.Unmarshal(raw, &r); err != nil || r.JSONRPC != "2.0" || (r.Result == nil) == (r.Error == nil) {
				t.Fatalf("not a JSON-RPC response to %q: %s", body, raw)
			}
		}
		var reqs []json.RawMessage
		if len(body) <= maxRPCBody && json.Unmarshal(body, &reqs) == nil && len(reqs) > 0 && (len(out) == 0 || out[0] != '[') {
			t.Fatalf("a batch of %d requests got one answer: %.200s", len(reqs), out)
		}
		if len(out) > 0 && out[0] == '[' {
			var rs []json.RawMessage
			if err := json.Unmarshal(out, &rs); err != nil || len(rs) == 0 || len(rs) != len(reqs) {
				t.Fatalf("bad batch response (%d requests) to %.200q: %.200s", len(reqs), body, out)
			}
			for _, r := range rs {
				check(r)
			}
		} else {
			check(out)
		}
		if now := rpcFixture.node.Head(); now != head {
			t.Fatalf("the chain moved from block %d to %d after %q", head, now, body)
		}
	})
}

// fixtureDirs are the fuzz fixtures' directories, removed by TestMain.
var fixtureDirs []string

// osTempDir makes a directory for a fuzz fixture that lives as long as the
// test process (testing.T's TempDir ends with one input).
func osTempDir() (string, error) {
	dir, err := os.MkdirTemp("", "tessera-fuzz-")
	if err == nil {
		fixtureDirs = append(fixtureDirs, dir)
	}
	return dir, err
}

func TestMain(m *testing.M) {
	code := m.Run()
	if rpcFixture.node != nil {
		rpcFixture.node.Close()
	}
	for _, d := range fixtureDirs {
		os.RemoveAll(d)
	}
	os.Exit(code)
}
