package refx_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/refx-dev/refx/pkg/refx"
)

func TestNewProgram(t *testing.T) {
	now := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	offer := refx.Offer{Source: "experiment:x/y", Variant: refx.Variant{Key: "mine", Weight: 3, Payload: json.RawMessage(`{"reward":5}`)}}
	tests := []struct {
		name  string
		in    refx.NewProgram
		field string
	}{
		{"OK", refx.NewProgram{ID: "give-get", LandingURL: "https://shop.example/r", DefaultOffer: offer}, ""},
		{"OKRewards", withRewards(`{"referrer":{"amount":"10.00","currency":"USD","on":"purchase","min_value":"20"},"referee":{"percent":"10","currency":"EUR","on":"purchase"}}`), ""},
		{"ErrID", refx.NewProgram{ID: "Give Get", LandingURL: "https://shop.example/r"}, "id"},
		{"ErrLandingURL", refx.NewProgram{ID: "give-get", LandingURL: "javascript:alert(1)"}, "landing_url"},
		{"ErrRelativeURL", refx.NewProgram{ID: "give-get", LandingURL: "/welcome"}, "landing_url"},
		{"ErrPayload", refx.NewProgram{ID: "give-get", LandingURL: "https://shop.example/r",
			DefaultOffer: refx.Offer{Variant: refx.Variant{Payload: json.RawMessage(`{"reward":`)}}}, "default_offer.payload"},
		{"ErrRewardsEmpty", withRewards(`{}`), "default_offer.rewards"},
		{"ErrRewardCurrency", withRewards(`{"referrer":{"amount":"10.00","currency":"XXQ","on":"signup"}}`), "default_offer.rewards.referrer.currency"},
		{"ErrRewardAmount", withRewards(`{"referee":{"amount":"-1","currency":"USD","on":"purchase"}}`), "default_offer.rewards.referee.amount"},
		{"ErrRewardOn", withRewards(`{"referee":{"amount":"5","currency":"USD","on":"not an event"}}`), "default_offer.rewards.referee.on"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := tt.in.Build(now)
			if tt.field != "" {
				if e, ok := err.(*refx.Error); !ok || e.Code != refx.EINVALID || e.Field != tt.field {
					t.Fatalf("error = %v, want EINVALID on %s", err, tt.field)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			// The server names the default offer, whatever the client sent.
			want := refx.Offer{Source: refx.OfferDefault, Variant: refx.Variant{Key: refx.OfferDefault,
				Payload: tt.in.DefaultOffer.Payload, Rewards: tt.in.DefaultOffer.Rewards}}
			if p.Name != "give-get" || p.Version != 1 || !sameOffer(p.DefaultOffer, want) || !sameOffer(p.CurrentOffer, want) {
				t.Fatalf("program = %+v", p)
			}
			if got := p.LinkTarget("ABCD2345"); got != "https://shop.example/r?ref=ABCD2345" {
				t.Fatalf("link target = %s", got)
			}
		})
	}
}

// withRewards is a valid new program whose default offer pays plan.
func withRewards(plan string) refx.NewProgram {
	var p refx.RewardPlan
	if err := json.Unmarshal([]byte(plan), &p); err != nil {
		panic(err)
	}
	return refx.NewProgram{ID: "give-get", LandingURL: "https://shop.example/r", DefaultOffer: refx.Offer{Variant: refx.Variant{Rewards: &p}}}
}

func sameOffer(a, b refx.Offer) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

// TestProgramConcluded: ship serves the variant, rollback the default, and
// other decisions or a repeated decision change nothing (no version bump).
func TestProgramConcluded(t *testing.T) {
	now := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	p, err := refx.NewProgram{ID: "give-get", LandingURL: "https://shop.example/r"}.Build(now)
	if err != nil {
		t.Fatal(err)
	}
	exp := &refx.Experiment{ID: "cta", Variants: []refx.Variant{
		{Key: "control", Weight: 50}, {Key: "bold", Weight: 50, Payload: json.RawMessage(`{"reward":20}`)}}}

	shipped := p.Concluded(exp, "ship:bold", now)
	if shipped.Version != 2 || shipped.CurrentOffer.Source != "experiment:cta/bold" || shipped.CurrentOffer.Key != "bold" ||
		shipped.CurrentOffer.Weight != 0 || string(shipped.CurrentOffer.Payload) != `{"reward":20}` {
		t.Fatalf("after ship = %+v", shipped)
	}
	if p.CurrentOffer.Source != refx.OfferDefault {
		t.Fatal("Concluded changed the program it was called on")
	}
	for _, d := range []string{refx.DecisionIterate, refx.DecisionInconclusive, "ship:bold", "ship:missing"} {
		if got := shipped.Concluded(exp, d, now); got != shipped {
			t.Fatalf("%s changed the program: %+v", d, got)
		}
	}
	back := shipped.Concluded(exp, refx.DecisionRollback, now)
	if back.Version != 3 || !sameOffer(back.CurrentOffer, p.DefaultOffer) {
		t.Fatalf("after rollback = %+v", back)
	}

	// A new default replaces the current offer only while it is served.
	newDefault := refx.Offer{Variant: refx.Variant{Payload: json.RawMessage(`{"reward":7}`)}}
	patched, err := shipped.Apply(refx.ProgramPatch{Version: 2, DefaultOffer: &newDefault}, now)
	if err != nil || patched.CurrentOffer.Key != "bold" || string(patched.DefaultOffer.Payload) != `{"reward":7}` {
		t.Fatalf("patch while shipped = %+v, %v", patched, err)
	}
	patched, err = back.Apply(refx.ProgramPatch{Version: 3, DefaultOffer: &newDefault}, now)
	if err != nil || string(patched.CurrentOffer.Payload) != `{"reward":7}` {
		t.Fatalf("patch while default = %+v, %v", patched, err)
	}
	if _, err := back.Apply(refx.ProgramPatch{Version: 1}, now); refx.ErrorCode(err) != refx.ECONFLICT {
		t.Fatalf("stale patch: %v", err)
	}
}
