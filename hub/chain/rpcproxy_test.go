package chain

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
)

// TestReadOnlyRPCBatches sends batches of the sizes common clients use
// (ethers: 100, viem: 1,000) to the proxy in front of a real embedded
// node: every request gets its own answer with its id, in order. A batch
// over the limit gets one error per request, with that request's id, and
// an empty batch one error.
func TestReadOnlyRPCBatches(t *testing.T) {
	node := openNode(t, filepath.Join(t.TempDir(), "chain"))
	defer node.Close()
	srv := httptest.NewServer(ReadOnlyRPC(node.Client().Client()))
	defer srv.Close()

	batch := func(n int, method string) []byte {
		var b strings.Builder
		b.WriteString("[")
		for i := range n {
			if i > 0 {
				b.WriteString(",")
			}
			switch method {
			case "eth_call":
				fmt.Fprintf(&b, `{"jsonrpc":"2.0","id":%d,"method":"eth_call","params":[{"to":"0x00000000000000000000000000000000000000aa","data":"0x"},"latest"]}`, i)
			default:
				fmt.Fprintf(&b, `{"jsonrpc":"2.0","id":"r%d","method":%q}`, i, method)
			}
		}
		b.WriteString("]")
		return []byte(b.String())
	}
	type answer struct {
		JSONRPC string          `json:"jsonrpc"`
		ID      json.RawMessage `json:"id"`
		Result  json.RawMessage `json:"result"`
		Error   *rpcError       `json:"error"`
	}
	post := func(t *testing.T, body []byte) []byte {
		t.Helper()
		resp, err := http.Post(srv.URL, "application/json", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out bytes.Buffer
		out.ReadFrom(resp.Body)
		return out.Bytes()
	}
	for _, tc := range []struct {
		name   string
		n      int
		method string
	}{
		{"Ethers100", 100, "eth_call"},
		{"Viem1000", 1000, "eth_chainId"},
		{"Viem1000Calls", 1000, "eth_call"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := batch(tc.n, tc.method)
			if len(body) > maxRPCBody {
				t.Fatalf("test batch of %d bytes is over the proxy's body limit", len(body))
			}
			var as []answer
			if out := post(t, body); json.Unmarshal(out, &as) != nil || len(as) != tc.n {
				t.Fatalf("want %d answers, got %.300s", tc.n, out)
			}
			for i, a := range as {
				want := fmt.Sprintf(`"r%d"`, i)
				if tc.method == "eth_call" {
					want = fmt.Sprint(i)
				}
				if string(a.ID) != want || a.Error != nil || a.Result == nil {
					t.Fatalf("answer %d: %+v (id want %s)", i, a, want)
				}
			}
		})
	}
	t.Run("Oversized", func(t *testing.T) {
		n := maxRPCBatch + 1
		var as []answer
		if out := post(t, batch(n, "eth_chainId")); json.Unmarshal(out, &as) != nil || len(as) != n {
			t.Fatalf("want %d answers, got %.300s", n, out)
		}
		for i, a := range as {
			if string(a.ID) != fmt.Sprintf(`"r%d"`, i) || a.Error == nil || a.Error.Code != rpcInvalidRequest || a.Result != nil ||
				!strings.Contains(a.Error.Message, "at most 1000 per batch") {
				t.Fatalf("answer %d: %+v", i, a)
			}
		}
	})
	t.Run("Empty", func(t *testing.T) {
		var a answer
		if out := post(t, []byte(`[]`)); json.Unmarshal(out, &a) != nil || a.Error == nil || string(a.ID) != "null" {
			t.Fatalf("empty batch: %s", out)
		}
	})
	t.Run("BodyTooLarge", func(t *testing.T) {
		var a answer
		big := append([]byte(`{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":["`), bytes.Repeat([]byte("a"), maxRPCBody)...)
		if out := post(t, append(big, `"]}`...)); json.Unmarshal(out, &a) != nil || a.Error == nil || !strings.Contains(a.Error.Message, "1048576 bytes") {
			t.Fatalf("oversized body: %s", out)
		}
	})
}
