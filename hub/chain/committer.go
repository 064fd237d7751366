package chain

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math/big"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/accounts/abi/bind/v2"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/tessera-ai/tessera/contracts/bindings"
	"github.com/tessera-ai/tessera/hub/chain/merkle"
	"github.com/tessera-ai/tessera/hub/ledger"
)

// Backend is what the committer needs of a chain: an *ethclient.Client
// satisfies it, over RPC or over the embedded Node's in-process client.
type Backend interface {
	bind.ContractBackend
	bind.DeployBackend
	ethereum.ChainIDReader
	TransactionByHash(ctx context.Context, hash common.Hash) (tx *types.Transaction, isPending bool, err error)
}

// Store is the ledger's side of committing (hub/ledger implements it).
type Store interface {
	Flush(ctx context.Context) error
	EpochModels(ctx context.Context) ([]string, error)
	LatestEpoch(ctx context.Context, model string) (ledger.Epoch, bool, error)
	Snapshot(ctx context.Context, model string) (ledger.Snapshot, error)
	PrepareEpoch(ctx context.Context, s ledger.Snapshot, root, earningsRoot [32]byte) error
	MarkSent(ctx context.Context, model string, epoch uint64, txHash [32]byte) error
	MarkCommitted(ctx context.Context, model string, epoch uint64, txHash [32]byte, block uint64) error
}

var _ Store = (*ledger.Ledger)(nil)

// Config tunes a Committer.
type Config struct {
	// Interval between epochs.
	Interval time.Duration
	// Poll is how often a receipt is polled for (bind.WaitMined polls once
	// a second).
	Poll time.Duration
	// ReceiptTimeout is how long a sent transaction may go without a
	// receipt before the committer asks the node whether it still has it,
	// and sends the epoch again if not.
	ReceiptTimeout time.Duration
	// MinBackoff and MaxBackoff bound the wait before retrying after a
	// failure (an unreachable chain): it doubles from MinBackoff.
	MinBackoff, MaxBackoff time.Duration
	// Durable, if set, waits until a block is durable on the chain's side
	// before the epoch it includes is recorded as committed: the embedded
	// chain's (*Node).WaitDurable.
	Durable func(ctx context.Context, block uint64) error
	// Logger; nil means slog.Default().
	Logger *slog.Logger
}

// DefaultConfig returns the committer's defaults: an epoch every 10
// minutes, receipts polled every 100 ms.
func DefaultConfig() Config {
	return Config{
		Interval:       10 * time.Minute,
		Poll:           100 * time.Millisecond,
		ReceiptTimeout: 2 * time.Minute,
		MinBackoff:     time.Second,
		MaxBackoff:     time.Minute,
	}
}

// ModelID is a model's (job's) ID on-chain: keccak256 of the job ID's
// UTF-8 bytes, so anyone can compute it from the ID the hub shows.
func ModelID(job string) [32]byte { return crypto.Keccak256Hash([]byte(job)) }

// Committer commits every model's credit tree to the TesseraCredits
// contract, epoch after epoch. Run owns all of its work; CommitNow asks
// Run for a round and waits for it.
type Committer struct {
	cfg      Config
	log      *slog.Logger
	backend  Backend
	store    Store
	key      *ecdsa.PrivateKey
	from     common.Address
	contract common.Address
	credits  *bindings.TesseraCredits
	instance *bind.BoundContract
	requests chan chan error
	checked  map[string]bool // models whose latest committed epoch was found on-chain (Run's)

	mu     sync.Mutex
	status Status
}

// Status is the committer's progress as of its latest round (metrics read
// it).
type Status struct {
	// Committed maps each model to its latest epoch committed on-chain;
	// CommittedAt is zero when this run has not seen when.
	Committed map[string]ledger.Epoch
	// Failures counts the rounds that failed since the committer started.
	Failures uint64
	// Pending counts epochs prepared or sent but not yet committed.
	Pending int
}

// Status returns a copy of the committer's progress.
func (c *Committer) Status() Status {
	c.mu.Lock()
	defer c.mu.Unlock()
	st := c.status
	st.Committed = maps.Clone(c.status.Committed)
	return st
}

