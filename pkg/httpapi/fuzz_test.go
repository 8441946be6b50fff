package httpapi

import (
	"bytes"
	"testing"
	"time"

	"github.com/refx-dev/refx/pkg/refx"
)

// The decoders must turn any body into either a value or a client error
// with a code: never a panic, never an internal error.
func checkDecode(t *testing.T, body []byte, v any, validate func() error) {
	err := decodeBody(bytes.NewReader(body), v)
	if err == nil {
		err = validate()
	}
	if code := refx.ErrorCode(err); code == refx.EINTERNAL {
		t.Fatalf("internal error for %q: %v", body, err)
	}
}

var fuzzNow = time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)

func FuzzDecodeEvent(f *testing.F) {
	f.Add([]byte(`{"id":"6f1c2a9e-8d4b-4c3a-9f1e-2b7d5c8a1e90","type":"signup","user":"alice"}`))
	f.Add([]byte(`{"id":"6f1c2a9e-8d4b-4c3a-9f1e-2b7d5c8a1e90","type":"purchase","user":"a","value":1e3,"properties":{"a":[1,{"b":null}]}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		var e refx.Event
		checkDecode(t, body, &e, func() error {
			if err := e.Validate(fuzzNow); err != nil {
				return err
			}
			e.Fingerprint()
			return nil
		})
	})
}

func FuzzDecodeBatch(f *testing.F) {
	f.Add([]byte(`{"events":[{"id":"6f1c2a9e-8d4b-4c3a-9f1e-2b7d5c8a1e90","type":"signup","user":"alice"}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		var req BatchRequest
		s := &Server{Now: func() time.Time { return fuzzNow }}
		checkDecode(t, body, &req, func() error { return req.validate(s) })
	})
}

func FuzzDecodeAssign(f *testing.F) {
	f.Add([]byte(`{"experiment":"cta-test","user":"alice"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		var req AssignRequest
		checkDecode(t, body, &req, func() error { return req.validate() })
	})
}

func FuzzDecodeExperiment(f *testing.F) {
	f.Add([]byte(`{"id":"cta-test","name":"CTA","variants":[{"key":"control","weight":50},{"key":"bold","weight":50,"payload":{"reward":20}}],"control":"control","coverage":1.0,"goals":[{"key":"signup","kind":"binomial"}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		var req refx.NewExperiment
		checkDecode(t, body, &req, func() error {
			_, err := req.Build(fuzzNow)
			return err
		})
	})
}

func FuzzDecodePatch(f *testing.F) {
	f.Add([]byte(`{"version":1,"name":"x","variants":[{"key":"control","weight":10},{"key":"bold","weight":90}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		var p refx.ExperimentPatch
		base, err := refx.NewExperiment{ID: "x", Variants: []refx.Variant{{Key: "control", Weight: 1}, {Key: "bold", Weight: 1}},
			Goals: []refx.Goal{{Key: "signup", Kind: refx.GoalBinomial}}}.Build(fuzzNow)
		if err != nil {
			t.Fatal(err)
		}
		base.Status = refx.StatusRunning
		checkDecode(t, body, &p, func() error {
			_, err := base.Apply(p, fuzzNow)
			return err
		})
	})
}

func FuzzDecodeReferral(f *testing.F) {
	f.Add([]byte(`{"experiment":"give-get","referrer":"alice"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		var req ReferralRequest
		checkDecode(t, body, &req, func() error { return req.validate() })
	})
}

func FuzzDecodeSignup(f *testing.F) {
	f.Add([]byte(`{"referee":"carol","visitor":"AAAAAAAAAAAAAAAAAAAAAA","device":"fp"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		var req SignupRequest
		checkDecode(t, body, &req, func() error {
			sig := refx.Signup{Code: "7KQ2MZ4P", Referee: req.Referee, Visitor: req.Visitor, Device: req.Device}
			return sig.Validate()
		})
	})
}
