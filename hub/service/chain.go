package service

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"net/http"
	"path/filepath"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient"

	"github.com/tessera-ai/tessera/hub/chain"
	"github.com/tessera-ai/tessera/hub/ledger"
	"github.com/tessera-ai/tessera/hub/train"
	"github.com/tessera-ai/tessera/internal/httpjson"
	"github.com/tessera-ai/tessera/internal/rpcdial"
)

// ChainConfig chooses where credit is committed. With no RPC URL the hub
// runs an embedded go-ethereum chain in DataDir/chain and deploys the
// contract there on first start.
type ChainConfig struct {
	// RPC is an Ethereum JSON-RPC URL; "" means the embedded chain.
	RPC string
	// KeyFile holds the committer's private key in hex (required with RPC).
	KeyFile string
	// Contract is the deployed contract's address; "" deploys one (and
	// records its address in the data directory).
	Contract string
	// Interval between epoch commits; 0 means the committer's default.
	Interval time.Duration
	// Off disables committing (tests of other parts).
	Off bool
	// RelayMinWei is the least claim the hub relays and pays gas for
	// (POST /api/v1/claim); nil or 0 relays every claim that pays.
	RelayMinWei *big.Int
}

// startChain connects to the chain, makes sure the contract exists, and
// runs the epoch committer until ctx ends. It returns the committer and a
// function that stops everything, committer first.
func startChain(ctx context.Context, dataDir string, cfg ChainConfig, led *ledger.Ledger, log *slog.Logger) (*chain.Committer, common.Address, *ethclient.Client, *ecdsa.PrivateKey, func(), error) {
	var (
		backend *ethclient.Client
		key     *ecdsa.PrivateKey
		durable func(context.Context, uint64) error
		closers []func()
	)
	stop := func() {
		for i := len(closers) - 1; i >= 0; i-- {
			closers[i]()
		}
	}
	fail := func(err error) (*chain.Committer, common.Address, *ethclient.Client, *ecdsa.PrivateKey, func(), error) {
		stop()
		return nil, common.Address{}, nil, nil, nil, err
	}
	if cfg.RPC == "" {
		node, err := chain.OpenNode(ctx, filepath.Join(dataDir, "chain"))
		if err != nil {
			return fail(fmt.Errorf("embedded chain: %w", err))
		}
		closers = append(closers, func() { node.Close() })
		backend, key, durable = node.Client(), chain.DevKey(), node.WaitDurable
	} else {
		if cfg.KeyFile == "" {
			return fail(fmt.Errorf("chain: an RPC URL needs a committer key file"))
		}
		// rpcdial keeps the URL's API key out of every error (the
		// committer logs them, the RPC proxy answers with them): only
		// scheme://host is ever shown.
		var err error
		if backend, err = rpcdial.Dial(ctx, cfg.RPC, nil); err != nil {
			return fail(fmt.Errorf("chain: %w", err))
		}
		closers = append(closers, backend.Close)
		if key, err = crypto.LoadECDSA(cfg.KeyFile); err != nil {
			return fail(fmt.Errorf("chain key: %w", err))
		}
	}
	chainID, err := backend.ChainID(ctx)
	if err != nil {
		return fail(fmt.Errorf("chain ID from %s: %w", chainEndpoint(cfg.RPC), err))
	}
	var addr common.Address
	if cfg.Contract != "" {
		if !common.IsHexAddress(cfg.Contract) {
			return fail(fmt.Errorf("contract %q is not an address", cfg.Contract))
		}
		addr = common.HexToAddress(cfg.Contract)
	} else {
		addr, err = chain.EnsureContract(ctx, backend, key, filepath.Join(dataDir, "contract-"+chainID.String()), durable)
		if err != nil {
			return fail(fmt.Errorf("deploy contract: %w", err))
		}
	}
	ccfg := chain.DefaultConfig()
	if cfg.Interval > 0 {
		ccfg.Interval = cfg.Interval
	}
	ccfg.Durable, ccfg.Logger = durable, log
	committer := chain.NewCommitter(backend, key, addr, led, ccfg)
	cctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { committer.Run(cctx); close(done) }()
	closers = append(closers, func() { cancel(); <-done })
	log.Info("committing credit on-chain", "contract", addr.Hex(), "chain_id", chainID, "rpc", chainEndpoint(cfg.RPC))
	return committer, addr, backend, key, stop, nil
}

// chainEndpoint names the chain for logs and errors: the embedded one, or
// the RPC URL without the parts that may hold an API key.
func chainEndpoint(rpc string) string {
	if rpc == "" {
		return "the embedded chain"
	}
	return rpcdial.Public(rpc)
}

// routeChain serves proofs, earnings and claims relayed by the hub (key
// pays their gas), and the operator's commit-now and deposit requests.
func routeChain(handle func(string, http.Handler), led *ledger.Ledger, mgr *train.Manager, committer *chain.Committer, addr common.Address, backend *ethclient.Client,
	key *ecdsa.PrivateKey, token string, relayMin *big.Int) error {
	chainID, err := backend.ChainID(context.Background())
	if err != nil {
		return err
	}
	proofs := chain.ProofHandler(led, addr, chainID)
	handle("GET /api/v1/proof", proofs)
	vault := chain.NewVault(backend, addr)
	payouts := chain.NewPayouts(proofs, led, vault, key)
	payouts.RelayMinWei = relayMin
	payouts.Routes(handle)
	handle("POST /api/v1/admin/deposit", train.RequireToken(token, chain.DepositHandler(vault, key, knownModel(mgr, led))))
	list, one := chain.EpochsHandler(led, addr, chainID)
	handle("GET /api/v1/epochs", list)
	handle("GET /api/v1/epochs/{model}/{epoch}", one)
	handle("POST /api/v1/chain/rpc", chain.ReadOnlyRPC(backend.Client()))
	handle("POST /api/v1/admin/commit", train.RequireToken(token, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := committer.CommitNow(r.Context()); err != nil {
			httpjson.Errorf(w, http.StatusBadGateway, "commit: %v", err)
			return
		}
		httpjson.Write(w, http.StatusOK, map[string]string{"committed": "ok", "contract": addr.Hex()})
	})))
	return nil
}

// knownModel returns the check that revenue and deposits name a model the
// hub knows: one of its jobs (by ID, as credit and vaults are keyed), or
// one anyone has credit in (the matmul benchmark, a removed job). Money
// recorded for, or sent to the vault of, a misspelt model or a job's name
// would never reach an owner. A job's name is answered with its ID.
// Refusals wrap chain.ErrUnknownModel; other errors (the ledger's) are
// the hub's.
func knownModel(mgr *train.Manager, led *ledger.Ledger) func(ctx context.Context, model string) error {
	return func(ctx context.Context, model string) error {
		id, resolved := mgr.Resolve(model)
		if resolved == nil && id == model { // a job's ID
			return nil
		}
		has, err := led.HasCredit(ctx, model)
		if err != nil || has {
			return err
		}
		switch {
		case resolved == nil:
			return fmt.Errorf("%w: %q is a job's name; its model (credit, revenue, vault) is its ID, %s", chain.ErrUnknownModel, model, id)
		case errors.Is(resolved, train.ErrAmbiguousJob):
			return fmt.Errorf("%w: %w", chain.ErrUnknownModel, resolved)
		}
		return fmt.Errorf("%w: no job and no credit for model %q: money for it could never reach an owner (models are job IDs, as tessera-admin credits list shows)", chain.ErrUnknownModel, model)
	}
}
