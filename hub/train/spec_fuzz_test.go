package train

import (
	"bytes"

	"encoding/json"
	"github.com/tessera-ai/tessera/hub/lm"
	"reflect"
	"strings"
	"testing"
)

// FuzzParseSpec feeds arbitrary bytes to the job-spec decoder that the
// admin API (POST /api/v1/admin/jobs) and tessera-admin use. It must never
// panic; what it accepts must be valid, within the hub's resource limits,
// and decode again to the same spec from its own JSON encoding.
func FuzzParseSpec(f *testing.F) {
	mnist, _ := json.Marshal(MNISTSpec())
	f.Add(mnist)
	f.Add([]byte(`{"name":"small","model":{"type":"mlp","layers":[784,32,10]},"optimizer":{"type":"sgd","lr":0.1,"momentum":0.9}}`))
	f.Add([]byte(`{"name":"x","batch_size":-1}`))
	f.Add([]byte(`{"name":"x","model":{"type":"mlp","layers":[784,8192,8192,8192,10]}}`))
	f.Add([]byte(`{"name":"x","exposure_cap":1e309}`))
	f.Add([]byte(`{"name":"x"} {"name":"y"}`))
	f.Add([]byte(`{"name":"x","unknown":1}`))
	f.Add([]byte(`[`))
	lmSpec, _ := json.Marshal(GoCodeLMSpec())
	f.Add(lmSpec)
	f.Add([]byte(`{"name":"lm","model":{"type":"gpt2","n_layer":48,"n_embd":2048,"n_head":16,"n_positions":2048}}`))
	f.Add([]byte(`{"name":"lm","model":{"type":"gpt2","n_embd":100,"n_head":3},"corpus":{"path":"/x","validation_prefixes":[]}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		spec, err := ParseSpec(bytes.NewReader(data))
		if err != nil {
			if !strings.HasPrefix(err.Error(), "invalid job spec") {
				t.Fatalf("error without context: %v", err)
			}
			return
		}
		if err := spec.Validate(); err != nil {
			t.Fatalf("accepted an invalid spec: %v", err)
		}
		widths, params := 0, 0
		for i, w := range spec.Model.Layers {
			widths += w
			if i > 0 {
				params += (spec.Model.Layers[i-1] + 1) * w
			}
		}
		if spec.Model.Type == "gpt2" {
			c := spec.lmConfig()
			params, widths = c.Params(), 0
			if a := c.Activations(spec.BatchSize); a > lmMaxActivations {
				t.Fatalf("accepted a language model keeping %d activations", a)
			}
		}
		if params > maxParams || spec.BatchSize*widths > maxActivations {
			t.Fatalf("accepted a spec beyond the limits: %d parameters, %d activations", params, spec.BatchSize*widths)
		}
		again, err := json.Marshal(spec)
		if err != nil {
			t.Fatal(err)
		}
		back, err := ParseSpec(bytes.NewReader(again))
		if err != nil || !reflect.DeepEqual(back, spec) {
			t.Fatalf("spec does not round-trip: %v\n%+v\n%+v", err, spec, back)
		}
	})
}

const lmMaxActivations = lm.MaxActivations
