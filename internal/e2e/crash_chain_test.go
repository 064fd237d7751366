package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"math/big"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/accounts/abi/bind/v2"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/ethclient"

	"github.com/tessera-ai/tessera/contracts/bindings"
	"github.com/tessera-ai/tessera/hub/chain"
	"github.com/tessera-ai/tessera/hub/ledger"
)

// The crash test's checks against the chain: what the stopped hub's
// embedded chain holds, and what the RPC proxy serves.

// checkChain opens the stopped hub's embedded chain and checks that the
// contract holds every epoch the ledger records as committed, each once
// and with the ledger's root, total and count, and nothing beyond the
// ledger's latest epoch (which may be on-chain while the ledger still
// says prepared or sent: the restarted committer finds it there).
func (cs *crashState) checkChain(t *testing.T, epochs map[string][]ledger.Epoch) {
	t.Helper()
	ctx := context.Background()
	raw, err := os.ReadFile(filepath.Join(cs.data, "contract-"+strconv.Itoa(chain.DevChainID)))
	if err != nil {
		t.Fatalf("the hub recorded no contract: %v", err)
	}
	contract := common.HexToAddress(strings.TrimSpace(string(raw)))
	node, err := chain.OpenNode(ctx, filepath.Join(cs.data, "chain"))
	if err != nil {
		t.Fatalf("open the hub's chain: %v", err)
	}
	defer node.Close()
	c := newContractReader(t, node.Client(), contract)
	for _, model := range cs.models {
		es := epochs[model]
		committed := 0
		for _, e := range es {
			if e.State == ledger.EpochCommitted {
				committed++
			}
		}
		latest := c.latest(model)
		if latest > uint64(len(es)) || latest < uint64(committed) {
			t.Errorf("%s: the contract's latest epoch is %d; the ledger has %d epochs, %d committed", model, latest, len(es), committed)
			continue
		}
		for n := uint64(1); n <= latest; n++ {
			e, info := es[uint64(len(es))-n], c.info(model, n)
			if info.Root != e.Root || info.Total.Cmp(e.Total.Big()) != 0 || info.Contributors != uint64(e.Contributors) {
				t.Errorf("%s epoch %d: on-chain root %x, total %v, %d contributors; ledger %x, %s, %d",
					model, n, info.Root, info.Total, info.Contributors, e.Root, e.Total, e.Contributors)
			}
		}
		counts := commitEvents(t, node.Client(), c, contract, model)
		for n := uint64(1); n <= latest; n++ {
			if counts[n] != 1 {
				t.Errorf("%s epoch %d: %d EpochCommitted events, want 1", model, n, counts[n])
			}
		}
		if len(counts) != int(latest) {
			t.Errorf("%s: events for epochs %v, the contract's latest is %d", model, counts, latest)
		}
	}
}

// commitEvents counts the contract's EpochCommitted events of model by
// epoch.
func commitEvents(t *testing.T, ec *ethclient.Client, c *contractReader, contract common.Address, model string) map[uint64]int {
	t.Helper()
	logs, err := ec.FilterLogs(context.Background(), ethereum.FilterQuery{
		FromBlock: big.NewInt(0), Addresses: []common.Address{contract},
		Topics: [][]common.Hash{{c.abi.GetABI().Events["EpochCommitted"].ID}, {chain.ModelID(model)}},
	})
	if err != nil {
		t.Fatal(err)
	}
	out := map[uint64]int{}
	for _, l := range logs {
		if !l.Removed {
			out[new(big.Int).SetBytes(l.Topics[2][:]).Uint64()]++
		}
	}
	return out
}

// checkCheckpoint reads the job's row from the stopped hub's database:
// its checkpoint never goes back, and names a file that exists.

type epochsDoc struct {
	Contract string            `json:"contract"`
	ChainID  string            `json:"chainId"`
	Epochs   []chain.EpochJSON `json:"epochs"`
}

func fetchEpochs(base, model string) (epochsDoc, error) {
	var doc epochsDoc
	resp, err := http.Get(base + "/api/v1/epochs?limit=1000&model=" + model)
	if err != nil {
		return doc, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return doc, fmt.Errorf("GET epochs: HTTP %s", resp.Status)
	}
	return doc, json.NewDecoder(resp.Body).Decode(&doc)
}

// checkThroughProxy reads the contract through the hub's read-only RPC
// proxy, as a contributor without a node would: every epoch the API lists
// as committed is on-chain with the API's root.
func (cs *crashState) checkThroughProxy(t *testing.T, base, model string) {
	t.Helper()
	doc, err := fetchEpochs(base, model)
	if err != nil {
		t.Fatal(err)
	}
	ec, err := ethclient.Dial(base + "/api/v1/chain/rpc")
	if err != nil {
		t.Fatal(err)
	}
	defer ec.Close()
	c := newContractReader(t, ec, common.HexToAddress(doc.Contract))
	latest := c.latest(model)
	for _, e := range doc.Epochs {
		if e.State != string(ledger.EpochCommitted) {
			continue
		}
		if e.Epoch > latest {
			t.Errorf("%s epoch %d is committed says the API; the contract's latest is %d", model, e.Epoch, latest)
			continue
		}
		if info := c.info(model, e.Epoch); common.Hash(info.Root) != common.BytesToHash(e.Root) || info.Total.String() != e.Total.String() {
			t.Errorf("%s epoch %d: on-chain root %x total %v; the API says %x, %s", model, e.Epoch, info.Root, info.Total, []byte(e.Root), e.Total)
		}
	}
}

// contractReader calls the TesseraCredits views.
type contractReader struct {
	t    *testing.T
	abi  *bindings.TesseraCredits
	inst *bind.BoundContract
}

func newContractReader(t *testing.T, ec *ethclient.Client, contract common.Address) *contractReader {
	abi := bindings.NewTesseraCredits()
	return &contractReader{t: t, abi: abi, inst: abi.Instance(ec, contract)}
}

func (c *contractReader) latest(model string) uint64 {
	c.t.Helper()
	n, err := bind.Call(c.inst, nil, c.abi.PackLatestEpoch(chain.ModelID(model)), c.abi.UnpackLatestEpoch)
	if err != nil {
		c.t.Fatalf("latestEpoch(%s): %v", model, err)
	}
	return n
}

func (c *contractReader) info(model string, epoch uint64) bindings.TesseraCreditsEpoch {
	c.t.Helper()
	info, err := bind.Call(c.inst, nil, c.abi.PackEpochInfo(chain.ModelID(model), epoch), c.abi.UnpackEpochInfo)
	if err != nil {
		c.t.Fatalf("epochInfo(%s, %d): %v", model, epoch, err)
	}
	return info
}
