package ledger

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"regexp"
	"strings"
	"time"
)

// Inference API keys and metered usage (migration 4).
//
// Keys are created, listed and revoked directly on the database (rare
// operator actions); usage rows go through the writer with the credit
// operations, so a request is metered with the same batching and crash
// safety as credit: RecordUsage reports when the row is durable, and the
// API answers a request's usage only after that.

// APIKey is an inference key as stored, with its usage totals.
type APIKey struct {
	ID        int64
	Name      string
	PriceWei  *big.Int // per 1,000 tokens
	RateLimit int      // requests per minute, 0: unlimited
	CreatedAt time.Time
	RevokedAt time.Time // zero while valid

	Requests, PromptTokens, CompletionTokens int64
	Wei                                      *big.Int
}

// Usage is one metered request.
type Usage struct {
	Request                        string // the response's id; a second row with it is ignored
	KeyID                          int64
	Model                          string
	PromptTokens, CompletionTokens int
	Wei                            *big.Int
	At                             time.Time
}

// ModelUsage sums a model's metered usage.
type ModelUsage struct {
	Model                                    string
	Requests, PromptTokens, CompletionTokens int64
	Wei                                      *big.Int
}

// Errors of the key functions.
var (
	ErrUnknownKey = errors.New("ledger: no such API key")
	ErrRevokedKey = errors.New("ledger: the API key is revoked")
	ErrKeyExists  = errors.New("ledger: an API key with that name exists")
)

// maxWei bounds a price or an amount: a uint256.
var maxWei = new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 256), big.NewInt(1))

var keyName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// tokenPrefix starts every key, so that a leaked one is recognizable.
const tokenPrefix = "tsk-"

// Price returns what tokens cost at price wei per 1,000: rounded down.
func Price(tokens int, price *big.Int) *big.Int {
	w := new(big.Int).Mul(big.NewInt(int64(tokens)), price)
	return w.Quo(w, big.NewInt(1000))
}

func checkWei(what string, w *big.Int) error {
	if w == nil || w.Sign() < 0 || w.Cmp(maxWei) > 0 {
		return fmt.Errorf("ledger: %s %v is not an amount of wei (0 to 2^256-1)", what, w)
	}
	return nil
}

// hashToken returns the stored form of a bearer token.
func hashToken(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}

// CreateKey creates a key named name and returns its bearer token, which
// is not stored and cannot be shown again.
func (l *Ledger) CreateKey(ctx context.Context, name string, price *big.Int, rateLimit int) (string, APIKey, error) {
	if !keyName.MatchString(name) {
		return "", APIKey{}, fmt.Errorf("ledger: key name %q: use 1 to 64 letters, digits, '.', '_' or '-'", name)
	}
	if err := checkWei("price", price); err != nil {
		return "", APIKey{}, err
	}
	if rateLimit < 0 || rateLimit > 1_000_000 {
		return "", APIKey{}, fmt.Errorf("ledger: rate limit %d is not in 0..1000000 requests per minute", rateLimit)
	}
	var raw [24]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", APIKey{}, err
	}
	token := tokenPrefix + base64.RawURLEncoding.EncodeToString(raw[:])
	now := time.Now()
	res, err := l.db.ExecContext(ctx, `INSERT INTO api_keys (name, hash, price_wei, rate_limit, created_at) VALUES (?, ?, ?, ?, ?)`,
		name, hashToken(token), price.String(), rateLimit, now.UnixMilli())
	if err != nil {
		if strings.Contains(err.Error(), "UNIQUE") {
			return "", APIKey{}, fmt.Errorf("%w: %s", ErrKeyExists, name)
		}
		return "", APIKey{}, fmt.Errorf("ledger: create key: %w", err)
	}
	id, err := res.LastInsertId()
	if err != nil {
		return "", APIKey{}, err
	}
	return token, APIKey{ID: id, Name: name, PriceWei: new(big.Int).Set(price), RateLimit: rateLimit,
		CreatedAt: time.UnixMilli(now.UnixMilli()), Wei: new(big.Int)}, nil
}

