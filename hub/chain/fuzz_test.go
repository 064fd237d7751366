package chain

import (
	"bytes"
	"context"
	"encoding/json"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/ethereum/go-ethereum/common"

	"github.com/tessera-ai/tessera/hub/chain/merkle"
	"github.com/tessera-ai/tessera/hub/ledger"
)

// proofFixture is a real ledger with one committed epoch of 5
// contributors, without a chain: the proof handler reads only the ledger.
var proofFixture struct {
	once    sync.Once
	handler http.Handler
	root    [32]byte
	err     error
}

func proofHandlerForFuzz(tb testing.TB) (http.Handler, [32]byte) {
	proofFixture.once.Do(func() {
		dir, err := osTempDir()
		if err != nil {
			proofFixture.err = err
			return
		}
		ctx := context.Background()
		l, err := ledger.Open(ctx, filepath.Join(dir, "ledger.db"), ledger.Config{})
		if err != nil {
			proofFixture.err = err
			return
		}
		ops := make([]ledger.Op, 5)
		for i := range ops {
			ops[i] = ledger.Op{Kind: ledger.AddVerified, Task: "t", Model: "m", Address: contributor(i), Amount: int64(i + 1)}
		}
		if err := <-l.Submit(ops...); err != nil {
			proofFixture.err = err
			return
		}
		s, err := l.Snapshot(ctx, "m")
		if err != nil {
			proofFixture.err = err
			return
		}
		tree, err := Tree(s.Leaves)
		if err != nil {
			proofFixture.err = err
			return
		}
		root := tree.Root()
		if err := l.PrepareEpoch(ctx, s, root); err == nil {
			err = l.MarkSent(ctx, "m", 1, [32]byte{1})
			if err == nil {
				err = l.MarkCommitted(ctx, "m", 1, [32]byte{1}, 7)
			}
			proofFixture.err = err
		} else {
			proofFixture.err = err
		}
		proofFixture.handler = ProofHandler(l, common.HexToAddress("0x00000000000000000000000000000000000000cc"), big.NewInt(1337))
		proofFixture.root = root
	})
	if proofFixture.err != nil {
		tb.Fatal(proofFixture.err)
	}
	return proofFixture.handler, proofFixture.root
}

// FuzzProofRequest sends arbitrary query strings to GET /api/v1/proof. The
// handler must answer 200, 400 or 404 with a JSON body, never panic, and
// every proof it serves must verify against the committed root.
func FuzzProofRequest(f *testing.F) {
	f.Add("model=m&address=" + contributor(2))
	f.Add("model=m&address=" + contributor(2) + "&address=0x00")
	f.Add("model=&address=")
	f.Add("model=m&address=0xZZ")
	f.Add("model=%ff%00&address=" + contributor(9))
	f.Add(";;&&==%")
	f.Fuzz(func(t *testing.T, query string) {
		h, root := proofHandlerForFuzz(t)
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
		var p Proof
		if err := json.Unmarshal(w.Body.Bytes(), &p); err != nil {
			t.Fatal(err)
		}
		amount, ok := new(big.Int).SetString(p.Amount, 10)
		if !ok {
			t.Fatalf("amount %q", p.Amount)
		}
		proof := make([][32]byte, len(p.Proof))
		for i := range p.Proof {
			copy(proof[i][:], p.Proof[i])
		}
		if !merkle.Verify(root, merkle.Entry{Account: p.Address, Amount: amount}, proof) {
			t.Fatalf("served proof does not verify for %q", query)
		}
		if q, _ := url.ParseQuery(query); q.Get("model") != "m" {
			t.Fatalf("a proof served for model %q", q.Get("model"))
		}
	})
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
		if len(out) > 0 && out[0] == '[' {
			var rs []json.RawMessage
			if err := json.Unmarshal(out, &rs); err != nil || len(rs) == 0 {
				t.Fatalf("bad batch response to %q: %s", body, out)
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
