package httpapi

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/refx-dev/refx/pkg/refx"
)

// The decoders must turn any body into either a value or a client error
// with a code: never a panic, never an internal error. accept normalizes and
// validates the decoded value as its handler does and returns the ids it
// would store; a body the decoder accepts must have been valid UTF-8 without
// rewritten surrogates or duplicate keys, and accepted ids must be in their
// one canonical spelling.
func checkDecode(t *testing.T, body []byte, v any, accept func() (ids []string, err error)) {
	err := decodeBody(bytes.NewReader(body), v)
	if err == nil {
		checkAcceptedBody(t, body)
		var ids []string
		ids, err = accept()
		if err == nil {
			for _, id := range ids {
				checkID(t, id)
			}
		}
	}
	if code := refx.ErrorCode(err); code == refx.EINTERNAL {
		t.Fatalf("internal error for %q: %v", body, err)
	}
}

// checkAcceptedBody checks an accepted body with other means than
// checkText: utf8.Valid, encoding/json's own U+FFFD (a replacement the body
// did not spell out), and a token walk for keys given twice.
func checkAcceptedBody(t *testing.T, body []byte) {
	t.Helper()
	if !utf8.Valid(body) {
		t.Fatalf("accepted invalid UTF-8: %q", body)
	}
	if !bytes.Contains(bytes.ToLower(body), []byte(`\ufffd`)) && !bytes.ContainsRune(body, utf8.RuneError) {
		var decoded any
		if err := json.Unmarshal(body, &decoded); err == nil {
			if b, _ := json.Marshal(decoded); bytes.ContainsRune(b, utf8.RuneError) {
				t.Fatalf("accepted a body encoding/json rewrote: %q", body)
			}
		}
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	type object struct {
		keys    map[string]bool
		wantKey bool
	}
	var stack []*object
	for {
		tok, err := dec.Token()
		if err != nil {
			return
		}
		var top *object
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if top != nil && top.keys != nil && top.wantKey {
			if d, ok := tok.(json.Delim); !ok || d != '}' {
				k := strings.ToLower(tok.(string))
				if top.keys[k] {
					t.Fatalf("accepted a duplicate key %q: %q", k, body)
				}
				top.keys[k], top.wantKey = true, false
				continue
			}
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, &object{keys: map[string]bool{}, wantKey: true})
			continue
		case json.Delim('['):
			stack = append(stack, &object{})
			continue
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
		}
		// A value ends: an object's next token is a key again.
		if len(stack) > 0 && stack[len(stack)-1].keys != nil {
			stack[len(stack)-1].wantKey = true
		}
	}
}

// checkID checks an id a request would store: valid UTF-8 in NFC, without
// control characters or bidi controls.
func checkID(t *testing.T, id string) {
	t.Helper()
	if !utf8.ValidString(id) || !norm.NFC.IsNormalString(id) {
		t.Fatalf("accepted id %+q is not NFC UTF-8", id)
	}
	for _, r := range id {
		if unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) {
			t.Fatalf("accepted id %+q holds %U", id, r)
		}
	}
}

var fuzzNow = time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)

func FuzzDecodeEvent(f *testing.F) {
	f.Add([]byte(`{"id":"6f1c2a9e-8d4b-4c3a-9f1e-2b7d5c8a1e90","type":"signup","user":"alice"}`))
	f.Add([]byte(`{"id":"6f1c2a9e-8d4b-4c3a-9f1e-2b7d5c8a1e90","type":"purchase","user":"a","value":1e3,"properties":{"a":[1,{"b":null}]}}`))
	for _, seed := range strictSeeds {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var e refx.Event
		checkDecode(t, body, &e, func() ([]string, error) {
			e.Normalize()
			if err := e.Validate(fuzzNow); err != nil {
				return nil, err
			}
			if e.ID != strings.ToLower(e.ID) {
				t.Fatalf("accepted event id %q is not in lower case", e.ID)
			}
			e.Fingerprint()
			return []string{e.ID, e.User}, nil
		})
	})
}

