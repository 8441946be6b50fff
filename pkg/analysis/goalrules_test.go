package analysis_test

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/refx-dev/refx/pkg/analysis"
	"github.com/refx-dev/refx/pkg/refx"
)

// TestAnalysisSaysGoalRules: the analysis says per goal which cap its values
// were counted under and whether only trusted events counted, and notes the
// cap on the value metrics it bounds; the numbers are those of the counts,
// whatever the rules.
func TestAnalysisSaysGoalRules(t *testing.T) {
	limit, err := refx.ParseDecimal("250.5")
	if err != nil {
		t.Fatal(err)
	}
	plain := MustExperiment(t, true)
	ruled := MustExperiment(t, true)
	ruled.Goals = []refx.Goal{{Key: "signup", Kind: refx.GoalBinomial, ServerOnly: true}, {Key: "purchase", Kind: refx.GoalValue, Cap: &limit, ServerOnly: true}}
	a, err := analysis.Analyze(ruled, referralResults(), analysis.Options{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := analysis.Analyze(plain, referralResults(), analysis.Options{})
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name       string
		got        analysis.GoalAnalysis
		cap        string
		serverOnly bool
		notes      []string
	}{
		{"CappedPurchase", a.Goals["purchase"], "250.5", true, []string{"each event's value was counted within ±250.5 (the goal's cap)"}},
		{"ServerOnlySignup", a.Goals["signup"], "", true, nil},
		{"PlainPurchase", b.Goals["purchase"], "", false, []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			limit := ""
			if tt.got.Cap != nil {
				limit = tt.got.Cap.String()
			}
			if limit != tt.cap || tt.got.ServerOnly != tt.serverOnly {
				t.Fatalf("cap %q server_only %v, want %q %v", limit, tt.got.ServerOnly, tt.cap, tt.serverOnly)
			}
			if v := tt.got.ValuePerParticipant; v != nil && !reflect.DeepEqual(v.Notes, tt.notes) {
				t.Fatalf("value notes = %q, want %q", v.Notes, tt.notes)
			}
		})
	}
	if got, want := a.Referral.ValuePerReferrer.Notes, []string{"each conversion's value was counted within ±250.5 (the purchase goal's cap)"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("value per referrer notes = %q, want %q", got, want)
	}
	if !reflect.DeepEqual(a.Goals["purchase"].ValuePerParticipant.MetricResult, b.Goals["purchase"].ValuePerParticipant.MetricResult) {
		t.Fatal("the rules changed the numbers read from the same counts")
	}
	var wire struct {
		Goals map[string]map[string]any `json:"goals"`
	}
	if err := json.Unmarshal([]byte(mustJSON(t, b)), &wire); err != nil {
		t.Fatal(err)
	}
	if g := wire.Goals["purchase"]; g["cap"] != nil || g["server_only"] != false {
		t.Fatalf("an uncapped goal's JSON says cap %v server_only %v, want null and false", g["cap"], g["server_only"])
	}
}