// RevokeKey revokes the key named name; revoking it again does nothing.
func (l *Ledger) RevokeKey(ctx context.Context, name string) error {
	res, err := l.db.ExecContext(ctx, `UPDATE api_keys SET revoked_at = COALESCE(revoked_at, ?) WHERE name = ?`, time.Now().UnixMilli(), name)
	if err != nil {
		return fmt.Errorf("ledger: revoke key: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return fmt.Errorf("%w: %s", ErrUnknownKey, name)
	}
	return nil
}

const keyCols = `id, name, price_wei, rate_limit, created_at, COALESCE(revoked_at, 0)`

func scanKey(sc interface{ Scan(...any) error }, extra ...any) (APIKey, error) {
	var k APIKey
	var price string
	var created, revoked int64
	if err := sc.Scan(append([]any{&k.ID, &k.Name, &price, &k.RateLimit, &created, &revoked}, extra...)...); err != nil {
		return APIKey{}, err
	}
	p, ok := new(big.Int).SetString(price, 10)
	if !ok {
		return APIKey{}, fmt.Errorf("ledger: key %s has price %q", k.Name, price)
	}
	k.PriceWei, k.CreatedAt, k.Wei = p, time.UnixMilli(created), new(big.Int)
	if revoked != 0 {
		k.RevokedAt = time.UnixMilli(revoked)
	}
	return k, nil
}

// KeyByToken returns the valid key whose bearer token is token.
func (l *Ledger) KeyByToken(ctx context.Context, token string) (APIKey, error) {
	k, err := scanKey(l.db.QueryRowContext(ctx, `SELECT `+keyCols+` FROM api_keys WHERE hash = ?`, hashToken(token)))
	if errors.Is(err, sql.ErrNoRows) {
		return APIKey{}, ErrUnknownKey
	}
	if err != nil {
		return APIKey{}, fmt.Errorf("ledger: key: %w", err)
	}
	if !k.RevokedAt.IsZero() {
		return APIKey{}, fmt.Errorf("%w: %s", ErrRevokedKey, k.Name)
	}
	return k, nil
}

// Keys returns every key, oldest first, with its usage totals.
func (l *Ledger) Keys(ctx context.Context) ([]APIKey, error) {
	rows, err := l.db.QueryContext(ctx, `SELECT `+keyCols+` FROM api_keys ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("ledger: keys: %w", err)
	}
	var out []APIKey
	byID := map[int64]int{}
	for rows.Next() {
		k, err := scanKey(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		byID[k.ID] = len(out)
		out = append(out, k)
	}
	if err := rows.Close(); err != nil {
		return nil, err
	}
	err = l.eachUsage(ctx, `key_id`, func(key any, requests, prompt, completion int64, wei *big.Int) {
		if i, ok := byID[key.(int64)]; ok {
			k := &out[i]
			k.Requests, k.PromptTokens, k.CompletionTokens, k.Wei = requests, prompt, completion, wei
		}
	})
	return out, err
}

// UsageByModel sums the metered usage of every model.
func (l *Ledger) UsageByModel(ctx context.Context) ([]ModelUsage, error) {
	var out []ModelUsage
	err := l.eachUsage(ctx, `model`, func(key any, requests, prompt, completion int64, wei *big.Int) {
		out = append(out, ModelUsage{Model: key.(string), Requests: requests, PromptTokens: prompt, CompletionTokens: completion, Wei: wei})
	})
	return out, err
}

// eachUsage sums usage rows grouped by col (key_id or model), exactly:
// wei is TEXT as wide as a uint256, so the sum is taken in Go.
func (l *Ledger) eachUsage(ctx context.Context, col string, f func(key any, requests, prompt, completion int64, wei *big.Int)) error {
	rows, err := l.db.QueryContext(ctx, `SELECT `+col+`, prompt_tokens, completion_tokens, wei FROM usage ORDER BY `+col)
	if err != nil {
		return fmt.Errorf("ledger: usage: %w", err)
	}
	defer rows.Close()
	type total struct {
		requests, prompt, completion int64
		wei                          *big.Int
	}
	var keys []any
	sums := map[any]*total{}
	for rows.Next() {
		var key any
		var p, c int64
		var wei string
		if col == "model" {
			var s string
			if err := rows.Scan(&s, &p, &c, &wei); err != nil {
				return err
			}
			key = s
		} else {
			var id int64
			if err := rows.Scan(&id, &p, &c, &wei); err != nil {
				return err
			}
			key = id
		}
		w, ok := new(big.Int).SetString(wei, 10)
		if !ok {
			return fmt.Errorf("ledger: usage row with wei %q", wei)
		}
		t, ok := sums[key]
		if !ok {
			t = &total{wei: new(big.Int)}
			sums[key] = t
			keys = append(keys, key)
		}
		t.requests++
		t.prompt += p
		t.completion += c
		t.wei.Add(t.wei, w)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	for _, k := range keys {
		t := sums[k]
		f(k, t.requests, t.prompt, t.completion, t.wei)
	}
	return nil
}

// RecordUsage queues u with the writer's next batch and reports when it
// is durable. A request already metered is not counted again.
func (l *Ledger) RecordUsage(u Usage) <-chan error {
	done := make(chan error, 1)
	if u.Request == "" || u.Model == "" || u.PromptTokens < 0 || u.CompletionTokens < 0 {
		done <- fmt.Errorf("ledger: usage needs a request id, a model and token counts ≥ 0")
		return done
	}
	if err := checkWei("usage", u.Wei); err != nil {
		done <- err
		return done
	}
	if u.At.IsZero() {
		u.At = time.Now()
	}
	// A row for a key that does not exist could never commit, and the
	// writer retries until a commit succeeds: refuse it here. (Keys are
	// revoked, never deleted.)
	var one int
	if err := l.db.QueryRow(`SELECT 1 FROM api_keys WHERE id = ?`, u.KeyID).Scan(&one); err != nil {
		done <- fmt.Errorf("%w: id %d (%v)", ErrUnknownKey, u.KeyID, err)
		return done
	}
	l.closing.RLock()
	defer l.closing.RUnlock()
	if l.closed {
		done <- ErrClosed
		return done
	}
	l.in <- request{usage: &u, done: done}
	return done
}

// insertUsage writes u in the writer's transaction.
func insertUsage(tx *sql.Tx, u *Usage) error {
	_, err := tx.Exec(`INSERT OR IGNORE INTO usage (request, key_id, model, prompt_tokens, completion_tokens, wei, at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		u.Request, u.KeyID, u.Model, u.PromptTokens, u.CompletionTokens, u.Wei.String(), u.At.UnixMilli())
	return err
}