// NewCommitter returns a committer that sends from key (which must hold
// COMMITTER_ROLE) to the contract at address, the epochs of store.
func NewCommitter(backend Backend, key *ecdsa.PrivateKey, contract common.Address, store Store, cfg Config) *Committer {
	def := DefaultConfig()
	if cfg.Interval <= 0 {
		cfg.Interval = def.Interval
	}
	if cfg.Poll <= 0 {
		cfg.Poll = def.Poll
	}
	if cfg.ReceiptTimeout <= 0 {
		cfg.ReceiptTimeout = def.ReceiptTimeout
	}
	if cfg.MinBackoff <= 0 {
		cfg.MinBackoff = def.MinBackoff
	}
	if cfg.MaxBackoff < cfg.MinBackoff {
		cfg.MaxBackoff = max(def.MaxBackoff, cfg.MinBackoff)
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	credits := bindings.NewTesseraCredits()
	return &Committer{
		cfg: cfg, log: log.With("component", "committer"), backend: backend, store: store,
		key: key, from: crypto.PubkeyToAddress(key.PublicKey), contract: contract,
		credits: credits, instance: credits.Instance(backend, contract),
		requests: make(chan chan error), checked: map[string]bool{},
		status: Status{Committed: map[string]ledger.Epoch{}},
	}
}

// Run reconciles with the chain, then commits every Interval and on
// CommitNow until ctx ends. After a failed round it retries with backoff
// rather than waiting a whole interval; what failed to commit stays in
// the ledger, prepared or not yet snapshotted, and nothing is lost.
func (c *Committer) Run(ctx context.Context) error {
	backoff := c.cfg.MinBackoff
	wait := time.Duration(0) // a round at once: the reconciliation
	timer := time.NewTimer(wait)
	defer timer.Stop()
	for {
		var reply chan error
		select {
		case <-ctx.Done():
			return nil
		case <-timer.C:
		case reply = <-c.requests:
			timer.Stop()
		}
		err := c.round(ctx)
		if err != nil && ctx.Err() == nil {
			// Counted before the reply, so that CommitNow's caller sees it.
			c.mu.Lock()
			c.status.Failures++
			c.mu.Unlock()
		}
		if reply != nil {
			reply <- err
		}
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			c.log.Warn("commit round failed; retrying", "err", err, "retry_in", backoff)
			wait, backoff = backoff, min(2*backoff, c.cfg.MaxBackoff)
		} else {
			wait, backoff = c.cfg.Interval, c.cfg.MinBackoff
		}
		timer.Reset(wait)
	}
}

