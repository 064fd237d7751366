// Package infer serves text completions from the language models the hub
// trains, computed by contributors.
//
// An Engine per model decodes the requests in flight together
// (continuous batching), in a few lanes that step independently: each
// step of a lane feeds its new requests their prompts and every other
// request its last token, in one lm.Model.Advance whose
// tiles go to contributors as urgent tasks (ahead of training), under the
// job's exposure cap and verified as training tiles are. Each request
// keeps its own KV cache on the hub. Requests arriving during a step join
// the next one, so throughput grows with load.
//
// When no contributor computes a step within Config.StepTimeout, the
// requests of that step fail with ErrNoCompute. An operator may instead
// let the hub compute (Config.HubCompute): such work earns no one credit.
//
// Entry points: NewEngine, (*Engine).Submit and the Completion it returns;
// Pool keeps one Engine per model.
package infer
