package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tessera-ai/tessera/contracts"
	"github.com/tessera-ai/tessera/hub/infer"
	"github.com/tessera-ai/tessera/hub/infer/infertest"
	"github.com/tessera-ai/tessera/hub/ledger"
	"github.com/tessera-ai/tessera/hub/openai"
	"github.com/tessera-ai/tessera/hub/train/tile"
)

// sdkBackend serves one model, "go", over a real ledger and engine.
type sdkBackend struct {
	*ledger.Ledger
	pool *infer.Pool
}

func (b sdkBackend) Models(context.Context) ([]openai.Model, error) {
	return []openai.Model{{ID: "go", Created: time.Unix(1700000000, 0), Context: 32}}, nil
}

func (b sdkBackend) Submit(ctx context.Context, model string, req infer.Request) (*infer.Completion, error) {
	return b.pool.Submit(ctx, model, req)
}

// TestCompletionOpenAISDK points OpenAI's official Node SDK (pinned in
// testdata/openai-sdk), unchanged, at the hub's API: listing models,
// completions and chat completions, streamed and not, and errors, which
// must come back as the SDK's own error classes.
func TestCompletionOpenAISDK(t *testing.T) {
	dir := filepath.Join(moduleRoot(t), "internal", "e2e", "testdata", "openai-sdk")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if err := contracts.InstallNodeModules(ctx, dir); err != nil {
		t.Fatal(err)
	}
	m := infertest.Model(t)
	led, err := ledger.Open(ctx, filepath.Join(t.TempDir(), "ledger.db"), ledger.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer led.Close()
	key, _, err := led.CreateKey(ctx, "sdk", big.NewInt(1000), 0)
	if err != nil {
		t.Fatal(err)
	}
	pool := infer.NewPool(infertest.Source{Name: "go", Model: m, Step: 1, Exec: tile.NewLocal(1)}, infer.Config{})
	defer pool.Close()
	mux := http.NewServeMux()
	openai.New(sdkBackend{led, pool}, openai.Config{Logger: slog.New(slog.DiscardHandler)}).Routes(func(p string, h http.Handler) { mux.Handle(p, h) })
	srv := httptest.NewServer(mux)
	defer srv.Close()

	const prompt, n = "func main", 24
	cmd := exec.CommandContext(ctx, "node", "check.mjs", srv.URL+"/v1", key, "go", prompt, "24")
	cmd.Dir = dir
	raw, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("the SDK failed: %v\n%s", err, ee.Stderr)
		}
		t.Fatal(err)
	}
	var out struct {
		Models     []string
		Completion struct {
			Text, Finish, Object string
			Usage                struct{ Prompt_tokens, Completion_tokens, Total_tokens int }
		}
		Stream struct {
			Text  string
			Usage *struct{ Total_tokens int }
		}
		Chat       struct{ Role, Content, Object string }
		ChatStream struct{ Text string }
		Errors     struct{ BadKey, UnknownModel, BadParameter string }
	}
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("%v: %s", err, raw)
	}
	want := string(m.Generate([]byte(prompt), n, infertest.Greedy(t)))
	c := out.Completion
	if len(out.Models) != 1 || out.Models[0] != "go" {
		t.Errorf("models.list: %v", out.Models)
	}
	if c.Text != want || c.Finish != "length" || c.Object != "text_completion" || c.Usage.Prompt_tokens != len(prompt) || c.Usage.Total_tokens != len(prompt)+n {
		t.Errorf("completions.create: %+v, want text %q", c, want)
	}
	if out.Stream.Text != want || out.Stream.Usage == nil || out.Stream.Usage.Total_tokens != len(prompt)+n {
		t.Errorf("streamed: %+v, want %q", out.Stream, want)
	}
	if out.Chat.Role != "assistant" || out.Chat.Object != "chat.completion" || out.ChatStream.Text != out.Chat.Content {
		t.Errorf("chat: %+v, streamed %+v", out.Chat, out.ChatStream)
	}
	for got, w := range map[string]string{out.Errors.BadKey: "AuthenticationError 401", out.Errors.UnknownModel: "NotFoundError 404", out.Errors.BadParameter: "BadRequestError 400"} {
		if got != w {
			t.Errorf("error %q, want %q", got, w)
		}
	}
	if strings.Contains(string(raw), "\"none\"") {
		t.Errorf("a bad request succeeded: %s", raw)
	}
	t.Logf("OpenAI's SDK: %q → %q", prompt, c.Text)
}