// CommitNow asks Run for a round at once (everything submitted to the
// ledger before it included) and returns its outcome. It waits while a
// round is in progress.
func (c *Committer) CommitNow(ctx context.Context) error {
	reply := make(chan error, 1)
	select {
	case c.requests <- reply:
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-reply:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// round commits every model with new credit and finishes any epoch left
// open; one model's failure does not hold up the others.
func (c *Committer) round(ctx context.Context) error {
	if err := c.store.Flush(ctx); err != nil {
		return fmt.Errorf("commit: flush ledger: %w", err)
	}
	models, err := c.store.EpochModels(ctx)
	if err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	var errs []error
	for _, m := range models {
		if err := c.commitModel(ctx, m); err != nil {
			errs = append(errs, fmt.Errorf("commit %s: %w", m, err))
		}
	}
	c.record(ctx, models)
	return errors.Join(errs...)
}

// record updates Status from the ledger after a round: each model's
// latest committed epoch and how many are still open.
func (c *Committer) record(ctx context.Context, models []string) {
	pending := 0
	latest := map[string]ledger.Epoch{}
	for _, m := range models {
		e, ok, err := c.store.LatestEpoch(ctx, m)
		if err != nil || !ok {
			continue
		}
		if e.State != ledger.EpochCommitted {
			pending++
			if e.Epoch <= 1 {
				continue
			}
			// The ledger opens an epoch only once the one before is
			// committed.
			e = ledger.Epoch{Model: m, Epoch: e.Epoch - 1, State: ledger.EpochCommitted}
		}
		latest[m] = e
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for m, e := range latest {
		if old, ok := c.status.Committed[m]; ok && old.Epoch == e.Epoch && e.CommittedAt.IsZero() {
			continue // keep what we know of when it was committed
		}
		c.status.Committed[m] = e
	}
	c.status.Pending = pending
}

// commitModel finishes model's open epoch if it has one, then commits a
// new one if there is new credit or new revenue.
func (c *Committer) commitModel(ctx context.Context, model string) error {
	last, ok, err := c.store.LatestEpoch(ctx, model)
	if err != nil {
		return err
	}
	if ok && last.State != ledger.EpochCommitted {
		if err := c.finish(ctx, last); err != nil {
			return err
		}
		c.checked[model] = true
	} else if ok && !c.checked[model] {
		if err := c.checkCommitted(ctx, last); err != nil {
			return err
		}
		c.checked[model] = true
	}
	s, err := c.store.Snapshot(ctx, model)
	if errors.Is(err, ledger.ErrNoNewCredit) {
		return nil
	}
	if err != nil {
		return err
	}
	tree, err := Tree(s.Leaves)
	if err != nil {
		return fmt.Errorf("epoch %d: %w", s.Epoch, err)
	}
	earnings, err := EarningsTree(s.Leaves)
	if err != nil {
		return fmt.Errorf("epoch %d earnings: %w", s.Epoch, err)
	}
	if err := c.store.PrepareEpoch(ctx, s, tree.Root(), earnings.Root()); err != nil {
		return err
	}
	c.log.Info("epoch prepared", "model", model, "epoch", s.Epoch, "contributors", len(s.Leaves), "total", s.Total,
		"revenue", s.Revenue, "earnings", s.EarningsTotal, "dust", s.Dust)
	return c.finish(ctx, ledger.Epoch{
		Model: model, Epoch: s.Epoch, Root: tree.Root(), Total: s.Total, Contributors: len(s.Leaves), State: ledger.EpochPrepared,
		Revenue: s.Revenue, Dust: s.Dust, EarningsRoot: earnings.Root(), EarningsTotal: s.EarningsTotal,
	})
}

// Tree builds the Merkle tree of an epoch's leaves: (address, cumulative
// credit).
func Tree(leaves []ledger.Leaf) (*merkle.Tree, error) {
	return leafTree(leaves, func(l ledger.Leaf) *big.Int { return l.Amount.Big() })
}

// EarningsTree builds the earnings tree of an epoch's leaves: (address,
// cumulative earnings in wei), in the same encoding as Tree.
func EarningsTree(leaves []ledger.Leaf) (*merkle.Tree, error) {
	return leafTree(leaves, func(l ledger.Leaf) *big.Int { return l.Earnings.Big() })
}

func leafTree(leaves []ledger.Leaf, amount func(ledger.Leaf) *big.Int) (*merkle.Tree, error) {
	entries := make([]merkle.Entry, len(leaves))
	for i, l := range leaves {
		if !common.IsHexAddress(l.Address) {
			return nil, fmt.Errorf("leaf %q is not an Ethereum address", l.Address)
		}
		entries[i] = merkle.Entry{Account: common.HexToAddress(l.Address), Amount: amount(l)}
	}
	return merkle.Build(entries)
}

// onChain reads what the contract holds for e's model: its latest epoch
// and what was committed at e's epoch (its earnings root in
// info.EarningsRoot).
func (c *Committer) onChain(ctx context.Context, e ledger.Epoch) (latest uint64, info onChainEpoch, err error) {
	opts := &bind.CallOpts{Context: ctx}
	id := ModelID(e.Model)
	if latest, err = bind.Call(c.instance, opts, c.credits.PackLatestEpoch(id), c.credits.UnpackLatestEpoch); err != nil {
		return 0, info, fmt.Errorf("read latest epoch: %w", err)
	}
	if info.TesseraCreditsEpoch, err = bind.Call(c.instance, opts, c.credits.PackEpochInfo(id, e.Epoch), c.credits.UnpackEpochInfo); err != nil {
		return 0, info, fmt.Errorf("read epoch %d: %w", e.Epoch, err)
	}
	if info.EarningsRoot, err = bind.Call(c.instance, opts, c.credits.PackEarningsRoot(id, e.Epoch), c.credits.UnpackEarningsRoot); err != nil {
		return 0, info, fmt.Errorf("read epoch %d earnings root: %w", e.Epoch, err)
	}
	return latest, info, nil
}

// onChainEpoch is what the contract holds for one model and epoch.
type onChainEpoch struct {
	bindings.TesseraCreditsEpoch
	EarningsRoot [32]byte
}

// checkCommitted checks, once per start, that the latest epoch the
// ledger records as committed is on-chain as recorded.
func (c *Committer) checkCommitted(ctx context.Context, e ledger.Epoch) error {
	_, info, err := c.onChain(ctx, e)
	if err != nil {
		return err
	}
	if info.Root != e.Root || info.EarningsRoot != e.EarningsRoot {
		return fmt.Errorf("epoch %d is recorded as committed in block %d, but the contract holds roots %x and %x, not %x and %x: wrong contract or chain?",
			e.Epoch, e.Block, info.Root, info.EarningsRoot, e.Root, e.EarningsRoot)
	}
	return nil
}

// finish gets the prepared or sent epoch e on-chain, exactly once: it
// checks the contract first (a previous run may have landed it), waits
// for a transaction the node still has, and otherwise sends e again, the
// same epoch with the same root. The contract refuses any epoch not above
// its latest, so a duplicate transaction can never commit it twice.
func (c *Committer) finish(ctx context.Context, e ledger.Epoch) error {
	for {
		latest, info, err := c.onChain(ctx, e)
		if err != nil {
			return err
		}
		switch {
		case info.Root == e.Root && info.EarningsRoot == e.EarningsRoot:
			return c.landed(ctx, e)
		case info.Root != [32]byte{}:
			return fmt.Errorf("epoch %d on-chain has roots %x and %x, the ledger's are %x and %x", e.Epoch, info.Root, info.EarningsRoot, e.Root, e.EarningsRoot)
		case latest >= e.Epoch:
			return fmt.Errorf("the contract is at epoch %d, past the ledger's open epoch %d: wrong contract?", latest, e.Epoch)
		}
		if e.State == ledger.EpochSent {
			_, _, err := c.backend.TransactionByHash(ctx, e.TxHash)
			switch {
			case err == nil:
				// The node has it, pending or mined: wait for its receipt.
				r, err := c.receipt(ctx, e.TxHash)
				if errors.Is(err, errNoReceipt) {
					continue // still pending: check the contract and ask again
				}
				if err != nil {
					return err
				}
				if r.Status == types.ReceiptStatusSuccessful {
					continue // the contract now has it
				}
				c.log.Warn("epoch's transaction reverted; sending again", "model", e.Model, "epoch", e.Epoch, "tx", common.Hash(e.TxHash))
			case errors.Is(err, ethereum.NotFound):
				c.log.Warn("epoch's transaction is unknown to the node; sending again", "model", e.Model, "epoch", e.Epoch, "tx", common.Hash(e.TxHash))
			default:
				return fmt.Errorf("look up transaction: %w", err)
			}
		}
		tx, err := c.send(ctx, e)
		if err != nil {
			return err
		}
		e.State, e.TxHash = ledger.EpochSent, tx.Hash()
	}
}

// send signs e's commit transaction, records its hash, then sends it.
func (c *Committer) send(ctx context.Context, e ledger.Epoch) (*types.Transaction, error) {
	chainID, err := c.backend.ChainID(ctx)
	if err != nil {
		return nil, fmt.Errorf("chain ID: %w", err)
	}
	opts := bind.NewKeyedTransactor(c.key, chainID)
	opts.Context = ctx
	opts.NoSend = true
	// The hub's key also sends relayed claims and deposits (payout.go):
	// one sender at a time, so two never take the same nonce.
	sendMu.Lock()
	defer sendMu.Unlock()
	data := c.credits.PackCommit(ModelID(e.Model), e.Epoch, e.Root, e.Total.Big(), uint64(e.Contributors), e.EarningsRoot, e.EarningsTotal.Big())
	tx, err := bind.Transact(c.instance, opts, data)
	if err != nil {
		return nil, fmt.Errorf("sign epoch %d: %w", e.Epoch, err)
	}
	if err := c.store.MarkSent(ctx, e.Model, e.Epoch, tx.Hash()); err != nil {
		return nil, err
	}
	if err := c.backend.SendTransaction(ctx, tx); err != nil {
		return nil, fmt.Errorf("send epoch %d: %w", e.Epoch, err)
	}
	c.log.Info("epoch sent", "model", e.Model, "epoch", e.Epoch, "tx", tx.Hash())
	return tx, nil
}

var errNoReceipt = errors.New("no receipt yet")

// sendMu serializes signing and sending from the hub's key (commits,
// relayed claims, deposits): each takes its nonce from the node's pending
// count, which two concurrent senders would read alike.
var sendMu sync.Mutex

// receipt polls for hash's receipt every Poll, for at most ReceiptTimeout.
func (c *Committer) receipt(ctx context.Context, hash common.Hash) (*types.Receipt, error) {
	deadline := time.Now().Add(c.cfg.ReceiptTimeout)
	tick := time.NewTicker(c.cfg.Poll)
	defer tick.Stop()
	for {
		r, err := c.backend.TransactionReceipt(ctx, hash)
		if err == nil {
			return r, nil
		}
		if !notYet(err) {
			return nil, fmt.Errorf("receipt of %s: %w", hash, err)
		}
		if time.Now().After(deadline) {
			return nil, errNoReceipt
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-tick.C:
		}
	}
}

// landed records e, found on-chain, as committed, with the transaction
// and block that included it.
func (c *Committer) landed(ctx context.Context, e ledger.Epoch) error {
	hash, block, err := c.inclusion(ctx, e)
	if err != nil {
		return err
	}
	if c.cfg.Durable != nil {
		if err := c.cfg.Durable(ctx, block); err != nil {
			return fmt.Errorf("wait for block %d: %w", block, err)
		}
	}
	if err := c.store.MarkCommitted(ctx, e.Model, e.Epoch, hash, block); err != nil {
		return err
	}
	c.log.Info("epoch committed", "model", e.Model, "epoch", e.Epoch, "tx", hash, "block", block, "contributors", e.Contributors, "total", e.Total)
	return nil
}

// inclusion finds the transaction that committed e: the one the ledger
// recorded if its receipt shows the commit, otherwise the contract's
// EpochCommitted event for e.
func (c *Committer) inclusion(ctx context.Context, e ledger.Epoch) (common.Hash, uint64, error) {
	if e.TxHash != ([32]byte{}) {
		r, err := c.backend.TransactionReceipt(ctx, e.TxHash)
		if err == nil && r.Status == types.ReceiptStatusSuccessful && r.BlockNumber != nil {
			return r.TxHash, r.BlockNumber.Uint64(), nil
		}
		if err != nil && !notYet(err) {
			return common.Hash{}, 0, fmt.Errorf("receipt of %s: %w", common.Hash(e.TxHash), err)
		}
	}
	logs, err := c.backend.FilterLogs(ctx, ethereum.FilterQuery{
		FromBlock: big.NewInt(0),
		Addresses: []common.Address{c.contract},
		Topics: [][]common.Hash{
			{c.credits.GetABI().Events["EpochCommitted"].ID},
			{ModelID(e.Model)},
			{common.BigToHash(new(big.Int).SetUint64(e.Epoch))},
		},
	})
	if err != nil {
		return common.Hash{}, 0, fmt.Errorf("find the commit of epoch %d: %w", e.Epoch, err)
	}
	for _, l := range logs {
		if !l.Removed {
			return l.TxHash, l.BlockNumber, nil
		}
	}
	return common.Hash{}, 0, fmt.Errorf("epoch %d is on-chain but no EpochCommitted event was found", e.Epoch)
}
