// Package openfeature is an OpenFeature provider for the official Go SDK
// (github.com/open-feature/go-sdk) that evaluates refx flags in the
// process, from the GrowthBook SDK payload a refx deployment serves at
// GET /api/features/{clientKey}: one request per refresh, none per
// evaluation.
//
//	p := openfeature.New("https://refx.example.com", "rfx_pub_…")
//	if err := of.SetProviderAndWait(p); err != nil { … }
//	client := of.NewClient("checkout")
//	on, _ := client.BooleanValue(ctx, "new-checkout", false, of.NewEvaluationContext(userID, attrs))
//
// # Keys
//
// The route takes the key in its path, and refx refuses a secret key in a
// URL (it ends up in logs), so the provider needs a client key (rfx_pub_…)
// of the environment whose flags it serves. A client key bound to origins
// still works from a backend: origins are checked only on requests that
// carry an Origin header, which the provider never sends.
//
// # Evaluation
//
// Each feature is parsed once per payload with growthbook.ParseFeature and
// evaluated with growthbook.EvalFeature, the evaluator refx's OFREP routes
// use, so a flag resolves to the value, reason and variant
// POST /ofrep/v1/evaluate/flags/{key} answers: STATIC (no rules), DEFAULT
// (no rule applied), TARGETING_MATCH (a force rule's condition), SPLIT (a
// rollout's or an experiment's hash). The targeting key becomes attribute
// "id", which GrowthBook hashes, unless the context sets "id". One
// difference: a flag disabled in the key's environment is left out of
// GrowthBook's payload (GrowthBook knows no disabled flag), so it resolves
// as FLAG_NOT_FOUND with the caller's default, where OFREP answers DISABLED
// with the flag's default. A rule without an id is named
// "rule-<n>" by its position in the payload, which leaves out rules of
// experiments that are not running: give rules ids for stable variants.
//
// # Experiments and exposures
//
// A rule linking a running refx experiment is in the payload as a
// GrowthBook experiment rule with refx's seed and ranges, so the provider
// picks the arm POST /v1/assign persists, without asking. The variant is the
// arm's key. refx counts a user in an experiment when /v1/assign is called:
// [WithAssign] posts each exposure there (in the background, at most once
// per experiment and user per provider); [WithExposure] hands exposures to
// the caller instead, for example to batch them.
//
// # Refresh
//
// The provider reads the payload at Init, then every interval
// ([WithInterval], default 10 s) with If-None-Match, so an unchanged
// payload costs a 304 without a body. A failed refresh keeps the last good
// payload and emits PROVIDER_STALE; a changed payload emits
// PROVIDER_CONFIGURATION_CHANGED with the keys of the flags that changed.
// refx itself caches a payload for 5 s, so a change is seen within about
// interval + 5 s.
package openfeature
