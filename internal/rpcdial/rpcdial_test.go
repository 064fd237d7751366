package rpcdial

import (
	"context"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/rpc"
)

func TestPublic(t *testing.T) {
	for _, tc := range []struct{ raw, want string }{
		{"https://mainnet.example.io/v3/0123456789abcdef", "https://mainnet.example.io"},
		{"https://node.example.org:8545/?apikey=SECRET", "https://node.example.org:8545"},
		{"https://user:SECRET@node.example.org/rpc", "https://node.example.org"},
		{"wss://node.example.org/ws/SECRET", "wss://node.example.org"},
		{"http://127.0.0.1:8545", "http://127.0.0.1:8545"},
		{"/var/run/geth.ipc", "/var/run/geth.ipc"},
		{"http://node.example.org/%zzSECRET", "(an unparsable URL)"},
		{"", ""},
	} {
		if got := Public(tc.raw); got != tc.want {
			t.Errorf("Public(%q) = %q, want %q", tc.raw, got, tc.want)
		}
	}
}

// chainService answers eth_chainId, as a node does, through go-ethereum's
// own RPC server.
type chainService struct{}

func (chainService) ChainId() *hexutil.Big { return (*hexutil.Big)(big.NewInt(1337)) }

// TestDialKeepsSecrets dials a JSON-RPC endpoint that admits only
// requests to its secret path, with its secret query and basic auth: the
// client reaches it, and once the endpoint is gone, the error names only
// its scheme and host.
func TestDialKeepsSecrets(t *testing.T) {
	srv := rpc.NewServer()
	if err := srv.RegisterName("eth", chainService{}); err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	var refused []string
	node := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, pass, _ := r.BasicAuth()
		if r.URL.Path != "/v3/PATHSECRET" || r.URL.Query().Get("apikey") != "QUERYSECRET" || user != "me" || pass != "PASSSECRET" {
			refused = append(refused, r.URL.String())
			http.Error(w, "no such key", http.StatusUnauthorized)
			return
		}
		srv.ServeHTTP(w, r)
	}))
	host := strings.TrimPrefix(node.URL, "http://")
	raw := "http://me:PASSSECRET@" + host + "/v3/PATHSECRET?apikey=QUERYSECRET"
	secrets := []string{"PATHSECRET", "QUERYSECRET", "PASSSECRET"}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := Dial(ctx, raw, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	id, err := c.ChainID(ctx)
	if err != nil || id.Int64() != 1337 {
		t.Fatalf("chain ID through the secret URL: %v, %v (refused: %q)", id, err, refused)
	}

	node.Close()
	_, err = c.ChainID(ctx)
	if err == nil {
		t.Fatal("the endpoint is gone, yet the call succeeded")
	}
	for _, s := range secrets {
		if strings.Contains(err.Error(), s) {
			t.Errorf("error %q reveals %s", err, s)
		}
	}
	if !strings.Contains(err.Error(), host) {
		t.Errorf("error %q does not name the endpoint %s", err, host)
	}

	t.Run("Unparsable", func(t *testing.T) {
		_, err := Dial(ctx, "http://"+host+"/%zzPATHSECRET", nil)
		if err == nil || strings.Contains(err.Error(), "PATHSECRET") {
			t.Errorf("a URL that does not parse: error %v", err)
		}
	})
}