func FuzzDecodeBatch(f *testing.F) {
	f.Add([]byte(`{"events":[{"id":"6f1c2a9e-8d4b-4c3a-9f1e-2b7d5c8a1e90","type":"signup","user":"alice"}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		var req BatchRequest
		s := &Server{Now: func() time.Time { return fuzzNow }}
		checkDecode(t, body, &req, func() ([]string, error) {
			var ids []string
			err := req.validate(s)
			for _, e := range req.Events {
				ids = append(ids, e.ID, e.User)
			}
			return ids, err
		})
	})
}

func FuzzDecodeAssign(f *testing.F) {
	f.Add([]byte(`{"experiment":"cta-test","user":"alice"}`))
	f.Add([]byte(`{"experiment":"cta-test","user":"alice","attributes":{"country":"NL","age":41}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		var req AssignRequest
		checkDecode(t, body, &req, func() ([]string, error) {
			req.User = refx.NormalizeUser(req.User)
			_, err := req.attributes()
			return []string{req.User}, err
		})
	})
}

func FuzzDecodeExperiment(f *testing.F) {
	f.Add([]byte(`{"id":"cta-test","name":"CTA","variants":[{"key":"control","weight":50},{"key":"bold","weight":50,"payload":{"reward":20}}],"control":"control","coverage":1.0,"goals":[{"key":"signup","kind":"binomial"}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		var req refx.NewExperiment
		checkDecode(t, body, &req, func() ([]string, error) {
			_, err := req.Build(fuzzNow)
			return nil, err
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
		checkDecode(t, body, &p, func() ([]string, error) {
			_, err := base.Apply(p, fuzzNow)
			return nil, err
		})
	})
}

func FuzzDecodeReferral(f *testing.F) {
	f.Add([]byte(`{"experiment":"give-get","referrer":"alice"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		var req ReferralRequest
		checkDecode(t, body, &req, func() ([]string, error) {
			cr, err := req.codeRequest(fuzzNow)
			return []string{cr.Referrer}, err
		})
	})
}

func FuzzDecodeSignup(f *testing.F) {
	f.Add([]byte(`{"referee":"carol","visitor":"AAAAAAAAAAAAAAAAAAAAAA","device":"fp"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		var req SignupRequest
		checkDecode(t, body, &req, func() ([]string, error) {
			sig := refx.Signup{Code: "7KQ2MZ4P", Referee: refx.NormalizeUser(req.Referee), Visitor: req.Visitor, Device: req.Device}
			return []string{sig.Referee, sig.Visitor}, sig.Validate()
		})
	})
}

// strictSeeds are bodies the strict-input rules are about: surrogates,
// invalid UTF-8, duplicate keys, other spellings of ids, invisible
// characters and huge exponents.
var strictSeeds = []string{
	`{"id":"6F1C2A9E-8D4B-4C3A-9F1E-2B7D5C8A1E90","type":"signup","user":"alice"}`,
	`{"id":"6f1c2a9e-8d4b-4c3a-9f1e-2b7d5c8a1e90","type":"signup","user":"Jose\u0301"}`,
	`{"id":"6f1c2a9e-8d4b-4c3a-9f1e-2b7d5c8a1e90","type":"signup","user":"\u202egnp.exe"}`,
	`{"id":"6f1c2a9e-8d4b-4c3a-9f1e-2b7d5c8a1e90","type":"signup","user":"a\u200bb"}`,
	`{"id":"6f1c2a9e-8d4b-4c3a-9f1e-2b7d5c8a1e90","type":"signup","user":"\ud800"}`,
	`{"id":"6f1c2a9e-8d4b-4c3a-9f1e-2b7d5c8a1e90","type":"signup","user":"\ud83d\ude00"}`,
	"{\"id\":\"6f1c2a9e-8d4b-4c3a-9f1e-2b7d5c8a1e90\",\"type\":\"signup\",\"user\":\"\xed\xa0\x80\"}",
	`{"id":"6f1c2a9e-8d4b-4c3a-9f1e-2b7d5c8a1e90","type":"signup","user":"a","User":"b"}`,
	`{"id":"6f1c2a9e-8d4b-4c3a-9f1e-2b7d5c8a1e90","type":"signup","user":"a","properties":{"k":1,"k":2}}`,
	`{"id":"6f1c2a9e-8d4b-4c3a-9f1e-2b7d5c8a1e90","type":"purchase","user":"a","value":1e999999}`,
	`{"id":"6f1c2a9e-8d4b-4c3a-9f1e-2b7d5c8a1e90","type":"purchase","user":"a","value":0.5e-3}`,
}
